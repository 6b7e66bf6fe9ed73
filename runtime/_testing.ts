/**
 * Test helpers (private to runtime/): the peer's hono app built from light parts, so the HTTP
 * layer is tested through `app.request()` as hono's own tests do — no LevelDB, no libp2p, no
 * listening socket. The parts are the real ones where they are cheap (catalogue, invoker,
 * router, replicated pool, metrics, sandboxes) over an in-memory database and a mesh of one
 * peer held in memory. Sandbox processes start only when a test deploys a function.
 *
 * What only an assembled peer has (the status it reports, its gauges, libp2p, LevelDB) is
 * tested on whole peer processes in `test/`.
 *
 * @module
 */
import type { Hono } from "hono";
import { createPool, MAX_MESSAGE_BYTES, openMemoryDatabase, type Pool } from "../kv/mod.ts";
import { createRouter, MeshError, type PeerInfo } from "../p2p/mod.ts";
import { createSandboxPool, type SandboxPool } from "./sandbox/mod.ts";
import { createApp } from "./app.ts";
import { createLogStore, createMeshLogs, withLogEvents } from "./logs/mod.ts";
import { KV_PROTOCOL } from "./constants.ts";
import { createInvoker, type InvokeNet } from "./invoke.ts";
import { kvBridge } from "./kv_bridge.ts";
import type { Logger } from "./log.ts";
import { createMetrics } from "./metrics.ts";
import {
  type CatalogNet,
  createRegistry,
  createSealer,
  type Operator,
  type Registry,
} from "./catalog/mod.ts";

/** A well-formed libp2p peer id, so `x-virgo-route: <id>` can pin calls to the test peer. */
export const TEST_PEER_ID = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";

/** One logged line, as {@linkcode recordingLogger} keeps it. */
export interface LogLine {
  level: string;
  obj: Record<string, unknown>;
  msg: string | undefined;
}

/** A logger that keeps every line (its children's too, with their bindings). */
export function recordingLogger(
  lines: LogLine[] = [],
  bindings: Record<string, unknown> = {},
): Required<Logger> & { lines: LogLine[] } {
  const at = (level: string) => (obj: object, msg?: string) =>
    void lines.push({ level, obj: { ...bindings, ...obj }, msg });
  return {
    lines,
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (more) => recordingLogger(lines, { ...bindings, ...more }),
  };
}

/** The mesh as the parts of one peer use it, with no other peer in it. */
type OnePeerNet = CatalogNet & InvokeNet & { peers(): PeerInfo[]; sample(): PeerInfo[] };

/**
 * A mesh of one peer in memory: requests to itself reach its own handlers (as the real mesh
 * does), anything addressed elsewhere fails as an unknown peer, and nothing is ever published.
 */
function onePeerNet(peerId: string, load: () => Omit<PeerInfo, "peerId" | "self">): OnePeerNet {
  const handlers = new Map<string, (req: Uint8Array, from: string) => Promise<Uint8Array>>();
  const unknown = (to: string) => new MeshError("PEER_UNKNOWN", `Unknown peer: ${to}`);
  return {
    peerId,
    peers: () => [{ ...load(), peerId, self: true }],
    sample: () => [{ ...load(), peerId, self: true }],
    onMembership: () => () => {},
    publish: () => Promise.resolve(),
    subscribe: () => {},
    handle(protocol, handler) {
      handlers.set(protocol, handler);
      return Promise.resolve();
    },
    async request(to, protocol, req) {
      const handler = handlers.get(protocol);
      if (to !== peerId) throw unknown(to);
      if (!handler) throw new MeshError("PEER_FAILED", `No local handler for ${protocol}`);
      return await handler(req.slice(), peerId);
    },
    // The invoker runs a call for itself in its own sandbox; it never sends one to itself.
    invoke: (to) => Promise.reject(unknown(to)),
  };
}

