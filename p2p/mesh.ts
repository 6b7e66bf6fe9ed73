/**
 * `createMesh`: assembles the libp2p node, the dialer, load gossip, the view
 * and the stream pools into the {@link Mesh} the rest of Virgo uses.
 *
 * @module
 */
import type { Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import {
  DEFAULT_MAX_FRAME_BYTES,
  INVOKE_MAX_STREAMS_PER_PEER,
  INVOKE_PROTOCOL,
  LEAVE_ACK_TIMEOUT_MS,
  MAX_PROTOCOL_STREAMS,
  OPEN_STREAM_TIMEOUT_MS,
  RPC_MAX_STREAMS_PER_PEER,
} from "./constants.ts";
import { Dialer } from "./dialer.ts";
import { MeshError } from "./errors.ts";
import { LoadGossip } from "./gossip.ts";
import { invokeCall, serveInvokeStream } from "./invoke.ts";
import { checkJoin } from "./join.ts";
import { loadOrCreatePeerKey } from "./key.ts";
import { MembershipView, toPeerInfo } from "./membership.ts";
import { createNode, type VirgoNode } from "./node.ts";
import { StreamPool } from "./pool.ts";
import { InFlight } from "./_inflight.ts";
import { rpcCall, serveRpcStream } from "./rpc.ts";
import type {
  InvokeHandler,
  LocalLoad,
  Mesh,
  MeshInit,
  PeerInfo,
  RequestHandler,
} from "./types.ts";

/** A {@link Mesh} with extra handles for tests and benchmarks. */
export interface MeshInternals extends Mesh {
  /** The libp2p node (tests use it to act as a raw client). */
  readonly node: VirgoNode;
  /** Pool statistics: streams currently open/idle and opened in total. */
  poolStats(): { rpc: ReturnType<StreamPool["stats"]>; invoke: ReturnType<StreamPool["stats"]> };
  /** Load-topic byte counters. */
  gossipStats(): LoadGossip["stats"];
}

/** What a peer gossips before anything samples its load. */
function idleLoad(): LocalLoad {
  return {
    inflight: 0,
    queued: 0,
    cores: navigator.hardwareConcurrency,
    loopDelayMs: 0,
    poolTotalBytes: 0,
    poolFreeBytes: 0,
    catalog: { digest: "", count: 0 },
  };
}

/**
 * Build a peer: load or create its key and its libp2p node; then, unless
 * `init.start` is false, start it (listen, join, gossip load).
 *
 * @example
 * ```ts
 * const mesh = await createMesh({ dataDir: ".virgo/a", listen: ["/ip4/127.0.0.1/tcp/0"], join: [],
 *   mdns: false, logger, start: false });
 * mesh.setLoadSampler(() => load);
 * await mesh.start();
 * console.log(mesh.peerId, mesh.addrs());
 * await mesh.stop();
 * ```
 */
export async function createMesh(init: MeshInit): Promise<MeshInternals> {
  const { logger } = init;
  const privateKey = await loadOrCreatePeerKey(init.dataDir);
  const node = await createNode({
    privateKey,
    listen: init.listen,
    join: init.join,
    mdns: init.mdns,
    ...(init.swarmKey === undefined ? {} : { swarmKey: init.swarmKey }),
  });
  const self = node.peerId.toString();
  const view = new MembershipView({ logger });
  const bootstrapIds = new Set(
    init.join.map((a) => /\/p2p\/([^/]+)/.exec(a)?.[1]).filter((x): x is string => !!x),
  );
  const dialer = new Dialer({ node, bootstrapIds, logger });
  let sample = init.localLoad ?? idleLoad;
  // Invokes to each peer whose head is not yet on its way: a peer that says it is leaving
  // is acknowledged only once they are, so it is sure to see every call routed to it before.
  const unsent = new Map<string, InFlight>();
  const beginSend = (peerId: string): () => void => {
    let calls = unsent.get(peerId);
    if (calls === undefined) unsent.set(peerId, calls = new InFlight());
    const end = calls.begin();
    return () => {
      end();
      if (calls.size === 0 && unsent.get(peerId) === calls) unsent.delete(peerId);
    };
  };
  const gossip = new LoadGossip({
    node,
    view,
    localLoad: () => sample(),
    learn: (peerId, addrs) => void dialer.learn(peerId, addrs),
    settle: (peerId) =>
      unsent.get(peerId)?.idle(AbortSignal.timeout(LEAVE_ACK_TIMEOUT_MS)) ?? Promise.resolve(),
    logger,
  });
  // Invokes this peer serves for others; once draining, new ones are refused.
  const serving = new InFlight();
  let draining = false;
  let leaving: Promise<void> | undefined;

  const open = async (peerId: string, protocol: string, signal?: AbortSignal): Promise<Stream> => {
    let id;
    try {
      id = peerIdFromString(peerId);
    } catch {
      throw new MeshError("PEER_UNKNOWN", `Unknown peer: ${peerId}`);
    }
    const timeout = AbortSignal.timeout(OPEN_STREAM_TIMEOUT_MS);
    try {
      return await node.dialProtocol(id, protocol, {
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
        maxOutboundStreams: MAX_PROTOCOL_STREAMS,
      });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if ((err as Error).name === "NoValidAddressesError") {
        throw new MeshError("PEER_UNKNOWN", `Unknown peer: ${peerId}: no known address`, {
          cause: err,
        });
      }
      throw new MeshError(
        "PEER_FAILED",
        `Cannot open ${protocol} to ${peerId}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  };
  const rpcPool = new StreamPool({ open, maxPerPeer: RPC_MAX_STREAMS_PER_PEER, logger });
  const invokePool = new StreamPool({ open, maxPerPeer: INVOKE_MAX_STREAMS_PER_PEER, logger });
  const handlers = new Map<string, { handler: RequestHandler; maxBytes: number }>();
  let invokeHandler: InvokeHandler | undefined;
  // Every protocol changes or reveals state (catalogue, bundles, KV writes, hints, rebalance,
  // memory blocks, invokes): only a current member — a peer whose load record we hold, which in
  // a private mesh also proved the swarm key — is served. A peer that just connected is a member
  // as soon as its hello arrives, the first thing either side sends.
  const member = (from: string, what: string): void => {
    if (!view.has(from)) {
      logger.warn(
        { from, protocol: what },
        "Refused a frame from a peer that is not a mesh member",
      );
      throw new MeshError("NOT_MEMBER", `Not a member of this mesh: ${from}`);
    }
  };
  const streamLimits = {
    maxInboundStreams: MAX_PROTOCOL_STREAMS,
    maxOutboundStreams: MAX_PROTOCOL_STREAMS,
  };

  await gossip.register();

  let started: Promise<void> | undefined;
  let stopped = false;
  // Rendering our own multiaddrs is costly (address manager, multiaddr to
  // string) and peers() runs on every routed call: keep them until they change.
  let selfAddrs: string[] | undefined;
  node.addEventListener("self:peer:update", () => (selfAddrs = undefined));
  const mesh: MeshInternals = {
    peerId: self,
    node,
    addrs: () => (selfAddrs ??= node.getMultiaddrs().map((a) => a.toString())),
    peers(): PeerInfo[] {
      const me = toPeerInfo(
        {
          v: 1,
          peerId: self,
          seq: gossip.seq,
          at: Date.now(),
          ...sample(),
          addrs: mesh.addrs(),
          ...(gossip.leaving ? { leaving: true as const } : {}),
        },
        true,
        0,
      );
      return [me, ...view.list()];
    },
    setLoadSampler(s) {
      sample = s;
    },
    onMembership: (cb) => view.onMembership(cb),
    async publish(topic, data) {
      await node.services.pubsub.publish(topic, data);
    },
    subscribe(topic, handler) {
      node.services.pubsub.subscribe(topic);
      node.services.pubsub.addEventListener("message", (evt) => {
        const msg = evt.detail;
        if (msg.topic !== topic || msg.type !== "signed") return;
        const from = msg.from.toString();
        if (!view.has(from)) {
          logger.warn({ from, topic }, "Dropped a message from a peer that is not a mesh member");
          return;
        }
        try {
          handler(msg.data, from);
        } catch (err) {
          logger.error({ err, topic }, "subscriber threw");
        }
      });
    },
    async handle(protocol, handler, opts) {
      const maxBytes = opts?.maxBytes ?? DEFAULT_MAX_FRAME_BYTES;
      handlers.set(protocol, { handler, maxBytes });
      await node.handle(
        protocol,
        (stream, conn) =>
          serveRpcStream(
            stream,
            conn.remotePeer.toString(),
            (req, from) => {
              member(from, protocol);
              return handler(req, from);
            },
            maxBytes,
            logger,
          ),
        streamLimits,
      );
    },
    async request(peerId, protocol, req, opts = {}) {
      if (peerId === self) {
        const local = handlers.get(protocol);
        if (local === undefined) {
          throw new MeshError("PEER_FAILED", `No local handler for ${protocol}`);
        }
        if (req.byteLength > local.maxBytes) {
          throw new MeshError(
            "FRAME_TOO_LARGE",
            `Frame too large: ${req.byteLength} > ${local.maxBytes} bytes`,
          );
        }
        return await local.handler(req, self);
      }
      return await rpcCall(rpcPool, peerId, protocol, req, opts);
    },
    async serveInvoke(handler) {
      invokeHandler = handler;
      await node.handle(
        INVOKE_PROTOCOL,
        (stream, conn) =>
          serveInvokeStream(
            stream,
            conn.remotePeer.toString(),
            (req, from) => {
              member(from, INVOKE_PROTOCOL);
              if (draining) {
                throw new MeshError("SHUTTING_DOWN", `Peer ${self} is leaving the mesh`);
              }
              return handler(req, from);
            },
            logger,
            { track: () => serving.begin() },
          ),
        streamLimits,
      );
    },
    async invoke(peerId, req, opts = {}) {
      if (peerId === self) {
        if (invokeHandler === undefined) {
          throw new MeshError("PEER_FAILED", "No local invoke handler");
        }
        return await invokeHandler(req, self);
      }
      const sent = beginSend(peerId);
      try {
        return await invokeCall(invokePool, peerId, req, { ...opts, onHeadSent: sent });
      } finally {
        sent();
      }
    },
    leave() {
      return leaving ??= gossip.leave().then(() => {
        logger.info({ peerId: self }, "left the mesh's routing");
      });
    },
    async drain(opts = {}) {
      draining = true;
      await serving.idle(opts.signal);
    },
    poolStats: () => ({ rpc: rpcPool.stats(), invoke: invokePool.stats() }),
    gossipStats: () => gossip.stats,
    start() {
      return started ??= (async () => {
        await node.start();
        dialer.start();
        gossip.start();
        try {
          await checkJoin(node, init.join, init.swarmKey !== undefined, logger);
        } catch (err) {
          gossip.stop();
          dialer.stop();
          await node.stop();
          throw err;
        }
        logger.info({ peerId: self, addrs: node.getMultiaddrs().map(String) }, "mesh started");
      })();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      gossip.stop();
      dialer.stop();
      rpcPool.close();
      invokePool.close();
      await node.stop();
      logger.info({ peerId: self }, "mesh stopped");
    },
  };
  if (init.start !== false) await mesh.start();
  return mesh;
}
