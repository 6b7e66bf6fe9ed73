/**
 * Types of the sandbox pool's public face (see docs/architecture.md).
 *
 * @module
 */

import type { Logger } from "../../core/mod.ts";
import type { ProcessMemory } from "./memory.ts";

/** The one logger type of Virgo (`core/logger.ts`), handed in by the peer. */
export type { Logger };

/**
 * One env.KV operation a function asked for; the host runs it in the function's namespace.
 *
 * @example
 * ```ts
 * const op: KvOp = { op: "set", key: "a", value: new TextEncoder().encode("1"), ttlSeconds: 60 };
 * ```
 */
export type KvOp =
  | { op: "get"; key: string; consistency?: "strong" | "eventual" }
  | { op: "set"; key: string; value: Uint8Array; ttlSeconds?: number; ifMatch?: string }
  | { op: "delete"; key: string }
  | { op: "list"; prefix?: string; after?: string; limit?: number };

/**
 * The host's answer to a {@linkcode KvOp}: get → `{ value, version? }`, set → `{ version }`,
 * delete → `{ deleted }`, list → `{ keys, next? }`. A handler that fails throws an object with a
 * string `code` and `message`; the function sees an Error with both.
 */
export type KvResult =
  | { value: Uint8Array | null; version?: string }
  | { version: string }
  | { deleted: boolean }
  | { keys: string[]; next?: string };

/**
 * One line of a function's log, as the sandbox hands it to {@linkcode SandboxInit.onLog}: its
 * console output (`function`), or what happened to one of its calls or processes (`runtime`:
 * an uncaught exception with its stack, a timeout, a memory kill, a crash, stderr output).
 *
 * @example
 * ```ts
 * const line: FunctionLog = { fn: "hello", version: "3f2a…", level: "error", source: "function", requestId: "r1", msg: "boom" };
 * ```
 */
export interface FunctionLog {
  fn: string;
  version: string;
  level: "debug" | "info" | "warn" | "error";
  source: "function" | "runtime";
  /** The call it belongs to, when known. */
  requestId?: string;
  msg: string;
}

/**
 * What the pool needs from the peer.
 *
 * @example
 * ```ts
 * const init: SandboxInit = { peerId: "12D3…", logger, kv: (ns, op) => pool.run(ns, op), denyNet: ["0.0.0.0:8080"] };
 * ```
 */
export interface SandboxInit {
  /** The executing peer, shown to functions as `ctx.peerId`. */
  peerId: string;
  /** Where function console output and process events go. */
  logger: Logger;
  /** Also told every line of a function's log (console output, and what befell its calls). */
  onLog?: (line: FunctionLog) => void;
  /** Host side of `env.KV`. */
  kv: (namespace: string, op: KvOp) => Promise<KvResult>;
  /** The peer's own listen `host:port`s, always denied unless a spec allows loopback. */
  denyNet: string[];
  /** Pre-started generic sandboxes. @default {1} */
  spares?: number;
  /** End a function's process after this long idle. @default {300000} */
  idleMs?: number;
  /**
   * Function processes kept at most; idle ones beyond it end, least recently used first.
   * @default {defaultMaxWarm()} (as many as a quarter of the machine's memory holds, 32–128)
   */
  maxWarm?: number | undefined;
  /** Largest response body in bytes; bigger ones error with `PAYLOAD_TOO_LARGE`. @default {Infinity} */
  maxResponseBytes?: number;
  /** Most processes per function version when calls queue. @default {navigator.hardwareConcurrency} */
  maxInstances?: number;
  /** Upper bound of the calls one process runs at once (the pool learns the limit below it). @default {64} */
  maxConcurrency?: number;
  /** Calls running in all sandboxes at once; more wait in the queue. @default {256} */
  maxInflight?: number;
  /** Longest expected wait in the queue; a call that would wait longer is refused with `OVERLOADED`. @default {500} */
  queueWaitMs?: number;
  /** Most calls waiting in all queues. @default {1024} */
  maxQueued?: number;
  /** Deadline of a module's load, in ms (a function's longer timeout applies instead). @default {10000} */
  loadTimeoutMs?: number;
  /** On stop, how long running calls may finish before their processes are killed. @default {2000} */
  stopGraceMs?: number;
}

/**
 * One deployable function version.
 *
 * @example
 * ```ts
 * const spec: FunctionSpec = { name: "hello", version: sha, code, vars: {}, timeoutMs: 10000, memoryMb: 128, kvNamespace: "hello" };
 * ```
 */
export interface FunctionSpec {
  name: string;
  /** sha256 hex of `code`. */
  version: string;
  /** One bundled ES module whose default export has `fetch`. */
  code: string;
  vars: Record<string, string>;
  timeoutMs: number;
  memoryMb: number;
  /** Outbound allowlist (`host[:port]`); undefined = any public host. */
  allowNet?: string[];
  allowLoopback?: boolean;
  /** Private address ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) reachable. */
  allowPrivate?: boolean;
  kvNamespace: string;
  /** Secret values by name, seen by the function as `env.<NAME>`; never logged. */
  secrets?: Record<string, string>;
}