/** Options of {@linkcode startTestApp}. */
export interface TestAppOptions {
  /** The admin token, as `virgo start --token`. */
  token?: string;
  /** The operator's key, as `--operator` / `--operator-key`. */
  operator?: Operator;
}

/** A running app and the parts behind it. */
export interface TestApp {
  app: Hono;
  peerId: string;
  registry: Registry;
  pool: Pool;
  sandbox: SandboxPool;
  /** Every line the parts logged. */
  logs: LogLine[];
  stop(): Promise<void>;
}

/**
 * The peer's app over light parts; stop it when done.
 *
 * @example
 * ```ts
 * await using t = await startTestApp();
 * const res = await t.app.request("/healthz");
 * ```
 */
export async function startTestApp(
  opts: TestAppOptions = {},
): Promise<TestApp & AsyncDisposable> {
  const peerId = TEST_PEER_ID;
  const logger = recordingLogger();
  const db = openMemoryDatabase();
  const started = Date.now();
  // The parts gossip their load through the mesh; they plug their readings in once built.
  const live = {
    running: () => 0,
    queued: () => 0,
    catalog: () => ({ digest: "", count: 0 }),
  };
  const net = onePeerNet(peerId, () => ({
    incarnation: 0,
    ageMs: 0,
    addrs: [],
    inflight: live.running(),
    queued: live.queued(),
    cores: 1,
    loopDelayMs: 0,
    poolTotalBytes: 1 << 20,
    poolFreeBytes: 1 << 20,
    catalog: live.catalog(),
  }));
  const pool = createPool({
    db,
    replicas: 1,
    poolBytes: 1 << 20,
    logger: logger.child({ component: "kv" }),
    // Alone in its mesh, it has nothing to move: no pause before its (empty) first pass.
    rebalance: { delayMs: 0, debounceMs: 0 },
    transport: {
      self: peerId,
      members: () => [{ peerId, poolFreeBytes: 1 << 20 }],
      onMembership: () => () => {},
      request: (to, body) => net.request(to, KV_PROTOCOL, body, { maxBytes: MAX_MESSAGE_BYTES }),
      handle: (handler) => net.handle(KV_PROTOCOL, handler),
    },
  });
  const logStore = createLogStore();
  const logs = createMeshLogs({
    net,
    store: logStore,
    logger: logger.child({ component: "logs" }),
  });
  const sandbox = createSandboxPool({
    peerId,
    logger: logger.child({ component: "sandbox" }),
    onLog: (line) => logStore.append(line),
    kv: (namespace, op) => kvBridge(pool, namespace, op),
    denyNet: [],
    spares: 0,
  });
  const registry = withLogEvents(
    createRegistry({
      db,
      sandbox,
      net,
      logger: logger.child({ component: "catalog" }),
      sealer: await createSealer(crypto.getRandomValues(new Uint8Array(32))),
      operator: opts.operator,
    }),
    logStore,
  );
  const metrics = createMetrics({ pool });
  const invoker = createInvoker({
    registry,
    sandbox,
    net,
    router: createRouter(net),
    routing: "p2c",
    logger: logger.child({ component: "invoke" }),
    metrics,
  });
  live.running = () => sandbox.inflight();
  live.queued = () => sandbox.queued();
  live.catalog = () => registry.digest();
  await sandbox.start();
  await pool.start();
  await registry.start();
  await logs.start();
  const app = createApp({
    peerId,
    registry,
    invoker,
    pool,
    net,
    metrics,
    logger: logger.child({ component: "http" }),
    logs,
    token: opts.token,
    status: () =>
      Promise.resolve({
        peerId,
        routing: "p2c",
        inflight: invoker.inflight(),
        functions: registry.list().length,
        peers: net.peers().length,
        uptimeSeconds: (Date.now() - started) / 1000,
      }),
  });
  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      registry.stop();
      await sandbox.stop();
      await pool.stop();
      await db.close();
    })();
  return {
    app,
    peerId,
    registry,
    pool,
    sandbox,
    logs: logger.lines,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
