/**
 * The mesh's error type.
 *
 * @module
 */

/** Codes the mesh itself raises; errors relayed from a remote handler may carry any code. */
export type MeshErrorCode =
  | "NO_PEER_AVAILABLE"
  | "PEER_FAILED"
  | "FRAME_TOO_LARGE"
  | "BAD_FRAME"
  | "PEER_UNKNOWN"
  | "NOT_MEMBER"
  | "JOIN_REFUSED"
  | "SHUTTING_DOWN";

/**
 * Error raised by the mesh, with a stable string `code`.
 *
 * When a remote handler throws an error that has a string `code`, the caller
 * gets a `MeshError` with that same `code` and `message` and `remote: true`,
 * so errors like kv's `PRECONDITION_FAILED` cross the wire unchanged.
 *
 * @example
 * ```ts
 * try { await mesh.request(id, "/x/1", bytes); }
 * catch (e) { if (e instanceof MeshError && e.code === "PEER_FAILED") retryElsewhere(); }
 * ```
 */
export class MeshError extends Error {
  override name = "MeshError";
  /** Stable machine-readable code (a {@link MeshErrorCode} or a remote handler's code). */
  readonly code: string;
  /** True when the error was thrown by the remote peer's handler and relayed to us. */
  readonly remote: boolean;
  /**
   * True when the request never left this peer (no stream could be opened): the remote did not
   * see it, so trying it elsewhere cannot run it twice.
   */
  readonly unsent: boolean;

  constructor(
    code: MeshErrorCode | (string & Record<never, never>),
    message: string,
    opts?: { cause?: unknown; remote?: boolean; unsent?: boolean },
  ) {
    super(message, opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.remote = opts?.remote ?? false;
    this.unsent = opts?.unsent ?? false;
  }
}

/** The `{ code, message }` to send back for a handler error; errors without a string code become `PEER_FAILED`. */
export function errorToWire(err: unknown): { code: string; message: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      code: typeof code === "string" && code.length > 0 ? code : "PEER_FAILED",
      message: err.message,
    };
  }
  return { code: "PEER_FAILED", message: String(err) };
}
