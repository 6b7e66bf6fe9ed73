/**
 * One Virgo peer, assembled in one place so a reader can see every part and
 * how it is wired: LevelDB, the libp2p mesh and its router, the replicated
 * pool, the sandboxes, the function catalogue, the invoker, and the hono app
 * on `Deno.serve`.
 * @module
 */
import type { Hono } from "hono";
import { createPool, MAX_MESSAGE_BYTES, openDatabase, type Pool } from "../kv/mod.ts";
import { createMesh, createRouter } from "../p2p/mod.ts";
import { createSandboxPool } from "./sandbox/mod.ts";
import { createApp } from "./app.ts";
import { checkExposure, parseHostPort, type StartConfig } from "./config.ts";
import { internalErrorResponse, VirgoError } from "./errors.ts";
import { loadOperator } from "./operator.ts";
import { loadSealer } from "./secrets.ts";
import { KV_PROTOCOL, SHUTDOWN_GRACE_MS } from "./constants.ts";
import { createInvoker } from "./invoke.ts";
import { kvBridge } from "./kv_bridge.ts";
import { childLogger, type Logger } from "./log.ts";
import { createMetrics } from "./metrics.ts";
import { createRegistry, type DeployInput } from "./registry.ts";
import { startLoopMonitor } from "./_loop.ts";

/** A running peer. */
export interface Peer {
  readonly peerId: string;
  /** Base URL of its HTTP API. */
  readonly url: string;
  /** The hono app it serves, for `app.request()` in tests. */
  readonly app: Hono;
  /** Its libp2p multiaddrs, each ending in `/p2p/<peerId>`. */
  addrs(): string[];
  /** Deploys a function from source already bundled (used for the examples). */
  deploy(name: string, input: DeployInput): Promise<void>;
  /** Names of the functions it serves. */
  functions(): string[];
  /**
   * Leaves gracefully: tells the mesh first (peers route nothing more here),
   * stops taking HTTP requests, refuses routed calls that still arrive with
   * `SHUTTING_DOWN` (callers retry them elsewhere), lets what runs finish
   * (bounded by `SHUTDOWN_GRACE_MS`), then closes everything.
   */
  stop(): Promise<void>;
}

/** Reads the swarm key file, naming it when it cannot be read. */
async function readSwarmKey(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    throw new VirgoError(
      "BAD_REQUEST",
      `Cannot read --swarm-key ${path}: ${(err as Error).message}`,
    );
  }
}

/**
 * Starts a peer.
 *
 * @example
 * ```ts
 * const peer = await startPeer(resolveConfig({ data: "/tmp/virgo" }), logger);
 * await peer.stop();
 * ```
 */
