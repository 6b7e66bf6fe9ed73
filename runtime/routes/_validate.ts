import type { z } from "zod";
import { VirgoError } from "../errors.ts";

/** Parses an external value with a schema; a failure is 400 naming the field. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.length ? ` at ${issue.path.join(".")}` : "";
  throw new VirgoError("BAD_REQUEST", `Invalid ${what}${field}: ${issue?.message ?? "invalid"}`);
}

/** Parses JSON text, failing with 400 instead of a SyntaxError. */
export function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new VirgoError(
      "BAD_REQUEST",
      `Invalid ${what}: body is not JSON: ${(err as Error).message}`,
    );
  }
}
