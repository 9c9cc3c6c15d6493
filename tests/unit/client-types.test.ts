import { describe, expect, it } from "vitest";
import { CLIENT_TYPES_FILE, readClientTypes, renderClientTypes } from "@/scripts/client-types";

/**
 * The typed client's types never drift from the API: the checked-in file must be exactly what
 * openapi-typescript makes from the OpenAPI document now (regenerate with `npm run client:types`).
 */
describe("lib/client/openapi-types.ts", () => {
  it("is what openapi-typescript generates from the OpenAPI document now", async () => {
    const fresh = await renderClientTypes();
    const checkedIn = readClientTypes();
    if (checkedIn !== fresh) {
      expect.fail(`${CLIENT_TYPES_FILE} is stale: the OpenAPI document changed. Run \`npm run client:types\` and commit the file.`);
    }
    // The document's shared schemas are real components (references that resolve), not inlined copies.
    expect(fresh).toMatch(/\n {8}Job: \{/);
    expect(fresh).toContain('components["schemas"]["Error"]');
  });
});
