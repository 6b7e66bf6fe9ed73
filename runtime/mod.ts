/**
 * The function runtime of a Virgo peer: the HTTP API (hono on `Deno.serve`),
 * the function catalogue and its bundles, invoking (locally in a sandbox or
 * on another peer of the mesh), and the assembly of a whole peer.
 *
 * ```ts
 * import { resolveConfig, startPeer, createLogger } from "./runtime/mod.ts";
 *
 * const peer = await startPeer(resolveConfig({ http: "127.0.0.1:0", data: "/tmp/virgo" }), createLogger());
 * const res = await peer.app.request("/healthz");
 * await peer.stop();
 * ```
 *
 * The command line lives in `cli/main.ts`; the sandbox in `sandbox/mod.ts`.
 * @module
 */
export { type AppDeps, createApp } from "./app.ts";
export { type Bundle, bundle } from "./catalog/mod.ts";
export {
  readConfigFile,
  resolveConfig,
  type Routing,
  ROUTINGS,
  type StartConfig,
} from "./config.ts";
export { errorResponse, STATUS, toErrorBody, VirgoError } from "./errors.ts";
export {
  createInvoker,
  type Invoker,
  PEER_HEADER,
  REQUEST_ID_HEADER,
  ROUTE_HEADER,
} from "./invoke.ts";
export { createLogger, type Logger, silentLogger } from "./log.ts";
export { createMetrics, type Metrics } from "./metrics.ts";
export { type Peer, startPeer } from "./peer.ts";
export {
  createRegistry,
  type DeployInput,
  type FunctionMeta,
  type Registry,
} from "./catalog/mod.ts";
