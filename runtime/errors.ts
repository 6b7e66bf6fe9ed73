/**
 * Errors as values users can act on: every error that leaves a peer carries
 * a stable string `code`, and this module is the one place that maps codes to
 * HTTP statuses and the contract's JSON shape
 * `{ "error": { "code": "...", "message": "..." } }`.
 * @module
 */

/** An error raised by the runtime itself, with a stable code. */
export class VirgoError extends Error {
  override name = "VirgoError";
  /** Stable machine-readable code, e.g. `FUNCTION_NOT_FOUND`. */
  readonly code: string;
  /**
   * @example
   * ```ts
   * throw new VirgoError("FUNCTION_NOT_FOUND", "No function named: hello");
   * ```
   */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** HTTP status for each error code, across runtime, sandbox, p2p and kv. */
export const STATUS: Readonly<Record<string, number>> = {
  BAD_REQUEST: 400,
  INVALID_BUNDLE: 400,
  INVALID_KEY: 400,
  INVALID_ADDRESS: 400,
  INVALID_VERSION: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_MEMBER: 403,
  JOIN_REFUSED: 403,
  NOT_FOUND: 404,
  FUNCTION_NOT_FOUND: 404,
  PEER_UNKNOWN: 404,
  METHOD_NOT_ALLOWED: 405,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  KEY_TOO_LARGE: 413,
  VALUE_TOO_LARGE: 413,
  OUT_OF_BOUNDS: 413,
  FUNCTION_ERROR: 500,
  FUNCTION_CRASHED: 500,
  FUNCTION_MEMORY_LIMIT: 500,
  INTERNAL: 500,
  PEER_FAILED: 502,
  BAD_FRAME: 502,
  FRAME_TOO_LARGE: 502,
  NO_PEER_AVAILABLE: 503,
  QUORUM_FAILED: 503,
  SHUTTING_DOWN: 503,
  SANDBOX_STOPPED: 503,
  OVERLOADED: 503,
  FUNCTION_TIMEOUT: 504,
  POOL_FULL: 507,
};

/** The contract's JSON error body. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** The code of any error that carries one (ours, the sandbox's, the mesh's, the pool's). */
export function errorCode(err: unknown): string | undefined {
  if (err instanceof Error && typeof (err as { code?: unknown }).code === "string") {
    const code = (err as unknown as { code: string }).code;
    if (code in STATUS) return code;
  }
  return undefined;
}

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
      status: STATUS[code] ?? 500,
      body: { error: { code, message: (err as Error).message } },
    };
  }
  return { status: 500, body: { error: { code: "INTERNAL", message: "Internal error" } } };
}

/** Builds the JSON error `Response` for anything thrown. */
export function errorResponse(err: unknown, headers?: HeadersInit): Response {
  const { status, body } = toErrorBody(err);
  const h = new Headers(headers);
  h.set("content-type", "application/json");
  return new Response(JSON.stringify(body), { status, headers: h });
}
