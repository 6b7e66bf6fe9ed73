/**
 * `createMesh`: assembles the libp2p node, the SWIM membership (core, wire, view), the
 * connection keeper and the stream pools into the {@link Mesh} the rest of Virgo uses.
 *
 * @module
 */
import type { Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import {
  DEFAULT_MAX_FRAME_BYTES,
  INVOKE_MAX_STREAMS_PER_PEER,
  INVOKE_PROTOCOL,
  JOIN_RETRY_MS,
  LEAVE_ACK_TIMEOUT_MS,
  MAX_PROTOCOL_STREAMS,
  MAX_RECONNECT_MEMBERS,
  MEMBER_WAIT_MS,
  NEIGHBOURS,
  OPEN_STREAM_TIMEOUT_MS,
  RECONNECT_FOR_MS,
  RECONNECT_MS,
  RPC_MAX_STREAMS_PER_PEER,
} from "./constants.ts";
import { Connections } from "./connections.ts";
import { MeshError } from "./errors.ts";
import { asIncoming, asResponse, invokeCall, serveInvokeStream } from "./invoke.ts";
import { checkJoin } from "./join.ts";
import { loadOrCreatePeerKey } from "./key.ts";
import { announceLeave, serveLeave } from "./leave.ts";
import { MeshView } from "./membership.ts";
import { encodeLoad, fromLoadWire, toLoadWire } from "./meta.ts";
import { createNode, type VirgoNode } from "./node.ts";
import { StreamPool } from "./pool.ts";
import { InFlight } from "./_inflight.ts";
import { rpcCall, serveRpcStream } from "./rpc.ts";
import { createSwim, type Swim } from "./swim/mod.ts";
import { SwimWire } from "./swim_wire.ts";
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
  /** The SWIM core (undefined until started). */
  readonly swim: Swim | undefined;
  /** Pool statistics: streams currently open/idle and opened in total. */
  poolStats(): { rpc: ReturnType<StreamPool["stats"]>; invoke: ReturnType<StreamPool["stats"]> };
  /** The connection keeper (tests trim on demand). */
  readonly connections: Connections;
}

/** What a peer reports before anything samples its load. */
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

/** Join addresses grouped by the peer id they end in (`/p2p/<id>`). */
function seedsOf(join: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const a of join) {
    const id = /\/p2p\/([^/]+)$/.exec(a)?.[1];
    if (id !== undefined) out.set(id, [...out.get(id) ?? [], a]);
  }
  return out;
}