export async function startPeer(cfg: StartConfig, logger: Logger): Promise<Peer> {
  const started = Date.now();
  checkExposure(cfg);
  const listen = parseHostPort(cfg.http);
  const operator = await loadOperator({ publicKey: cfg.operator, keyFile: cfg.operatorKey });
  const swarmKey = cfg.swarmKey ? await readSwarmKey(cfg.swarmKey) : undefined;
  await Deno.mkdir(cfg.data, { recursive: true });
  const sealer = await loadSealer({ swarmKey, dataDir: cfg.data });
  const db = await openDatabase(`${cfg.data}/db`);
  const loop = startLoopMonitor();
  // The mesh samples this peer's load before the parts that know it exist:
  // each part plugs its reading in here once it is built.
  const live = {
    queued: () => 0,
    running: () => 0,
    held: (): string[] => [],
    capacity: () => ({ totalBytes: 0, freeBytes: 0 }),
    http: "",
  };
  const meshInit: Parameters<typeof createMesh>[0] = {
    dataDir: cfg.data,
    listen: [cfg.p2p],
    join: cfg.join,
    mdns: cfg.mdns,
    logger: childLogger(logger, { component: "mesh" }),
    localLoad: () => {
      const cap = live.capacity();
      const inflight = live.running();
      return {
        inflight,
        queued: live.queued(),
        cores: navigator.hardwareConcurrency,
        loopDelayMs: loop.delayMs(),
        poolTotalBytes: cap.totalBytes,
        poolFreeBytes: cap.freeBytes,
        functions: live.held(),
        http: live.http,
      };
    },
  };
  if (swarmKey) meshInit.swarmKey = swarmKey;
  const mesh = await createMesh(meshInit);
  const router = createRouter(mesh);
  const pool: Pool = createPool({
    db,
    replicas: cfg.replicas,
    joining: cfg.join.length > 0,
    poolBytes: cfg.poolMb * 1024 * 1024,
    logger: childLogger(logger, { component: "kv" }),
    transport: {
      self: mesh.peerId,
      members: () =>
        mesh.peers().map((p) => ({ peerId: p.peerId, poolFreeBytes: p.poolFreeBytes })),
      onMembership: (cb) => mesh.onMembership(() => cb()),
      request: (peer, body, opts) =>
        mesh.request(peer, KV_PROTOCOL, body, { ...opts, maxBytes: MAX_MESSAGE_BYTES }),
      handle: (handler) => mesh.handle(KV_PROTOCOL, handler, { maxBytes: 32 * 1024 * 1024 }),
    },
  });
  live.capacity = () => pool.capacity();
  const sandbox = createSandboxPool({
    peerId: mesh.peerId,
    logger: childLogger(logger, { component: "sandbox" }),
    kv: (namespace, op) => kvBridge(pool, namespace, op),
    denyNet: [`${listen.hostname}:${listen.port}`],
    spares: cfg.spares,
  });
  await sandbox.start();
  live.running = () => sandbox.inflight();
  live.queued = () => sandbox.queued();
  const registry = createRegistry({
    db,
    sandbox,
    net: mesh,
    logger: childLogger(logger, { component: "catalog" }),
    sealer,
    operator,
  });
  live.held = () => registry.held();
  const metrics = createMetrics();
  const invoker = createInvoker({
    registry,
    sandbox,
    net: mesh,
    router,
    routing: cfg.routing,
    logger: childLogger(logger, { component: "invoke" }),
    metrics,
  });
  await mesh.serveInvoke((req) => {
    const name = new URL(req.url).pathname.split("/")[2] ?? "";
    return invoker.handle(req, decodeURIComponent(name), { fromMesh: true });
  });
  await pool.start();
  await registry.start();

  metrics.gauge(
    "virgo_inflight_calls",
    "Calls running in this peer's sandboxes",
    () => invoker.inflight(),
  );
  metrics.gauge(
    "virgo_sandbox_queued_calls",
    "Calls waiting for a function process on this peer",
    () => sandbox.queued(),
  );
  metrics.gauge(
    "virgo_mesh_peers",
    "Live peers in this peer's view, itself included",
    () => mesh.peers().length,
  );
  metrics.gauge(
    "virgo_sandbox_processes",
    "Function processes, spares included",
    () => sandbox.stats().processes,
  );
  metrics.gauge(
    "virgo_pool_free_bytes",
    "Free memory-pool capacity on this peer",
    () => pool.capacity().freeBytes,
  );
  metrics.gauge("virgo_event_loop_delay_ms", "Event-loop delay, sampled", () => loop.delayMs());

  const app = createApp({
    peerId: mesh.peerId,
    registry,
    invoker,
    pool,
    net: mesh,
    metrics,
    logger: childLogger(logger, { component: "http" }),
    token: cfg.token,
    status: async () => ({
      peerId: mesh.peerId,
      http: live.http,
      addrs: mesh.addrs(),
      routing: cfg.routing,
      replicas: cfg.replicas,
      inflight: invoker.inflight(),
      functions: registry.list().length,
      peers: mesh.peers().length,
      sandbox: sandbox.stats(),
      pool: { ...pool.capacity(), ...(await pool.stats()) },
      loopDelayMs: loop.delayMs(),
      uptimeSeconds: (Date.now() - started) / 1000,
      auth: cfg.token ? "token" : "none (loopback only)",
      mesh: swarmKey ? "private (swarm key)" : "open (loopback only)",
      operator: operator?.publicKey ?? null,
    }),
  });

  const ready = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: listen.hostname,
    port: listen.port,
    onListen: (addr) => ready.resolve(addr),
    onError: (err) => {
      logger.error({ err: String(err) }, "Unhandled HTTP error");
      return internalErrorResponse();
    },
  }, app.fetch);
  const addr = await ready.promise;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const httpUrl = `http://${host}:${addr.port}`;
  live.http = httpUrl;

  let stopping: Promise<void> | undefined;
  return {
    peerId: mesh.peerId,
    url: httpUrl,
    app,
    addrs: () => mesh.addrs(),
    async deploy(name, input) {
      await registry.deploy(name, input);
    },
    functions: () => registry.list().map((m) => m.name),
    stop() {
      stopping ??= (async () => {
        // One grace period for everything in flight: HTTP calls, then calls routed here.
        const grace = AbortSignal.timeout(SHUTDOWN_GRACE_MS);
        const graceOver = new Promise<void>((r) => grace.addEventListener("abort", () => r()));
        // Peers first: they stop routing here, once they have sent what they already routed.
        await mesh.leave();
        await Promise.race([server.shutdown(), graceOver]);
        // What still arrives is refused with a code callers retry elsewhere; what runs finishes.
        await mesh.drain({ signal: grace });
        registry.stop();
        await sandbox.stop();
        await mesh.stop().catch((err) => logger.warn({ err: String(err) }, "Mesh stop failed"));
        await pool.stop();
        loop.stop();
        await db.close();
      })();
      return stopping;
    },
  };
}
