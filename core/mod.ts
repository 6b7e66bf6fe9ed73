/**
 * `core/` — the little every folder shares and that imports nothing of ours:
 * the one error class with its {@link Code}s and their HTTP statuses, sha256 in hex, the one
 * {@link Logger} type, and the {@link Startable} lifecycle with {@link Lifecycle},
 * which starts parts in order and stops them in reverse. `runtime/`, `kv/`
 * and `p2p/` may all import it.
 *
 * @example
 * ```ts
 * import { STATUS, VirgoError } from "./core/mod.ts";
 *
 * const err = new VirgoError("FUNCTION_TIMEOUT", "Function exceeded its 10000 ms timeout");
 * STATUS[err.code]; // 504
 * ```
 *
 * @module
 */
export { concatBytes, decodeHead, encodeHead, headParts } from "./codec.ts";
export { type Code, isCode, STATUS, VirgoError } from "./errors.ts";
export { sha256Hex } from "./hash.ts";
export { HTTP_TOKEN, isHeaderPair, NULL_BODY_STATUS } from "./http.ts";
export { childLogger, type Logger, silentLogger } from "./logger.ts";
export { Lifecycle, type Startable } from "./startable.ts";
