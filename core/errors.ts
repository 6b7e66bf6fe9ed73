/**
 * The one error class of Virgo and the one list of its codes.
 *
 * Every error a peer raises on purpose carries a stable string {@link Code};
 * messages are for people and may change. {@link STATUS} gives each code its
 * HTTP status — typed `Record<Code, number>`, so a code without a status
 * does not compile. `runtime/errors.ts` turns errors into the contract's JSON
 * body with it; `kv/`, `p2p/` and the sandbox raise subclasses of
 * {@link VirgoError} that add what their callers need (`remote`, `refused`).
 *
 * @module
 */

/**
 * Every code Virgo raises, by the part that raises it. A code a remote peer
 * sends that is not one of these arrives as `INTERNAL`.
 */
export type Code =
  // The HTTP API and the runtime.
  | "BAD_REQUEST"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "METHOD_NOT_ALLOWED"
  | "FUNCTION_NOT_FOUND"
  /** The request is valid but the state refuses it (a rollback with no older version). */
  | "CONFLICT"
  | "NO_PEER_AVAILABLE"
  // A peer asked to run a version it does not hold (yet): the caller runs it elsewhere.
  | "VERSION_UNAVAILABLE"
  | "INTERNAL"
  // Functions and the sandbox that runs them.
  | "INVALID_BUNDLE"
  | "PAYLOAD_TOO_LARGE"
  | "FUNCTION_ERROR"
  | "FUNCTION_CRASHED"
  | "FUNCTION_MEMORY_LIMIT"
  | "FUNCTION_TIMEOUT"
  | "SANDBOX_STOPPED"
  | "OVERLOADED"
  // The memory pool (kv/).
  | "INVALID_KEY"
  | "INVALID_ADDRESS"
  | "INVALID_VERSION"
  | "PRECONDITION_FAILED"
  | "KEY_TOO_LARGE"
  | "VALUE_TOO_LARGE"
  | "OUT_OF_BOUNDS"
  | "QUORUM_FAILED"
  | "POOL_FULL"
  // The mesh (p2p/); `BAD_FRAME` is kv's too.
  | "NOT_MEMBER"
  | "JOIN_REFUSED"
  | "PEER_UNKNOWN"
  | "PEER_FAILED"
  | "BAD_FRAME"
  | "FRAME_TOO_LARGE"
  | "SHUTTING_DOWN";

/**
 * The HTTP status of each {@link Code}.
 *
 * @example
 * ```ts
 * STATUS.FUNCTION_TIMEOUT; // 504
 * ```
 */
export const STATUS: Readonly<Record<Code, number>> = {
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
  CONFLICT: 409,
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
  VERSION_UNAVAILABLE: 503,
  QUORUM_FAILED: 503,
  SHUTTING_DOWN: 503,
  SANDBOX_STOPPED: 503,
  OVERLOADED: 503,
  FUNCTION_TIMEOUT: 504,
  POOL_FULL: 507,
};

/**
 * Whether `value` is one of the {@link Code}s — for codes that arrive from
 * outside (a remote peer's error reply, a thrown object).
 *
 * @example
 * ```ts
 * isCode("QUORUM_FAILED"); // true
 * isCode("ENOENT"); // false
 * ```
 */
export function isCode(value: unknown): value is Code {
  return typeof value === "string" && Object.hasOwn(STATUS, value);
}

/**
 * An error users can act on: a stable {@link Code} and a message for people.
 * `C` narrows the codes a subclass raises (`KvError` raises only kv's).
 *
 * @example
 * ```ts
 * throw new VirgoError("FUNCTION_NOT_FOUND", "No function named: hello");
 * ```
 */
export class VirgoError<C extends Code = Code> extends Error {
  override name = "VirgoError";
  /** Stable machine-readable code, e.g. `FUNCTION_NOT_FOUND`. */
  readonly code: C;
  constructor(code: C, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
