/**
 * The mesh's public types (see docs/architecture.md, section `p2p/`).
 *
 * @module
 */

import type { Logger, Startable } from "../core/mod.ts";

/** The one logger type of Virgo (`core/logger.ts`), which every component takes. */
export type { Logger };

/**
 * What a peer gossips about itself, sampled every gossip interval.
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
  /**
   * A fixed-size digest of the peer's function catalogue and its entry count: peers whose
   * digests differ reconcile their catalogues; the list itself never travels in the record.
   */
  catalog: { digest: string; count: number };
  /** The peer's HTTP base URL, for humans. */
  http?: string;
}

/** One member of the live view: its last load record plus bookkeeping. */
export interface PeerInfo extends LocalLoad {
  peerId: string;
  /** True for this peer's own entry (always first in `peers()`). */
  self: boolean;
  /** Sequence number of the record (monotonic across restarts). */
  seq: number;
  /** Milliseconds since the record was received (0 for self). */
  ageMs: number;
  /** The peer's multiaddrs with `/p2p/<id>`. */
  addrs: string[];
  /**
   * The peer is leaving the mesh (a graceful stop): routers pick it no more,
   * yet it stays a member (its frames are served) until it disconnects.
   */
  leaving?: true;
}

/** Membership change: a peer's first record arrived, or it expired/disconnected. */
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
   * Sampled every gossip interval and on `peers()`; {@link Mesh.setLoadSampler} replaces it.
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

/** A handler for {@link Mesh.serveInvoke}: runs a request for a remote caller. */
export type InvokeHandler = (req: Request, from: string) => Promise<Response>;

/**
 * A peer in the Virgo mesh: membership with load, generic request/response,
 * remote invoke and pub/sub. Handlers may be registered before `start()`.
 */
export interface Mesh extends Startable {
  readonly peerId: string;
  /** Listen multiaddrs with `/p2p/<id>`, to give to other peers as `join`. */
  addrs(): string[];
  /** Live view, self first. */
  peers(): PeerInfo[];
  /** Sets how this peer samples its own load (gossiped, and first in `peers()`). */
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
  invoke(peerId: string, req: Request, opts?: { signal?: AbortSignal }): Promise<Response>;
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
   * `JOIN_REFUSED`, and the mesh is left stopped), and starts gossiping. Idempotent.
   */
  start(): Promise<void>;
  /** Stops gossip and the libp2p node. Idempotent. */
  stop(): Promise<void>;
}