/**
 * A call as the sandbox sends it to a function process: a `Request` is one, and so is a call
 * that arrived over the mesh as its parts (no Request built on the way through).
 *
 * @example
 * ```ts
 * const call: CallRequest = { method: "GET", url: "http://fn/", headers: [["x-a", "1"]], body: null };
 * ```
 */
export interface CallRequest {
  readonly method: string;
  readonly url: string;
  /** Pairs `Headers` accepts; the function process builds its `Headers` from them. */
  readonly headers: Iterable<[string, string]>;
  /** `null`: no body at all. */
  readonly body: ReadableStream<Uint8Array> | null;
}

/**
 * A function's answer as its parts, for a caller that passes them on without a `Response` (the
 * mesh): checked as the Response constructor would check them, the headers of
 * {@linkcode InvokeOptions.headers} in place of the function's own of those names.
 */
export interface CallResponse {
  status: number;
  headers: [string, string][];
  /** Bytes when the child sent the body whole; `null`: none. */
  body: ReadableStream<Uint8Array> | Uint8Array | null;
}

/** What one call resolves with: a Response, or its parts when asked ({@linkcode InvokeOptions.parts}). */
export type CallResult = Response | CallResponse;

/** Options of one call. */
export interface InvokeOptions {
  requestId: string;
  /** Aborting ends the call and cancels it in the child. */
  signal?: AbortSignal | undefined;
  /** The URL the function sees, when not the request's own (saves building a second Request). */
  url?: string;
  /**
   * When the call reached this peer (`performance.now()`): its timeout runs from then, queue
   * included. @default {the time of the `invoke` call}
   */
  arrivedAt?: number;
  /**
   * Headers set on the response, replacing the function's own of the same (lower-case) names:
   * added as the response is made, cheaper than setting them on it afterwards.
   */
  headers?: ReadonlyArray<readonly [string, string]>;
  /** Resolve with a {@linkcode CallResponse}, not a Response. */
  parts?: boolean | undefined;
}

/** One function process, for metrics such as "sandbox memory per function". */
export interface ProcessStats {
  pid: number;
  /** `name@version`, or undefined for a spare. */
  fn?: string;
  inflight: number;
  /** Calls this process may run at once now (learned per version); undefined for a spare. */
  limit?: number;
  /**
   * Resident set size in bytes: the watchdog's last sample (0 before the first), or read with
   * PSS and USS by {@linkcode SandboxPool.memoryStats}.
   */
  rssBytes: number;
  /** Proportional set size in bytes (see `memory.ts`); only from {@linkcode SandboxPool.memoryStats}. */
  pssBytes?: number;
  /** Unique set size in bytes: what ending the process frees; only from `memoryStats`. */
  ussBytes?: number;
}

/** Counters for metrics. */
export interface SandboxStats {
  processes: number;
  spares: number;
  /** Calls running in the sandboxes. */
  inflight: number;
  /** Calls waiting for a process. */
  queued: number;
  /** Per-process detail. */
  detail?: ProcessStats[];
  /** The processes' memory summed (PSS sums to what they hold together); only from `memoryStats`. */
  memory?: ProcessMemory;
}

/**
 * Runs function versions, each in its own Deno process.
 *
 * @example
 * ```ts
 * const pool = createSandboxPool(init);
 * await pool.start();
 * await pool.load(spec);
 * const res = await pool.invoke(spec, new Request("http://fn/"), { requestId: "r1" });
 * await pool.stop();
 * ```
 */
export interface SandboxPool {
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Loads and checks the default export has fetch; throws `INVALID_BUNDLE` with the loader's
   * message, or when the module has not finished loading by its deadline.
   */
  load(fn: FunctionSpec): Promise<void>;
  /**
   * Runs one call, at once or after a wait in the version's queue; its timeout runs from now.
   * Throws `OVERLOADED` (with `retryAfter`, `refused`) at once when the call would wait too long,
   * and `SANDBOX_STOPPED` (`refused`) when the pool is stopping.
   */
  invoke(
    fn: FunctionSpec,
    req: CallRequest,
    opts: InvokeOptions & { parts: true },
  ): Promise<CallResponse>;
  invoke(fn: FunctionSpec, req: CallRequest, opts: InvokeOptions): Promise<Response>;
  /**
   * Lets in-flight and queued calls finish, then ends the version's process(es); a load of it
   * still under way ends its process when done. Superseded by a later `load` of the same version.
   */
  retire(version: string): void;
  /**
   * Undoes {@linkcode SandboxPool.retire}: the version is current again (a rollback to it), so
   * its processes serve on instead of ending after each call. Loads nothing.
   */
  revive(version: string): void;
  stats(): SandboxStats;
  /**
   * {@linkcode SandboxPool.stats} with each process's RSS, PSS and USS read now from
   * `/proc/<pid>/smaps_rollup` (~0.1 ms a process: for a status page, not for every call).
   */
  memoryStats(): Promise<SandboxStats>;
  /** Calls running in the sandboxes now: what {@linkcode SandboxPool.stats} counts, without the detail (cheap enough for every call). */
  inflight(): number;
  /** Calls waiting for a process now. */
  queued(): number;
}
