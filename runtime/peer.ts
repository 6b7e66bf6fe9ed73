/**
 * One Virgo peer, assembled in one place so a reader can see every part and
 * how it is wired: LevelDB, the libp2p mesh and its router, the replicated
 * pool, the sandboxes, the function catalogue, the invoker, and the hono app
 * on `Deno.serve`. Every part is built unstarted, then started in order and
 * stopped in reverse (`core/startable.ts`); a start that fails stops what
 * had started, so nothing stays open.
 * @module
 */
import type { Hono } from "hono";
import { Lifecycle } from "../core/mod.ts";
import {
  createPool,
  MAX_MESSAGE_BYTES,
  openDatabase,
  type Pool,
  type PoolTransport,
} from "../kv/mod.ts";
import {
  createMesh,
  createRouter,
  type Mesh,
  MeshError,
  type MeshInit,
  tcpAddress,
} from "../p2p/mod.ts";
import { createSandboxPool, processMemory } from "./sandbox/mod.ts";
import { createApp } from "./app.ts";
import { checkExposure, parseHostPort, type StartConfig } from "./config.ts";
import { VirgoError } from "./errors.ts";
import { httpServer } from "./http_server.ts";
import { KV_PROTOCOL, SHUTDOWN_GRACE_MS } from "./constants.ts";
import { createInvoker, functionNameSpan } from "./invoke.ts";
import { kvBridge } from "./kv_bridge.ts";
import { childLogger, type Logger } from "./log.ts";
import { createMetrics } from "./metrics.ts";
import { createRegistry, type DeployInput, loadOperator, loadSealer } from "./catalog/mod.ts";
import { createLoopMonitor } from "./_loop.ts";
import { encodeBackup, readDataFiles } from "./backup/mod.ts";
import { createLogStore, createMeshLogs, withLogEvents } from "./logs/mod.ts";

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
 * The pool's view of the mesh (`kv/transport.ts`): its members with their
 * free pool bytes, and kv's protocol over its request/response streams.
 */
function meshTransport(mesh: Mesh): PoolTransport {
  return {
    self: mesh.peerId,
    members: () => mesh.peers().map((p) => ({ peerId: p.peerId, poolFreeBytes: p.poolFreeBytes })),
    onMembership: (cb) => mesh.onMembership(() => cb()),
    request: (peer, body, opts) =>
      mesh.request(peer, KV_PROTOCOL, body, { ...opts, maxBytes: MAX_MESSAGE_BYTES }),
    handle: (handler) => mesh.handle(KV_PROTOCOL, handler, { maxBytes: 32 * 1024 * 1024 }),
  };
}

/** The TCP port of a listen multiaddr (`/ip4/…/tcp/7878` → 7878), 0 when none is set. */
function p2pPort(addr: string): number {
  return tcpAddress(addr)?.port ?? 0;
}

/**
 * `host:port` entries naming this peer's own listeners on every address it has: a peer bound to
 * 0.0.0.0 is reachable at each interface's address, and a function allowed private ranges must
 * still not reach its own peer's API or mesh port. (Loopback is denied as a whole anyway.)
 */
