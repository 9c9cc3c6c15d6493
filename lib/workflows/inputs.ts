import { z } from "zod";

/**
 * A workflow's declared inputs (config.json `inputs`): their types, defaults and limits, and the
 * one validation that execute, estimate and rerun apply to what a caller sends. Values are kept
 * as strings in a canonical form (a number as `String(n)`, a boolean as "true"/"false", a seed as
 * its decimal digits), which is how jobs store them and handlers receive them (`ctx.inputs`).
 */

/** The largest seed accepted: the range every model we call takes (a signed 32-bit integer). */
export const MAX_SEED = 2_147_483_647;

/** Form fields the API itself reads: an input may not take one of these names. */
export const RESERVED_FIELDS = ["workflow_id", "approve_before", "webhook_url", "webhook_events", "candidates", "models", "inputs"] as const;

const inputName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,62}$/, "snake_case input name")
  .refine((name) => !(RESERVED_FIELDS as readonly string[]).includes(name), "this name is a field the API reads itself");

const common = {
  name: inputName,
  label: z.string().min(1).max(80),
  /** Help text shown under the field and in the OpenAPI document. */
  description: z.string().max(300).optional(),
  required: z.boolean().default(false),
};

const textInput = z.object({
  ...common,
  type: z.enum(["text", "textarea"]),
  default: z.string().optional(),
  max_length: z.number().int().positive().max(10_000).default(1000),
});

const selectOption = z.union([z.string().min(1).max(80).transform((value) => ({ value, label: value })), z.object({ value: z.string().min(1).max(80), label: z.string().min(1).max(80) })]);

const selectInput = z.object({ ...common, type: z.literal("select"), options: z.array(selectOption).min(1).max(50), default: z.string().optional() });

const numberInput = z.object({
  ...common,
  type: z.literal("number"),
  min: z.number().optional(),
  max: z.number().optional(),
  /** Values are min (or 0) plus a whole number of steps; a whole step means whole numbers. */
  step: z.number().positive().optional(),
  default: z.number().optional(),
});

const booleanInput = z.object({ ...common, type: z.literal("boolean"), default: z.boolean().default(false) });

/** A model seed: a whole number from 0 to MAX_SEED; left empty, the server picks one and the job records it. */
const seedInput = z.object({ ...common, type: z.literal("seed"), default: z.number().int().min(0).max(MAX_SEED).optional() });

/**
 * An image, sent as a file in the form field of the input's name. The first image input is the
 * job's upload (what the `input` step and `ctx.readUpload()` take; a workflow with an `input` step
 * and no image input takes it as `file`); each further one is an extra upload, read with
 * `ctx.readInputImage(name)`.
 */
const imageInput = z.object({ ...common, type: z.literal("image") });

export const inputDeclarationSchema = z.preprocess(
  // Inputs written before types existed have none: they are text.
  (raw) => (typeof raw === "object" && raw !== null && !("type" in raw) ? { ...raw, type: "text" } : raw),
  z.discriminatedUnion("type", [textInput, selectInput, numberInput, booleanInput, seedInput, imageInput]).superRefine((input, ctx) => {
    const problem = declarationProblem(input);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }),
);

export type InputDeclaration = z.infer<typeof inputDeclarationSchema>;

function declarationProblem(input: InputDeclaration): string | undefined {
  switch (input.type) {
    case "select":
      if (input.default !== undefined && !input.options.some((option) => option.value === input.default)) return `default ${JSON.stringify(input.default)} is not one of the options`;
      return undefined;
    case "number":
      if (input.min !== undefined && input.max !== undefined && input.min > input.max) return "min is greater than max";
      if (input.default !== undefined && numberProblem(input, input.default)) return `default ${input.default}: ${numberProblem(input, input.default)}`;
      return undefined;
    case "text":
    case "textarea":
      if (input.default !== undefined && characterCount(input.default) > input.max_length) return "default is longer than max_length";
      return undefined;
    default:
      return undefined;
  }
}

/** The most image inputs a workflow declares: each is a file of up to MAX_UPLOAD_BYTES in one request. */
export const MAX_IMAGE_INPUTS = 4;

/** The inputs list as a whole: names once each, at most MAX_IMAGE_INPUTS images. */
export const inputListSchema = z
  .array(inputDeclarationSchema)
  .max(30)
  .default([])
  .superRefine((inputs, ctx) => {
    const seen = new Set<string>();
    for (const input of inputs) {
      if (seen.has(input.name)) ctx.addIssue({ code: "custom", message: `input name "${input.name}" is used twice` });
      seen.add(input.name);
    }
    if (inputs.filter((input) => input.type === "image").length > MAX_IMAGE_INPUTS) ctx.addIssue({ code: "custom", message: `a workflow takes at most ${MAX_IMAGE_INPUTS} images; declare at most ${MAX_IMAGE_INPUTS} image inputs` });
  });

/** A problem with one field: the field's name and what is wrong, in words for the caller. */
export interface FieldProblem {
  field: string;
  message: string;
}

export interface ResolveOptions {
  /** Picks the seed of a seed input left empty (execute); without it the seed stays empty (estimate). */
  randomSeed?: () => number;
}

/**
 * Checks the sent values (field name → text) against the declarations, applies defaults and
 * returns the canonical values; every bad value is a problem naming its field. Image inputs are
 * files, not fields: the caller checks the upload itself (`uploadField`).
 */
