/**
 * Errors as values users can act on: every error that leaves a peer carries
 * a stable string `code`, and this module is the one place that maps codes to
 * HTTP statuses and the contract's JSON shape
 * `{ "error": { "code": "...", "message": "..." } }`. The codes, their
 * statuses and the error class live in `core/errors.ts`, shared with `kv/`,
 * `p2p/` and the sandbox.
 * @module
 */
import { type Code, isCode, STATUS } from "../core/mod.ts";

export { type Code, STATUS, VirgoError } from "../core/mod.ts";

/** The contract's JSON error body. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/**
 * The code of any error that carries one (ours, the sandbox's, the mesh's, the pool's).
 * `INTERNAL` is no code a caller can act on: an error carrying it (a remote peer's
 * unexpected failure) counts as one without a code, and its message stays in the logs.
 */
export function errorCode(err: unknown): Code | undefined {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    if (isCode(code) && code !== "INTERNAL") return code;
  }
  return undefined;
}

/** The body of every error without a code: generic, so no host detail reaches a caller. */
const INTERNAL_BODY: ErrorBody = { error: { code: "INTERNAL", message: "Internal error" } };

/**
 * Turns anything thrown into a status and the contract's error body. Errors
 * without a known code become 500 `INTERNAL` with a generic message, so a
 * host stack trace or internal detail never reaches a caller.
 *
 * @example
 * ```ts
 * const { status, body } = toErrorBody(new VirgoError("BAD_REQUEST", "Bad size"));
 * // status === 400
 * ```
 */
export function toErrorBody(err: unknown): { status: number; body: ErrorBody } {
  const code = errorCode(err);
  if (code) {
    return {
      status: STATUS[code],
      body: { error: { code, message: (err as Error).message } },
    };
  }
  return { status: 500, body: INTERNAL_BODY };
}

/** Builds the JSON error `Response` for anything thrown. */
export function errorResponse(err: unknown, headers?: HeadersInit): Response {
  const { status, body } = toErrorBody(err);
  const h = new Headers(headers);
  h.set("content-type", "application/json");
  return new Response(JSON.stringify(body), { status, headers: h });
}

/** The 500 `INTERNAL` response, for failures outside the app (`Deno.serve`'s `onError`). */
export function internalErrorResponse(): Response {
  return errorResponse(undefined);
}
