import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveDatabase } from "@/lib/db/database-url";
import { openDatabase, type Database } from "@/lib/server/database";
import type { Store } from "@/lib/store/types";
import { createTestDatabase, type Provider, type TestDatabase } from "../helpers/db";

/**
 * The store's contract for accounts (users, API tokens, OAuth links, webhook deliveries): the same
 * cases against the SQLite and the PostgreSQL store. Prisma reads the rows back, so what the store
 * writes (ids, times) is what Prisma wrote before.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe.each<Provider>(["sqlite", "postgresql"])("store accounts contract on %s", (provider) => {
  let testDb: TestDatabase;
  let database: Database;
  let store: Store;

  beforeAll(async () => {
    testDb = await createTestDatabase(provider);
    database = openDatabase(resolveDatabase(testDb.url, testDb.dataDir));
    store = database.store;
  });

  afterAll(async () => {
    await database.close();
    await testDb.drop();
  });

  const uniqueEmail = (what: string) => `${what}-${provider}-${randomUUID()}@example.com`;

  it("inserts a sign-up's user once per email: a taken email, or the loser of two at once, inserts nothing", async () => {
    const email = uniqueEmail("signup");
    const before = Date.now();
    const user = await store.insertPasswordUser({ email, passwordHash: "scrypt$one", name: "Sam" });
    expect(user).toEqual({ id: expect.stringMatching(UUID), email });
    const row = await database.prisma.user.findUniqueOrThrow({ where: { email } });
    expect(row).toMatchObject({ id: user!.id, name: "Sam", passwordHash: "scrypt$one", image: null });
    expect(row.createdAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(row.createdAt.getTime()).toBeLessThanOrEqual(Date.now());

    expect(await store.insertPasswordUser({ email, passwordHash: "scrypt$two" })).toBeUndefined();
    expect(await store.findPasswordUser(email)).toMatchObject({ id: user!.id, passwordHash: "scrypt$one" });

    const raced = uniqueEmail("race");
    const results = await Promise.all([store.insertPasswordUser({ email: raced, passwordHash: "a" }), store.insertPasswordUser({ email: raced, passwordHash: "b" })]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await database.prisma.user.count({ where: { email: raced } })).toBe(1);
  });

  it("replaces a password hash only while it is still the one checked", async () => {
    const user = (await store.insertPasswordUser({ email: uniqueEmail("rehash"), passwordHash: "bcrypt$old" }))!;
    expect(await store.replacePasswordHash(user.id, "bcrypt$old", "scrypt$new")).toBe(true);
    expect(await store.replacePasswordHash(user.id, "bcrypt$old", "scrypt$other")).toBe(false);
    expect(await store.findPasswordUser(user.email)).toMatchObject({ passwordHash: "scrypt$new" });
  });

  it("ensures a user by email: created without a password once, the same user after, an existing user left as it was", async () => {
    const email = uniqueEmail("cli");
    const [first, second] = await Promise.all([store.ensureUser(email), store.ensureUser(email)]);
    expect(first).toEqual({ id: expect.stringMatching(UUID), email, name: null });
    expect(second).toEqual(first);
    expect(await store.findPasswordUser(email)).toMatchObject({ id: first.id, passwordHash: null });

    const existing = (await store.insertPasswordUser({ email: uniqueEmail("cli-existing"), passwordHash: "scrypt$kept", name: "Kim" }))!;
    expect(await store.ensureUser(existing.email)).toEqual({ id: existing.id, email: existing.email, name: "Kim" });
    expect(await store.findPasswordUser(existing.email)).toMatchObject({ passwordHash: "scrypt$kept" });
  });

  it("inserts an OAuth user with its account in one transaction, and nothing when the email is taken", async () => {
    const email = uniqueEmail("oauth");
    const providerAccountId = randomUUID();
    expect(await store.findOAuthUserId("github", providerAccountId)).toBeUndefined();
    const userId = await store.insertOAuthUser({ email, name: "Octo", image: "https://example.com/a.png", account: { provider: "github", providerAccountId, type: "oauth" } });
    expect(userId).toMatch(UUID);
    expect(await store.findOAuthUserId("github", providerAccountId)).toBe(userId);
    const row = await database.prisma.user.findUniqueOrThrow({ where: { id: userId! }, include: { accounts: true } });
    expect(row).toMatchObject({ email, name: "Octo", image: "https://example.com/a.png", passwordHash: null });
    expect(row.accounts).toEqual([{ id: expect.stringMatching(UUID), userId, type: "oauth", provider: "github", providerAccountId }]);

    const other = randomUUID();
    expect(await store.insertOAuthUser({ email, name: null, image: null, account: { provider: "github", providerAccountId: other, type: "oauth" } })).toBeUndefined();
    expect(await store.findOAuthUserId("github", other)).toBeUndefined();
    // The same OAuth account cannot be linked twice: the unique index refuses, and the new user is rolled back with it.
    const second = uniqueEmail("oauth-second");
    await expect(store.insertOAuthUser({ email: second, name: null, image: null, account: { provider: "github", providerAccountId, type: "oauth" } })).rejects.toThrow();
    expect(await store.findPasswordUser(second)).toBeUndefined();
  });

  it("inserts API tokens with their hash only, lists a user's newest first, and revokes each once, only its own user's", async () => {
    const owner = await store.ensureUser(uniqueEmail("tokens"));
    const stranger = await store.ensureUser(uniqueEmail("stranger"));
    const tokenHash = randomUUID().replaceAll("-", "").repeat(2);
    const first = await store.insertApiToken({ userId: owner.id, name: "first", prefix: "mtg_aaaaaaaa", tokenHash });
    expect(first).toEqual({ id: expect.stringMatching(UUID), name: "first", prefix: "mtg_aaaaaaaa", createdAt: expect.any(Date), lastUsedAt: null, revokedAt: null });
    const row = await database.prisma.apiToken.findUniqueOrThrow({ where: { id: first.id } });
    expect(row).toMatchObject({ userId: owner.id, tokenHash, createdAt: first.createdAt });
    expect(await store.findTokenUser(tokenHash, new Date(), 60_000)).toMatchObject({ id: owner.id });

    await database.prisma.apiToken.update({ where: { id: first.id }, data: { createdAt: new Date(first.createdAt.getTime() - 60_000) } });
    const second = await store.insertApiToken({ userId: owner.id, name: "second", prefix: "mtg_bbbbbbbb", tokenHash: randomUUID().replaceAll("-", "").repeat(2) });
    expect((await store.listApiTokens(owner.id)).map((token) => token.id)).toEqual([second.id, first.id]);
    expect(await store.listApiTokens(stranger.id)).toEqual([]);

    const now = new Date();
    expect(await store.revokeApiToken(stranger.id, first.id, now)).toBe(false);
    expect(await store.revokeApiToken(owner.id, first.id, now)).toBe(true);
    expect(await store.revokeApiToken(owner.id, first.id, new Date())).toBe(false);
    expect((await store.listApiTokens(owner.id)).find((token) => token.id === first.id)).toMatchObject({ revokedAt: now });
    expect(await store.findTokenUser(tokenHash, new Date(), 60_000)).toBeUndefined();
    // Token hashes are unique: a second token with the same hash is refused.
    await expect(store.insertApiToken({ userId: owner.id, name: "again", prefix: "mtg_aaaaaaaa", tokenHash })).rejects.toThrow();
  });

  it("records a webhook delivery once, forgets it for a retry, and prunes a source's old deliveries", async () => {
    const id = `msg_${randomUUID()}`;
    const now = new Date();
    expect(await store.claimWebhookDelivery(id, "replicate", now)).toBe(true);
    expect(await store.claimWebhookDelivery(id, "replicate", now)).toBe(false);
    await store.forgetWebhookDelivery(id);
    expect(await store.claimWebhookDelivery(id, "replicate", now)).toBe(true);
    expect(await database.prisma.webhookDelivery.findUniqueOrThrow({ where: { id } })).toEqual({ id, source: "replicate", receivedAt: now });

    const old = new Date(now.getTime() - 48 * 3600_000);
    const oldId = `msg_${randomUUID()}`;
    const otherSource = `msg_${randomUUID()}`;
    await store.claimWebhookDelivery(oldId, "replicate", old);
    await store.claimWebhookDelivery(otherSource, "elsewhere", old);
    expect(await store.deleteWebhookDeliveries("replicate", new Date(now.getTime() - 24 * 3600_000))).toBe(1);
    expect((await database.prisma.webhookDelivery.findMany({ where: { id: { in: [id, oldId, otherSource] } } })).map((row) => row.id).sort()).toEqual([id, otherSource].sort());
  });
});