export function resolveDeclaredInputs(declared: readonly InputDeclaration[], sent: ReadonlyMap<string, string>, options: ResolveOptions = {}): { inputs: Record<string, string>; problems: FieldProblem[] } {
  const inputs: Record<string, string> = {};
  const problems: FieldProblem[] = [];
  for (const input of declared) {
    if (input.type === "image") continue;
    const result = resolveOne(input, sent.get(input.name), options);
    if ("problem" in result) problems.push({ field: input.name, message: `${input.name}: ${result.problem}` });
    else inputs[input.name] = result.value;
  }
  return { inputs, problems };
}

type Resolved = { value: string } | { problem: string };

function resolveOne(input: Exclude<InputDeclaration, { type: "image" }>, raw: string | undefined, options: ResolveOptions): Resolved {
  const sent = raw?.trim() ?? "";
  switch (input.type) {
    case "text":
    case "textarea": {
      const value = sent || input.default || "";
      if (input.required && !value) return { problem: "is required." };
      if (characterCount(value) > input.max_length) return { problem: `is longer than ${input.max_length} characters.` };
      return { value };
    }
    case "select": {
      const value = sent || input.default || "";
      if (!value) return input.required ? { problem: `is required; one of ${optionList(input)}.` } : { value: "" };
      if (!input.options.some((option) => option.value === value)) return { problem: `must be one of ${optionList(input)}, not ${quote(value)}.` };
      return { value };
    }
    case "number": {
      if (!sent) {
        if (input.default !== undefined) return { value: String(input.default) };
        return input.required ? { problem: "is required." } : { value: "" };
      }
      if (!/^-?\d+(\.\d+)?$/.test(sent)) return { problem: `must be a number, not ${quote(sent)}.` };
      const problem = numberProblem(input, Number(sent));
      return problem ? { problem: `${problem}.` } : { value: String(Number(sent)) };
    }
    case "boolean": {
      if (!sent) return { value: String(input.default) };
      const value = BOOLEAN_WORDS[sent.toLowerCase()];
      return value === undefined ? { problem: `must be true or false, not ${quote(sent)}.` } : { value: String(value) };
    }
    case "seed": {
      if (!sent) {
        if (input.default !== undefined) return { value: String(input.default) };
        return { value: options.randomSeed ? String(options.randomSeed()) : "" };
      }
      if (!/^\d{1,10}$/.test(sent) || Number(sent) > MAX_SEED) return { problem: `must be a whole number from 0 to ${MAX_SEED} (or empty for a random seed), not ${quote(sent)}.` };
      return { value: String(Number(sent)) };
    }
  }
}

const BOOLEAN_WORDS: Record<string, boolean> = { true: true, false: false, on: true, off: false, "1": true, "0": false, yes: true, no: false };

function numberProblem(input: z.infer<typeof numberInput>, value: number): string | undefined {
  const range = `${input.min ?? "any"} to ${input.max ?? "any"}`;
  if (input.min !== undefined && value < input.min) return `must be at least ${input.min} (${range})`;
  if (input.max !== undefined && value > input.max) return `must be at most ${input.max} (${range})`;
  if (input.step !== undefined) {
    const steps = (value - (input.min ?? 0)) / input.step;
    if (Math.abs(steps - Math.round(steps)) > 1e-9) return `must be ${input.min ?? 0} plus a multiple of ${input.step}`;
  }
  return undefined;
}

function optionList(input: z.infer<typeof selectInput>): string {
  return input.options.map((option) => option.value).join(", ");
}

function quote(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}

export type ImageInput = Extract<InputDeclaration, { type: "image" }>;

/** The declared image inputs, in order: the first is the job's upload, the others extra uploads. */
export function imageInputsOf(declared: readonly InputDeclaration[]): ImageInput[] {
  return declared.filter((input): input is ImageInput => input.type === "image");
}

/** The first declared image input, if any: the job's upload and its form field. */
export function imageInputOf(declared: readonly InputDeclaration[]): ImageInput | undefined {
  return imageInputsOf(declared)[0];
}

/** The image inputs after the first: each an extra upload, stored under its own name. */
export function extraImageInputsOf(declared: readonly InputDeclaration[]): ImageInput[] {
  return imageInputsOf(declared).slice(1);
}

/**
 * Characters as a person counts them: code points (an emoji is one, not two UTF-16 units), with a
 * form's CRLF line breaks counted once, as the browser's own maxLength counts them.
 */
export function characterCount(value: string): number {
  let count = 0;
  for (const _ of value.replace(/\r\n/g, "\n")) count++;
  return count;
}

/** A declared input as a JSON Schema property of the execute form (the OpenAPI document). */
export function inputJsonSchema(input: InputDeclaration): Record<string, unknown> {
  const described = { title: input.label, ...(input.description && { description: input.description }) };
  switch (input.type) {
    case "text":
    case "textarea":
      return { ...described, type: "string", maxLength: input.max_length, ...(input.default !== undefined && { default: input.default }) };
    case "select":
      return { ...described, type: "string", enum: input.options.map((option) => option.value), ...(input.default !== undefined && { default: input.default }) };
    case "number":
      return {
        ...described,
        type: input.step !== undefined && Number.isInteger(input.step) && Number.isInteger(input.min ?? 0) ? "integer" : "number",
        ...(input.min !== undefined && { minimum: input.min }),
        ...(input.max !== undefined && { maximum: input.max }),
        ...(input.step !== undefined && { multipleOf: input.step }),
        ...(input.default !== undefined && { default: input.default }),
      };
    case "boolean":
      return { ...described, type: "boolean", default: input.default };
    case "seed":
      return { ...described, type: "integer", minimum: 0, maximum: MAX_SEED, ...(input.default !== undefined && { default: input.default }), description: `${input.description ?? "Seed"} (empty: the server picks one and the job records it)` };
    case "image":
      return { ...described, type: "string", format: "binary", contentMediaType: "image/*" };
  }
}
