/**
 * The mesh's error type: the shared {@link VirgoError} with what a caller of
 * a remote peer needs to know (did the remote raise it, did the request leave).
 *
 * @module
 */
import { type Code, isCode, VirgoError } from "../core/mod.ts";

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
export class MeshError extends VirgoError {
  override name = "MeshError";
  /** True when the error was thrown by the remote peer's handler and relayed to us. */
  readonly remote: boolean;
  /**
   * True when the request never left this peer (no stream could be opened): the remote did not
   * see it, so trying it elsewhere cannot run it twice.
   */
  readonly unsent: boolean;

  constructor(
    code: Code,
    message: string,
    opts?: { cause?: unknown; remote?: boolean; unsent?: boolean },
  ) {
    super(code, message, opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.remote = opts?.remote ?? false;
    this.unsent = opts?.unsent ?? false;
  }
}

/**
 * The `{ code, message }` to send back for a handler error: errors without a string code become
 * `PEER_FAILED`, errors with a code that is none of ours (a library's) `INTERNAL`.
 */
export function errorToWire(err: unknown): { code: Code; message: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      code: typeof code !== "string" || code.length === 0
        ? "PEER_FAILED"
        : isCode(code)
        ? code
        : "INTERNAL",
      message: err.message,
    };
  }
  return { code: "PEER_FAILED", message: String(err) };
}

/** The code of an error reply as this peer knows it: one that is none of ours becomes `INTERNAL`. */
export function codeFromWire(code: string): Code {
  return isCode(code) ? code : "INTERNAL";
}
