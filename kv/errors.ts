/**
 * The one error class of `kv/`, with stable codes mapped to HTTP by `runtime/errors.ts`.
 *
 * @module
 */

/** Stable error codes of `kv/`. */
export type KvErrorCode =
  | "INVALID_KEY"
  | "KEY_TOO_LARGE"
  | "VALUE_TOO_LARGE"
  | "NOT_FOUND"
  | "PRECONDITION_FAILED"
  | "POOL_FULL"
  | "OUT_OF_BOUNDS"
  | "QUORUM_FAILED"
  | "INVALID_ADDRESS"
  | "INVALID_VERSION"
  | "BAD_FRAME";

const CODES: ReadonlySet<string> = new Set<KvErrorCode>([
  "INVALID_KEY",
  "KEY_TOO_LARGE",
  "VALUE_TOO_LARGE",
  "NOT_FOUND",
  "PRECONDITION_FAILED",
  "POOL_FULL",
  "OUT_OF_BOUNDS",
  "QUORUM_FAILED",
  "INVALID_ADDRESS",
  "INVALID_VERSION",
  "BAD_FRAME",
]);

/** True if `code` is one of the {@link KvErrorCode}s (used when decoding remote errors). */
export function isKvErrorCode(code: string): code is KvErrorCode {
  return CODES.has(code);
}

/**
 * An error users can act on, with a stable `code`.
 *
 * Why: the runtime maps `code` to an HTTP status in one place; messages are
 * for humans and may change.
 *
 * @example
 * ```ts
 * try { await pool.put("", data); } catch (e) {
 *   if (e instanceof KvError && e.code === "INVALID_KEY") { ... }
 * }
 * ```
 */
export class KvError extends Error {
  override name = "KvError";
  /** The stable code, e.g. `"PRECONDITION_FAILED"`. */
  readonly code: KvErrorCode;
  constructor(code: KvErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
