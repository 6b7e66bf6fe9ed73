/**
 * This peer's view of the mesh: the last load record of every live peer.
 *
 * A peer joins the view when its first record arrives (gossip or the hello
 * push on connect) and leaves when its connection closes or when it misses
 * heartbeats for `expiryMs`. Pure bookkeeping with an injectable clock, so it
 * is unit-tested without libp2p.
 *
 * @module
 */
import { PEER_EXPIRY_MS } from "./constants.ts";
import type { LocalLoad, Logger, MembershipEvent, PeerInfo } from "./types.ts";

/** The versioned record a peer gossips about itself every interval. */
export interface LoadRecord extends LocalLoad {
  v: 1;
  peerId: string;
  /** Monotonic per peer; starts at the boot time in ms so it also grows across restarts. */
  seq: number;
  /** Sender's clock when sampled (informational: ages use our receive time). */
  at: number;
  /** Sender's multiaddrs with `/p2p/<id>`, so peers that learn of it through gossip can dial it. */
  addrs?: string[];
  /** The sender is leaving the mesh: route nothing more to it. */
  leaving?: true;
}

interface Entry {
  record: LoadRecord;
  receivedAt: number;
}

/** Options of {@link MembershipView}. */
export interface MembershipViewInit {
  /** Drop a peer whose last record is older than this. @default PEER_EXPIRY_MS */
  expiryMs?: number;
  /** Clock, injectable for tests. @default Date.now */
  now?: () => number;
  logger: Logger;
}

/**
 * Live membership with load. Records with a `seq` not above the last one
 * seen from that peer are ignored, so a relayed stale record cannot revive a
 * peer that just left.
 *
 * @example
 * ```ts
 * const view = new MembershipView({ logger });
 * view.onMembership((ev) => console.log(ev.type, ev.peerId));
 * view.accept(record);
 * view.sweep();
 * ```
 */
export class MembershipView {
  readonly #peers = new Map<string, Entry>();
  readonly #lastSeq = new Map<string, number>();
  readonly #listeners = new Set<(ev: MembershipEvent) => void>();
  readonly #expiryMs: number;
  readonly #now: () => number;
  readonly #logger: Logger;

  constructor(init: MembershipViewInit) {
    this.#expiryMs = init.expiryMs ?? PEER_EXPIRY_MS;
    this.#now = init.now ?? Date.now;
    this.#logger = init.logger;
  }

  /** Store a validated record; true if it was newer than what we had. Emits `join` for a new peer. */
  accept(record: LoadRecord): boolean {
    const last = this.#lastSeq.get(record.peerId);
    if (last !== undefined && record.seq <= last) return false;
    this.#lastSeq.set(record.peerId, record.seq);
    const isNew = !this.#peers.has(record.peerId);
    this.#peers.set(record.peerId, { record, receivedAt: this.#now() });
    if (isNew) this.#emit({ type: "join", peerId: record.peerId });
    return true;
  }

  /** Remove a peer at once (its connection closed); emits `leave` if it was in the view. */
  remove(peerId: string): void {
    if (this.#peers.delete(peerId)) this.#emit({ type: "leave", peerId });
  }

  /** Remove peers whose last record is older than the expiry. */
  sweep(): void {
    const now = this.#now();
    for (const [peerId, e] of this.#peers) {
      if (now - e.receivedAt > this.#expiryMs) this.remove(peerId);
    }
  }

  /** True if the peer is in the view. */
  has(peerId: string): boolean {
    return this.#peers.has(peerId);
  }

  /** The last record of a live peer. */
  get(peerId: string): LoadRecord | undefined {
    return this.#peers.get(peerId)?.record;
  }

  /** Live peers (not self), with `ageMs` measured from when we received their record. */
  list(): PeerInfo[] {
    const now = this.#now();
    const out: PeerInfo[] = [];
    for (const { record, receivedAt } of this.#peers.values()) {
      out.push(toPeerInfo(record, false, Math.max(0, now - receivedAt)));
    }
    return out;
  }

  /** Subscribe to join/leave; returns the unsubscribe function. */
  onMembership(cb: (ev: MembershipEvent) => void): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  #emit(ev: MembershipEvent): void {
    this.#logger.info({ peer: ev.peerId }, `peer ${ev.type}`);
    for (const cb of [...this.#listeners]) {
      try {
        cb(ev);
      } catch (err) {
        this.#logger.error({ err }, "membership listener threw");
      }
    }
  }
}

/**
 * Turn a load record into the `PeerInfo` shape of `peers()`.
 *
 * @example
 * ```ts
 * const info = toPeerInfo(record, false, 120);
 * ```
 */
export function toPeerInfo(record: LoadRecord, self: boolean, ageMs: number): PeerInfo {
  const info: PeerInfo = {
    peerId: record.peerId,
    self,
    seq: record.seq,
    ageMs,
    addrs: record.addrs ?? [],
    inflight: record.inflight,
    queued: record.queued,
    cores: record.cores,
    loopDelayMs: record.loopDelayMs,
    poolTotalBytes: record.poolTotalBytes,
    poolFreeBytes: record.poolFreeBytes,
    catalog: record.catalog,
  };
  if (record.http !== undefined) info.http = record.http;
  if (record.leaving) info.leaving = true;
  return info;
}
