/**
 * The error the sandbox pool throws: the shared `VirgoError` of `core/`,
 * narrowed to the sandbox's codes.
 *
 * @module
 */
import { type Code, VirgoError } from "../../core/mod.ts";

/** Stable codes a {@linkcode SandboxError} carries: a part of the one `Code` union of `core/`. */
export type SandboxErrorCode = Extract<
  Code,
  | "INVALID_BUNDLE"
  | "FUNCTION_TIMEOUT"
  | "FUNCTION_CRASHED"
  | "FUNCTION_ERROR"
  | "FUNCTION_MEMORY_LIMIT"
  | "PAYLOAD_TOO_LARGE"
  | "SANDBOX_STOPPED"
  | "OVERLOADED"
>;

/**
 * An error from a sandboxed function or the pool running it, with a stable `code`.
 *
 * Why: callers branch on `code` (HTTP status, retry) and never on message text.
 *
 * @example
 * ```ts
 * try { await pool.invoke(spec, req, { requestId: "r1" }); }
 * catch (e) { if (e instanceof SandboxError && e.code === "FUNCTION_TIMEOUT") {} }
 * ```
 */
export class SandboxError extends VirgoError<SandboxErrorCode> {
  override name = "SandboxError";
  /**
   * True when the call was refused before any function code saw it (`OVERLOADED`, or
   * `SANDBOX_STOPPED` from a stopping pool): trying it elsewhere cannot run it twice.
   */
  readonly refused: boolean;
  /** For `OVERLOADED`: seconds after which a retry here is likely to be accepted. */
  readonly retryAfter: number | undefined;
  constructor(
    code: SandboxErrorCode,
    message: string,
    opts: { refused?: boolean; retryAfter?: number } = {},
  ) {
    super(code, message);
    this.refused = opts.refused ?? false;
    this.retryAfter = opts.retryAfter;
  }
}
