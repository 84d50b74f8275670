import type { z } from "zod";
import { SdkError } from "../errors.ts";
import { envelopeSchema, readingSchema, type Envelope, type Reading } from "./schema.ts";

/** One problem with an input: where (`path`, e.g. `m.co2Ppm`) and what was expected. */
export type InputIssue = { path: string; message: string };

/** Flattens zod issues to `path: message` pairs (union branches included). */
export function formatIssues(error: z.ZodError): InputIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join(".") || "(root)",
    message: issue.message,
  }));
}

/** Parses an untrusted value as a reading v1; throws `INVALID_READING` listing every issue. */
export function parseReading(value: unknown): Reading {
  const result = readingSchema.safeParse(value);
  if (!result.success) {
    const issues = formatIssues(result.error);
    throw new SdkError(`Invalid reading: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, {
      code: "INVALID_READING",
      cause: result.error,
      docsPath: "docs/protocol.md#reading-version-1",
      details: { issues },
    });
  }
  return result.data;
}

/** Parses an untrusted value as a signed envelope; throws `INVALID_READING` listing every issue. */
export function parseEnvelope(value: unknown): Envelope {
  const result = envelopeSchema.safeParse(value);
  if (!result.success) {
    const issues = formatIssues(result.error);
    throw new SdkError(`Invalid envelope: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, {
      code: "INVALID_READING",
      cause: result.error,
      docsPath: "docs/protocol.md#signed-reading-envelope",
      details: { issues },
    });
  }
  return result.data;
}
