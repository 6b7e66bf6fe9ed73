/**
 * The mesh's public types (see docs/architecture.md, section `p2p/`).
 *
 * @module
 */

import type { Logger, Startable } from "../core/mod.ts";

/** The one logger type of Virgo (`core/logger.ts`), which every component takes. */
export type { Logger };

/**
 * What a peer tells others about itself: sampled for each SWIM ping and ack it sends and each
 * invoke it answers (`p2p/meta.ts` encodes it in at most 256 bytes).
 *
 * @example
 * ```ts
 * const load: LocalLoad = { inflight: 0, queued: 0, cores: 2, loopDelayMs: 0,
 *   poolTotalBytes: 1 << 30, poolFreeBytes: 1 << 30, catalog: { digest: "", count: 0 } };
 * ```
 */
export interface LocalLoad {
  inflight: number;
  queued: number;
  cores: number;
  loopDelayMs: number;
  poolTotalBytes: number;
  poolFreeBytes: number;
  /** A fixed-size summary of the function catalogue this peer holds. */
  catalog: { digest: string; count: number };
  /** The peer's HTTP base URL, for humans. */
  http?: string;
}

/**
 * One member of the live view: the last load heard from it directly (its SWIM meta or an
 * invoke response), plus bookkeeping.
 */
export interface PeerInfo extends LocalLoad {
  peerId: string;
  /** True for this peer's own entry (always first in `peers()`). */
  self: boolean;
  /** The member's SWIM incarnation (its boot time, raised to refute a suspicion). */
  incarnation: number;
  /**
   * Milliseconds since its load was heard (0 for self); `Infinity` (JSON `null`) while none
   * was, and the load fields are then placeholders (zeros, one core).
   */
  ageMs: number;
  /** The peer's multiaddrs with `/p2p/<id>`. */
  addrs: string[];
  /**
   * The peer is leaving the mesh (a graceful stop): routers pick it no more,
   * yet it stays a member (its frames are served) until it disconnects.
   */
  leaving?: true;
  /** SWIM suspects the peer failed (a probe went unanswered): routers avoid it while others can run the call. */
  suspect?: true;
}

/** Membership change: SWIM found a peer alive (join), or dead or gone after its leave (leave). */
export interface MembershipEvent {
  type: "join" | "leave";
  peerId: string;
}

/**
 * Options of {@link createMesh}.
 *
 * @example
 * ```ts
 * const init: MeshInit = { dataDir: ".virgo/a", listen: ["/ip4/127.0.0.1/tcp/0"], join: [],
 *   mdns: false, localLoad: () => load, logger };
 * ```
 */
export interface MeshInit {
  /** The peer key is kept in `<dataDir>/peer.key`. */
  dataDir: string;
  /** Listen multiaddrs, e.g. `["/ip4/127.0.0.1/tcp/0"]`. */
  listen: string[];
  /** Bootstrap multiaddrs (with `/p2p/<id>`). */
  join: string[];
  /** Discover LAN peers with mDNS. */
  mdns: boolean;
  /** Contents of a libp2p `swarm.key` file: only peers with the same key can connect. */
  swarmKey?: Uint8Array;
  /**
   * Sampled for each SWIM ping and ack, each invoke answered and each `peers()`;
   * {@link Mesh.setLoadSampler} replaces it.
   * @default {an idle peer with nothing in its pool}
   */
  localLoad?: () => LocalLoad;
  logger: Logger;
  /**
   * Start at once, as libp2p's `createLibp2p` does; `false` builds the mesh unstarted, so the
   * parts that feed its load can be built on it before `start()`.
   * @default {true}
   */
  start?: boolean;
}

/** A protocol handler for {@link Mesh.handle}: the request bytes and the caller's peer id in, reply bytes out. */
export type RequestHandler = (req: Uint8Array, from: string) => Promise<Uint8Array>;

/**
 * A handler for {@link Mesh.serveInvoke}: runs a call for a remote caller. It gets the call as
 * it crossed the mesh, not a `Request` (building one checks and copies every header again);
 * `requestHandler` (`p2p/invoke.ts`) adapts a handler of `Request`s.
 */
export type InvokeHandler = (
  call: IncomingCall,
  from: string,
) => Promise<Response | OutgoingResponse>;

/**
 * An answer to send back as its parts, without building a `Response`: headers as `Headers`
 * accepts them (the caller checks them again), a status a Response may have.
 *
 * @example
 * ```ts
 * const res: OutgoingResponse = { status: 200, headers: [["content-type", "text/plain"]], body: null };
 * ```
 */
export interface OutgoingResponse {
  status: number;
  headers: [string, string][];
  /** `null`: no body (always for 204, 205 and 304). */
  body: ReadableStream<Uint8Array> | Uint8Array | null;
}

