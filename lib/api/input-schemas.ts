import { z } from "zod";

/**
 * A declared input as GET /workflows/list shows it (lib/workflows/inputs.ts declares them): what a
 * client needs to build the form, with the same limits the server checks.
 */
const common = { name: z.string(), label: z.string(), description: z.string().optional(), required: z.boolean() };

export const workflowInputSchema = z
  .discriminatedUnion("type", [
    z.object({ ...common, type: z.enum(["text", "textarea"]), default: z.string().optional(), max_length: z.number() }),
    z.object({ ...common, type: z.literal("select"), options: z.array(z.object({ value: z.string(), label: z.string() })), default: z.string().optional() }),
    z.object({ ...common, type: z.literal("number"), min: z.number().optional(), max: z.number().optional(), step: z.number().optional(), default: z.number().optional() }),
    z.object({ ...common, type: z.literal("boolean"), default: z.boolean() }),
    z.object({ ...common, type: z.literal("seed"), default: z.number().int().optional() }).meta({ description: "A whole number from 0 to 2147483647; empty: the server picks one and the job records it." }),
    z.object({ ...common, type: z.literal("image") }).meta({ description: "An image, sent as a file in the field of this name: the first image input is the job's upload (`upload`), each further one an extra image." }),
  ])
  .meta({ id: "WorkflowInput" });

/** A model a step lets the caller choose (`models[<step>]=<model>` at execute). */
export const stepModelChoiceSchema = z.object({ model: z.string(), label: z.string(), estimated_usd: z.number().nullable() });

/** The file a workflow takes, or null for one that takes none. */
export const workflowUploadSchema = z
  .object({ field: z.string(), required: z.boolean(), label: z.string() })
  .nullable()
  .meta({ description: "The form field the job's image is sent in and whether it is required; null: the workflow takes no file. Further image inputs (in `inputs`) are files in the fields of their names." });
