/**
 * Function logs: each peer keeps a bounded ring of lines per function (console output from its
 * sandboxes, and what happened to the function: uncaught exceptions with their stack, timeouts,
 * memory kills, deploys, rollbacks, deletes); `GET /v1/logs/:fn` merges the rings of every
 * member in time order, once or as a follow over SSE; request ids tie a line to its call.
 *
 * @example
 * ```ts
 * import { createLogStore, createMeshLogs } from "./runtime/logs/mod.ts";
 * const store = createLogStore();
 * store.append({ fn: "hello", level: "error", source: "function", requestId: "r1", msg: "boom" });
 * const logs = createMeshLogs({ net: mesh, store, logger });
 * await logs.start();
 * const lines = await logs.read("hello", { since: Date.now() - 600_000 });
 * ```
 *
 * @module
 */
export {
  type Level,
  LEVELS,
  type LogLine,
  type NewLogLine,
  type PeerLogLine,
  PeerLogLineSchema,
  type Source,
} from "./line.ts";
export { createLogStore, type LogQuery, type LogStore, type LogStoreOptions } from "./ring.ts";
export {
  createMeshLogs,
  type LogsNet,
  type MeshLogs,
  type MeshLogsInit,
  type ReadOptions,
} from "./mesh.ts";
export { withLogEvents } from "./events.ts";
export { parseSince } from "./since.ts";
export { acceptRequestId, MAX_REQUEST_ID, requestIds } from "./request_id.ts";
export { KEEPALIVE_MS, LOGS_PROTOCOL, MAX_FOLLOWS } from "./constants.ts";