/**
 * A call from another peer, as its head was checked on arrival (`decodeRequestHead`): a method
 * token, a URL string not parsed yet (an invalid one is the handler's to refuse), header pairs
 * that `Headers` accepts (names not lower-cased by us: the caller's `Headers` did).
 *
 * @example
 * ```ts
 * await mesh.serveInvoke((call) => Promise.resolve(new Response(call.method)));
 * ```
 */
export interface IncomingCall {
  method: string;
  url: string;
  headers: [string, string][];
  /** `null`: no body at all (always for GET and HEAD). */
  body: ReadableStream<Uint8Array> | null;
}

/**
 * A call to send to another peer: what its `Request` would carry, without
 * building one (a caller that adds headers to a request it received would
 * otherwise copy and re-validate every header twice).
 *
 * @example
 * ```ts
 * await mesh.invoke(peerId, { method: "GET", url: "http://fn/hello", headers: [["x-a", "1"]], body: null });
 * ```
 */
export interface OutgoingCall {
  method: string;
  url: string;
  /** Header pairs as `Headers` iterates them (lowercase names); checked at the receiving peer. */
  headers: [string, string][];
  /** `null`: no body at all (a GET or HEAD never has one). */
  body: ReadableStream<Uint8Array> | Uint8Array | null;
}

/**
 * A peer in the Virgo mesh: membership with load, generic request/response,
 * remote invoke and pub/sub. Handlers may be registered before `start()`.
 */
export interface Mesh extends Startable {
  readonly peerId: string;
  /** Listen multiaddrs with `/p2p/<id>`, to give to other peers as `join`. */
  addrs(): string[];
  /** Live view, self first: every member of the mesh. */
  peers(): PeerInfo[];
  /**
   * The routing sample, self first: the members whose load was heard most recently (at most
   * `LOAD_SAMPLE_SIZE`, heard within `LOAD_SAMPLE_MAX_AGE_MS`), none leaving or suspect.
   */
  sample(): PeerInfo[];
  /** Sets how this peer samples its own load (sent to others, and first in `peers()`). */
  setLoadSampler(sample: () => LocalLoad): void;
  /** Subscribe to join/leave; returns an unsubscribe function. */
  onMembership(cb: (ev: MembershipEvent) => void): () => void;
  publish(topic: string, data: Uint8Array): Promise<void>;
  subscribe(topic: string, handler: (data: Uint8Array, from: string) => void): void;
  /** Serve a unary request/response protocol. `maxBytes` bounds requests (default 4 MiB). */
  handle(protocol: string, handler: RequestHandler, opts?: { maxBytes?: number }): Promise<void>;
  /** Call a peer's protocol handler over a pooled stream. `maxBytes` bounds the reply. */
  request(
    peerId: string,
    protocol: string,
    req: Uint8Array,
    opts?: { signal?: AbortSignal; maxBytes?: number },
  ): Promise<Uint8Array>;
  serveInvoke(handler: InvokeHandler): Promise<void>;
  invoke(
    peerId: string,
    req: Request | OutgoingCall,
    opts?: { signal?: AbortSignal },
  ): Promise<Response>;
  /**
   * Tell the mesh this peer is leaving: every peer drops it from routing at
   * once, and it stays a member until it disconnects. Resolves when each
   * connected peer has acknowledged — having first sent the calls it had
   * already routed here — or after `LEAVE_ACK_TIMEOUT_MS`. Idempotent.
   */
  leave(): Promise<void>;
  /**
   * Refuse new invokes with `SHUTTING_DOWN` (callers may retry elsewhere) and
   * resolve once the invokes being served have ended, or when `signal` aborts.
   */
  drain(opts?: { signal?: AbortSignal }): Promise<void>;
  /**
   * Listens, then checks that `join` let this peer in (a peer that refuses it throws
   * `JOIN_REFUSED`, and the mesh is left stopped), and starts SWIM. Idempotent.
   */
  start(): Promise<void>;
  /** What the mesh costs: SWIM messages and bytes, open connections. */
  stats(): MeshStats;
  /** Stops SWIM and the libp2p node. Idempotent. */
  stop(): Promise<void>;
}

/** Counters of {@link Mesh.stats}. */
export interface MeshStats {
  /** SWIM messages and their encoded bytes, since start; messages sent by type. */
  swim: {
    sent: number;
    sentBytes: number;
    received: number;
    receivedBytes: number;
    sentByType: Record<string, number>;
  };
  /** Connections opened (either way) since start: what probing members we hold no connection with costs. */
  connectionsOpened: number;
  /** Peers with an open connection now. */
  connections: number;
  /** Of them, the neighbours kept open on purpose. */
  neighbours: number;
  /** Members in the view, self included. */
  members: number;
}