function ownAddresses(host: string, ports: number[]): string[] {
  const hosts = new Set([host]);
  if (host === "0.0.0.0" || host === "::") {
    try {
      for (const i of Deno.networkInterfaces()) if (!i.address.includes("%")) hosts.add(i.address);
    } catch { /* no interface list: the wildcard entry still stands */ }
  }
  const out: string[] = [];
  for (const h of hosts) {
    for (const port of ports) {
      if (port > 0) out.push(h.includes(":") ? `[${h}]:${port}` : `${h}:${port}`);
    }
  }
  return out;
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

  // Building the parts opens nothing (the mesh is built unstarted) but LevelDB, which opens as
  // it is built: it is the first part, so it closes last, and a later failed start closes it.
  const meshInit: MeshInit = {
    dataDir: cfg.data,
    listen: [cfg.p2p],
    join: cfg.join,
    mdns: cfg.mdns,
    logger: childLogger(logger, { component: "mesh" }),
    start: false,
  };
  if (swarmKey) meshInit.swarmKey = swarmKey;
  const mesh = await createMesh(meshInit);
  const router = createRouter(mesh);
  const db = await openDatabase(`${cfg.data}/db`);
  const loop = createLoopMonitor();
  const pool: Pool = createPool({
    db,
    replicas: cfg.replicas,
    joining: cfg.join.length > 0,
    poolBytes: cfg.poolMb * 1024 * 1024,
    logger: childLogger(logger, { component: "kv" }),
    transport: meshTransport(mesh),
  });
  const logStore = createLogStore();
  const logs = createMeshLogs({
    net: mesh,
    store: logStore,
    logger: childLogger(logger, { component: "logs" }),
  });
  const sandbox = createSandboxPool({
    peerId: mesh.peerId,
    logger: childLogger(logger, { component: "sandbox" }),
    onLog: (line) => logStore.append(line),
    kv: (namespace, op) => kvBridge(pool, namespace, op),
    denyNet: ownAddresses(listen.hostname, [listen.port, p2pPort(cfg.p2p)]),
    spares: cfg.spares,
    maxWarm: cfg.maxWarm,
  });
  const registry = withLogEvents(
    createRegistry({
      db,
      sandbox,
      net: mesh,
      logger: childLogger(logger, { component: "catalog" }),
      sealer,
      operator,
      keepVersions: cfg.keepVersions,
    }),
    logStore,
  );
  const metrics = createMetrics({ pool });
  const invoker = createInvoker({
    registry,
    sandbox,
    net: mesh,
    router,
    routing: cfg.routing,
    logger: childLogger(logger, { component: "invoke" }),
    metrics,
  });

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
  metrics.gauge(
    "virgo_process_pss_bytes",
    "Proportional memory of the peer process (PSS: shared pages divided among their sharers)",
    async () => (await processMemory("self"))?.pssBytes ?? NaN,
  );
  metrics.gauge(
    "virgo_process_uss_bytes",
    "Unique memory of the peer process (USS: pages no other process maps)",
    async () => (await processMemory("self"))?.ussBytes ?? NaN,
  );
  metrics.gauge(
    "virgo_sandbox_pss_bytes",
    "PSS of this peer's function processes, spares included, summed",
    async () => (await sandbox.memoryStats()).memory?.pssBytes ?? NaN,
  );

  /**
   * The sandbox's figures with each process's RSS, PSS and USS, and this peer's own: PSS is what
   * to add up (shared pages of the Deno binary counted once), USS what ending a process frees.
   */
  const memoryStatus = async () => {
    const [self, sb] = await Promise.all([processMemory("self"), sandbox.memoryStats()]);
    const { heapUsed, heapTotal, external } = Deno.memoryUsage();
    return {
      sandbox: sb,
      memory: {
        ...self,
        heapUsedBytes: heapUsed,
        heapTotalBytes: heapTotal,
        externalBytes: external,
        // The peer and its function processes together.
        totalPssBytes: self && sb.memory ? self.pssBytes + sb.memory.pssBytes : undefined,
      },
    };
  };

  const app = createApp({
    peerId: mesh.peerId,
    registry,
    invoker,
    pool,
    net: mesh,
    metrics,
    logger: childLogger(logger, { component: "http" }),
    logs,
    token: cfg.token,
    backup: async () => ({
      peerId: mesh.peerId,
      body: encodeBackup({
        peerId: mesh.peerId,
        files: await readDataFiles(cfg.data),
        entries: db.dump(),
      }),
    }),
    status: async () => ({
      peerId: mesh.peerId,
      http: http.url,
      addrs: mesh.addrs(),
      routing: cfg.routing,
      replicas: cfg.replicas,
      inflight: invoker.inflight(),
      functions: registry.list().length,
      peers: mesh.peers().length,
      membership: mesh.stats(),
      ...await memoryStatus(),
      pool: { ...pool.capacity(), ...(await pool.stats()) },
      loopDelayMs: loop.delayMs(),
      uptimeSeconds: (Date.now() - started) / 1000,
      auth: cfg.token ? "token" : "none (loopback only)",
      mesh: swarmKey ? "private (swarm key)" : "open (loopback only)",
      operator: operator?.publicKey ?? null,
    }),
  });

  // One grace period for everything in flight when the peer stops — HTTP calls, then calls
  // routed here — from the moment it begins to stop.
  let graceSignal: AbortSignal | undefined;
  const grace = () => graceSignal ??= AbortSignal.timeout(SHUTDOWN_GRACE_MS);
  const http = httpServer({ address: cfg.http, handler: app.fetch, logger, grace });

  mesh.setLoadSampler(() => {
    const cap = pool.capacity();
    return {
      inflight: sandbox.inflight(),
      queued: sandbox.queued(),
      cores: navigator.hardwareConcurrency,
      loopDelayMs: loop.delayMs(),
      poolTotalBytes: cap.totalBytes,
      poolFreeBytes: cap.freeBytes,
      catalog: registry.digest(),
      http: http.url,
    };
  });

  // Started in this order, stopped in reverse: peers first learn this peer is leaving (the
  // mesh's beforeStop), then HTTP stops, routed calls drain, and the rest closes.
  const parts = new Lifecycle([
    { start() {}, stop: () => db.close() }, // opened above
    loop,
    pool,
    {
      start: () => mesh.start(),
      // Peers stop routing here, once they have sent what they already routed.
      beforeStop: () => mesh.leave(),
      stop: () => mesh.stop().catch((err) => logger.warn({ err: String(err) }, "Mesh stop failed")),
    },
    sandbox,
    registry,
    logs,
    {
      start: () =>
        mesh.serveInvoke((call) => {
          // Parsed once here (as a Request would be): the function sees the URL's normal form.
          let url: URL;
          try {
            url = new URL(call.url);
          } catch (err) {
            throw new MeshError("BAD_FRAME", `Bad frame: not a request: ${(err as Error).message}`);
          }
          // The name as the caller's routes read it: decoded, or as it is when it will not decode
          // (as hono does), never a throw.
          const span = functionNameSpan(url.href);
          let name = span ? url.href.slice(span[0], span[1]) : "";
          try {
            name = decodeURIComponent(name);
          } catch { /* kept as it is */ }
          return invoker.serve(
            { method: call.method, url: url.href, headers: call.headers, body: call.body },
            name,
          );
        }),
      // What still arrives is refused with a code callers retry elsewhere; what runs finishes.
      stop: () => mesh.drain({ signal: grace() }),
    },
    http,
  ]);
  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      grace();
      await parts.stop();
    })();
  try {
    await parts.start();
  } catch (err) {
    await stop().catch((e) => logger.warn({ err: String(e) }, "Closing after a failed start"));
    throw err;
  }

  return {
    peerId: mesh.peerId,
    url: http.url,
    app,
    addrs: () => mesh.addrs(),
    async deploy(name, input) {
      await registry.deploy(name, input);
    },
    functions: () => registry.list().map((m) => m.name),
    stop,
  };
}
