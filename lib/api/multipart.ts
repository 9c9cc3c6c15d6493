import "server-only";
import { Readable } from "node:stream";
import busboy from "busboy";
import { ApiError } from "@/lib/api/errors";

export interface MultipartFile {
  field: string;
  /** The client's file name, checked, for display only. Never used to build a path. */
  filename: string;
  data: Buffer;
}

export interface MultipartForm {
  fields: Map<string, string>;
  /** Every value of the fields the caller named repeatable, in order (they are not in `fields`). */
  lists: Map<string, string[]>;
  file: MultipartFile | undefined;
}

export interface MultipartLimits {
  maxFileBytes: number;
  maxFields: number;
  maxFieldBytes: number;
  /** Fields that may be sent more than once (e.g. approve_before). */
  repeatable?: readonly string[];
}

// eslint-disable-next-line no-control-regex
const UNSAFE_FILENAME = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069/\\]/;

/**
 * The client's file name is only ever displayed, but one carrying a path, control characters or
 * bidi overrides is hostile (or broken): it is refused rather than silently rewritten.
 */
export function checkFilename(name: string): string {
  const trimmed = name.trim();
  if (UNSAFE_FILENAME.test(trimmed) || trimmed === "." || trimmed === "..") {
    throw new ApiError("invalid_form", "The file name must not contain paths or control characters.");
  }
  if (trimmed.length > 255) throw new ApiError("invalid_form", "The file name is longer than 255 characters.");
  return trimmed || "upload";
}

/**
 * Parses a multipart/form-data body while it streams in, refusing it (413) as soon as the file
 * passes the limit instead of buffering the whole request first. Accepts one file.
 */
export async function parseMultipart(request: Request, limits: MultipartLimits): Promise<MultipartForm> {
  const contentType = request.headers.get("content-type") ?? "";
  if (!contentType.toLowerCase().startsWith("multipart/form-data")) {
    throw new ApiError("unsupported_media_type", "Send the request as multipart/form-data with fields workflow_id and file.");
  }
  const declaredLength = Number(request.headers.get("content-length") ?? "0");
  const overhead = limits.maxFields * limits.maxFieldBytes + 64 * 1024;
  if (declaredLength > limits.maxFileBytes + overhead) {
    throw new ApiError("payload_too_large", `The upload is larger than ${limits.maxFileBytes} bytes.`);
  }
  if (!request.body) throw new ApiError("invalid_form", "The request has no body.");

  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { "content-type": contentType },
      // Keep the name as sent, so that a hostile one is seen and refused rather than trimmed.
      preservePath: true,
      // Browsers send file names as raw UTF-8; busboy's default (latin1) turns them into mojibake,
      // which would also hide a bidi override from the check above.
      defParamCharset: "utf8",
      limits: { files: 1, fileSize: limits.maxFileBytes, fields: limits.maxFields, fieldSize: limits.maxFieldBytes, parts: limits.maxFields + 1 },
    });
  } catch (error) {
    throw new ApiError("invalid_form", `Malformed multipart request: ${(error as Error).message}`);
  }

  const body = Readable.fromWeb(request.body as import("node:stream/web").ReadableStream);
  return new Promise<MultipartForm>((resolve, reject) => {
    const fields = new Map<string, string>();
    const lists = new Map<string, string[]>();
    let file: MultipartFile | undefined;
    let failure: ApiError | undefined;
    const fail = (error: ApiError) => {
      if (failure) return;
      failure = error;
      body.unpipe(parser);
      body.destroy();
      reject(error);
    };

    parser.on("field", (name, value, info) => {
      if (info.valueTruncated) return fail(new ApiError("invalid_form", `Field ${name} is longer than ${limits.maxFieldBytes} bytes.`));
      if (limits.repeatable?.includes(name)) {
        lists.set(name, [...(lists.get(name) ?? []), value]);
        return;
      }
      if (fields.has(name)) return fail(new ApiError("invalid_form", `Field ${name} is sent twice.`));
      fields.set(name, value);
    });
    parser.on("file", (field, stream, info) => {
      if (file) {
        stream.resume();
        return fail(new ApiError("invalid_form", "Send exactly one file."));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on("data", (chunk: Buffer) => {
        size += chunk.length;
        chunks.push(chunk);
      });
      stream.on("limit", () => fail(new ApiError("payload_too_large", `The file is larger than ${limits.maxFileBytes} bytes.`)));
      stream.on("end", () => {
        if (failure) return;
        try {
          file = { field, filename: checkFilename(info.filename ?? ""), data: Buffer.concat(chunks, size) };
        } catch (error) {
          fail(error as ApiError);
        }
      });
    });
    parser.on("filesLimit", () => fail(new ApiError("invalid_form", "Send exactly one file.")));
    parser.on("fieldsLimit", () => fail(new ApiError("invalid_form", "Too many form fields.")));
    parser.on("partsLimit", () => fail(new ApiError("invalid_form", "Too many form parts.")));
    parser.on("error", (error: Error) => fail(new ApiError("invalid_form", `Malformed multipart request: ${error.message}`)));
    parser.on("close", () => {
      if (!failure) resolve({ fields, lists, file });
    });
    body.on("error", (error) => fail(new ApiError("invalid_form", `The upload was interrupted: ${error.message}`)));
    body.pipe(parser);
  });
}
