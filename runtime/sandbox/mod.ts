/**
 * The sandbox: runs user functions, each function version in its own Deno child process with
 * no permission but (filtered) network, capped in time and memory. A crash, a timeout or a
 * memory bomb ends that call with a {@linkcode SandboxError} and never the peer.
 *
 * @example
 * ```ts
 * import { createSandboxPool } from "./runtime/sandbox/mod.ts";
 * const pool = createSandboxPool({ peerId: "p1", logger, kv: async () => ({ value: null }), denyNet: [] });
 * await pool.start();
 * const spec = { name: "hello", version: "abc", code: "export default { fetch: () => new Response('hi') }",
 *   vars: {}, timeoutMs: 10_000, memoryMb: 128, kvNamespace: "hello" };
 * const res = await pool.invoke(spec, new Request("http://fn/"), { requestId: "r1" });
 * console.log(await res.text()); // "hi"
 * await pool.stop();
 * ```
 *
 * @module
 */
export { createSandboxPool } from "./pool.ts";
export { DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_MS } from "./constants.ts";
export { SandboxError, type SandboxErrorCode } from "./errors.ts";
export { type ProcessMemory, processMemory } from "./memory.ts";
export type {
  CallRequest,
  CallResponse,
  CallResult,
  FunctionLog,
  FunctionSpec,
  InvokeOptions,
  KvOp,
  KvResult,
  Logger,
  ProcessStats,
  SandboxInit,
  SandboxPool,
  SandboxStats,
} from "./types.ts";