/**
 * Build a peer: load or create its key and its libp2p node; then, unless
 * `init.start` is false, start it (listen, join, run SWIM).
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
    mdns: init.mdns,
    ...(init.swarmKey === undefined ? {} : { swarmKey: init.swarmKey }),
  });
  const self = node.peerId.toString();
  const bootstrap = seedsOf(init.join);
  let sample = init.localLoad ?? idleLoad;
  // Built at start, once our listen addresses are known.
  let swim: Swim | undefined;
  const view = new MeshView({
    logger,
    connected: (id) => node.getConnections().some((c) => c.remotePeer.toString() === id),
  });
  const connections = new Connections({
    node,
    bootstrap,
    members: () => swim?.alive().filter((m) => m.state === "alive") ?? [],
    logger,
  });
  const wire = new SwimWire({
    node,
    logger,
    touch: (id) => connections.touch(id),
    known: (id) => swim?.get(id) !== undefined,
  });
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
  // Invokes this peer serves for others; once draining (since `drainingSince`), new ones are
  // refused.
  const serving = new InFlight();
  let draining = false;
  let drainingSince = Infinity;
  let leaving: Promise<void> | undefined;
  const timers: Array<ReturnType<typeof setInterval>> = [];

  const open = async (peerId: string, protocol: string, signal?: AbortSignal): Promise<Stream> => {
    connections.touch(peerId);
    let id;
    try {
      id = peerIdFromString(peerId);
    } catch {
      throw new MeshError("PEER_UNKNOWN", `Unknown peer: ${peerId}`);
    }
    const timeout = AbortSignal.timeout(OPEN_STREAM_TIMEOUT_MS);
    // Members are known by SWIM, not necessarily by libp2p's peer store: dial on demand.
    const addrs = swim?.get(peerId)?.addrs ?? [];
    if (addrs.length > 0 && node.getConnections(id).length === 0) {
      await node.peerStore.merge(id, { multiaddrs: addrs.map((a) => multiaddr(a)) })
        .catch(() => {});
    }
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
  // memory blocks, invokes): only a current member — a peer SWIM holds alive or suspect, which
  // joined by a sync over a connection that in a private mesh proved the swarm key — is served.
  // A peer that has just joined through another member may call us before that news reaches
  // us: a caller we do not know is asked for its state (a sync, as a join), and served if it
  // turns out a member within MEMBER_WAIT_MS.
  const joining = new Map<string, Promise<boolean>>();
  const becomesMember = (from: string): Promise<boolean> => {
    let p = joining.get(from);
    if (p === undefined) {
      p = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          off();
          resolve(view.has(from));
        }, MEMBER_WAIT_MS);
        const off = view.onMembership((ev) => {
          if (ev.type !== "join" || ev.peerId !== from) return;
          clearTimeout(timer);
          off();
          resolve(true);
        });
        swim?.join([{ id: from, addrs: [] }]);
      }).finally(() => joining.delete(from));
      joining.set(from, p);
    }
    return p;
  };
  const member = async (from: string, what: string): Promise<void> => {
    connections.touch(from);
    if (view.has(from) || await becomesMember(from)) return;
    logger.warn({ from, protocol: what }, "Refused a frame from a peer that is not a mesh member");
    throw new MeshError("NOT_MEMBER", `Not a member of this mesh: ${from}`);
  };
  const streamLimits = {
    maxInboundStreams: MAX_PROTOCOL_STREAMS,
    maxOutboundStreams: MAX_PROTOCOL_STREAMS,
  };

  await wire.register((from, msg) => swim?.receive(from, msg));
  await serveLeave(node, {
    member: (id) => view.has(id),
    leaving: (id) => view.markLeaving(id),
    settle: (id) =>
      unsent.get(id)?.idle(AbortSignal.timeout(LEAVE_ACK_TIMEOUT_MS)) ?? Promise.resolve(),
  }, logger);
  node.addEventListener("peer:disconnect", (evt) => view.disconnected(evt.detail.toString()));
  // mDNS finds LAN peers: ask each one we do not know for a sync (a join), never dial them all.
  node.addEventListener("peer:discovery", (evt) => {
    const id = evt.detail.id.toString();
    if (swim === undefined || id === self || swim.get(id) !== undefined) return;
    swim.join([{ id, addrs: evt.detail.multiaddrs.map((a) => a.toString()) }]);
  });

  let started: Promise<void> | undefined;
  let stopped = false;
  // Rendering our own multiaddrs is costly (address manager, multiaddr to
  // string) and peers() runs on every routed call: keep them until they change.
  let selfAddrs: string[] | undefined;
  node.addEventListener("self:peer:update", () => (selfAddrs = undefined));
  const selfInfo = (): PeerInfo => ({
    ...sample(),
    peerId: self,
    self: true,
    incarnation: swim?.incarnation ?? 0,
    ageMs: 0,
    addrs: mesh.addrs(),
    ...(leaving === undefined ? {} : { leaving: true as const }),
  });
  const mesh: MeshInternals = {
    peerId: self,
    node,
    get swim() {
      return swim;
    },
    connections,
    addrs: () => (selfAddrs ??= node.getMultiaddrs().map((a) => a.toString())),
    peers: () => [selfInfo(), ...view.list()],
    sample: () => [selfInfo(), ...view.sample()],
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
            async (req, from) => {
              await member(from, protocol);
              return await handler(req, from);
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
        (stream, conn) => {
          // A caller opens an invoke stream only to send a call: one opened before this peer
          // began draining carries a call routed here before its leave was acknowledged (the
          // stream's data comes in ahead of the acknowledgement), so that first call is served,
          // however late its head is read; any later call on the stream is new, and refused.
          let routedBefore = stream.timeline.open < drainingSince;
          return serveInvokeStream(
            stream,
            conn.remotePeer.toString(),
            async (call, from) => {
              // Decided as the head is read, before anything is awaited.
              const refuse = draining && !routedBefore;
              routedBefore = false;
              await member(from, INVOKE_PROTOCOL);
              if (refuse) {
                throw new MeshError("SHUTTING_DOWN", `Peer ${self} is leaving the mesh`);
              }
              return await handler(call, from);
            },
            logger,
            { track: () => serving.begin(), load: () => toLoadWire(sample()) },
          );
        },
        streamLimits,
      );
    },
    async invoke(peerId, req, opts = {}) {
      if (peerId === self) {
        if (invokeHandler === undefined) {
          throw new MeshError("PEER_FAILED", "No local invoke handler");
        }
        return asResponse(await invokeHandler(asIncoming(req), self));
      }
      const sent = beginSend(peerId);
      try {
        return await invokeCall(invokePool, peerId, req, {
          ...opts,
          onHeadSent: sent,
          onLoad: (wire) => {
            const load = fromLoadWire(wire);
            if (load !== undefined) view.heard(peerId, load);
          },
        });
      } finally {
        sent();
      }
    },
    leave() {
      return leaving ??= (async () => {
        swim?.leave();
        await announceLeave(node, AbortSignal.timeout(LEAVE_ACK_TIMEOUT_MS), logger);
        logger.info({ peerId: self }, "left the mesh's routing");
      })();
    },
    async drain(opts = {}) {
      if (!draining) drainingSince = Date.now();
      draining = true;
      await serving.idle(opts.signal);
    },
    poolStats: () => ({ rpc: rpcPool.stats(), invoke: invokePool.stats() }),
    stats: () => ({
      swim: {
        ...(swim?.stats ?? { sent: 0, sentBytes: 0, received: 0, receivedBytes: 0 }),
        sentByType: { ...wire.stats.sent },
      },
      connectionsOpened: connections.opened,
      connections: connections.count(),
      neighbours: connections.neighbours().length,
      members: view.list().length + 1,
    }),
    start() {
      return started ??= (async () => {
        await node.start();
        try {
          await checkJoin(node, init.join, init.swarmKey !== undefined, logger);
        } catch (err) {
          await node.stop();
          throw err;
        }
        swim = createSwim({
          self: { id: self, addrs: mesh.addrs() },
          transport: wire,
          meta: () => encodeLoad(sample()),
          // Boot time: a restarted peer (same key) comes back above its former self.
          incarnation: Date.now(),
          logger,
        });
        view.attach(swim);
        wire.start();
        swim.start();
        connections.start();
        // Neighbours are chosen from the members: pick them as soon as there are some.
        view.onMembership((ev) => {
          if (ev.type === "join" && connections.neighbours().length < NEIGHBOURS) {
            connections.soon();
          }
        });
        const seeds = () => [...bootstrap].map(([id, addrs]) => ({ id, addrs }));
        for (const id of bootstrap.keys()) connections.dialBootstrap(id);
        if (bootstrap.size > 0) swim.join(seeds());
        // Until this peer knows another member, keep asking the join addresses (they may
        // start after it); afterwards SWIM keeps it in, and syncs again if it is declared dead.
        timers.push(setInterval(() => {
          view.sweep();
          if (swim !== undefined && swim.alive().length === 0 && bootstrap.size > 0) {
            swim.join(seeds());
          }
        }, JOIN_RETRY_MS));
        // Members found dead (not left), remembered past SWIM's own retention (a bounded
        // list, for RECONNECT_FOR_MS): one is asked for a sync every RECONNECT_MS, so two sides
        // of a partition, or a member wrongly declared dead on a starved box, find each other.
        const lost = new Map<string, { addrs: string[]; at: number }>();
        swim.onEvent((ev) => {
          if (ev.type === "join") lost.delete(ev.member.id);
          else if (ev.type === "leave" && ev.member.state === "dead") {
            lost.delete(ev.member.id);
            lost.set(ev.member.id, { addrs: ev.member.addrs, at: Date.now() });
            for (const id of lost.keys()) {
              if (lost.size <= MAX_RECONNECT_MEMBERS) break;
              lost.delete(id);
            }
          }
        });
        timers.push(setInterval(() => {
          if (swim === undefined || leaving !== undefined) return;
          const now = Date.now();
          const candidates: Array<{ id: string; addrs: string[] }> = [];
          for (const [id, l] of lost) {
            if (now - l.at > RECONNECT_FOR_MS) lost.delete(id);
            else if (l.addrs.length > 0) candidates.push({ id, addrs: l.addrs });
          }
          for (const [id, addrs] of bootstrap) {
            const m = swim.get(id);
            if (m === undefined || m.state === "dead") candidates.push({ id, addrs });
          }
          const pick = candidates[Math.floor(Math.random() * candidates.length)];
          if (pick !== undefined) swim.join([pick]);
        }, RECONNECT_MS));
        for (const t of timers) Deno.unrefTimer(t as unknown as number);
        logger.info({ peerId: self, addrs: mesh.addrs() }, "mesh started");
      })();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const t of timers) clearInterval(t);
      swim?.stop();
      wire.stop();
      connections.stop();
      rpcPool.close();
      invokePool.close();
      await node.stop();
      logger.info({ peerId: self }, "mesh stopped");
    },
  };
  if (init.start !== false) await mesh.start();
  return mesh;
}
