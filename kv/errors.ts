/**
 * The error class of `kv/`: the shared {@link VirgoError}, narrowed to the
 * codes the pool raises and named so callers can tell where it came from.
 *
 * @module
 */
import { type Code, VirgoError } from "../core/mod.ts";

const KV_CODES = [
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
] as const satisfies readonly Code[];

/** The codes `kv/` raises: a part of the one `Code` union of `core/`. */
export type KvErrorCode = typeof KV_CODES[number];

const CODES: ReadonlySet<string> = new Set(KV_CODES);

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
export class KvError extends VirgoError<KvErrorCode> {
  override name = "KvError";
}
