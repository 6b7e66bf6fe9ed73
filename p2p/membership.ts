/**
 * This peer's view of the mesh, over the SWIM core: the members are SWIM's alive and suspect
 * ones, joins and leaves are SWIM's events, and each member's load is the latest this peer
 * heard from it directly — the meta of its pings and acks, or the load on an invoke response.
 *
 * A graceful leave keeps its meaning: a member that says it is leaving (directly, or by SWIM's
 * `left`) is at once marked `leaving` — routers pick it no more — and stays a member, its
 * frames served, until its connection to us closes or `LEFT_LINGER_MS` passes. (One we have no
 * connection with when its `left` arrives exchanges nothing with us: it is gone at once.)
 *
 * @module
 */
import { LEFT_LINGER_MS, LOAD_SAMPLE_MAX_AGE_MS, LOAD_SAMPLE_SIZE } from "./constants.ts";
import { decodeLoad } from "./meta.ts";
import type { Member, Swim } from "./swim/mod.ts";
import type { LocalLoad, Logger, MembershipEvent, PeerInfo } from "./types.ts";

/** What `peers()` shows for a member whose load has not been heard yet. */
function unknownLoad(): LocalLoad {
  return {
    inflight: 0,
    queued: 0,
    cores: 1,
    loopDelayMs: 0,
    poolTotalBytes: 0,
    poolFreeBytes: 0,
    catalog: { digest: "", count: 0 },
  };
}

interface Heard {
  load: LocalLoad;
  at: number;
}

/** What the view reads of the SWIM core. */
export type SwimSource = Pick<Swim, "get" | "onEvent">;

/** Options of {@link MeshView}. */
export interface MeshViewInit {
  logger: Logger;
  /** The clock SWIM's `metaAt` is on. @default Date.now */
  now?: () => number;
  /** Whether we have a connection open to `peerId`. @default {always true} */
  connected?: (peerId: string) => boolean;
}

/**
 * Live membership with load.
 *
 * @example
 * ```ts
 * const view = new MeshView({ logger });
 * view.attach(swim);
 * view.onMembership((ev) => console.log(ev.type, ev.peerId));
 * view.list(); // PeerInfo of every member but self
 * ```
 */
export class MeshView {
  #swim: SwimSource | undefined;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #connected: (peerId: string) => boolean;
  readonly #members = new Set<string>();
  /** Member → when we learnt it is leaving. */
  readonly #leaving = new Map<string, number>();
  /** Loads from invoke responses. */
  readonly #heard = new Map<string, Heard>();
  /** Decoded SWIM meta, per member, while its `metaAt` is the same. */
  readonly #decoded = new Map<string, { at: number; load: LocalLoad | undefined }>();
  readonly #listeners = new Set<(ev: MembershipEvent) => void>();

  constructor(init: MeshViewInit) {
    this.#logger = init.logger;
    this.#now = init.now ?? Date.now;
    this.#connected = init.connected ?? (() => true);
  }

  /** Follow this SWIM core's members (once, before it starts). */
  attach(swim: SwimSource): void {
    this.#swim = swim;
    swim.onEvent((ev) => {
      const id = ev.member.id;
      if (ev.type === "join") {
        this.#leaving.delete(id);
        if (!this.#members.has(id)) {
          this.#members.add(id);
          this.#emit({ type: "join", peerId: id });
        }
      } else if (ev.type === "leave") {
        const lingers = this.#leaving.has(id) || this.#connected(id);
        if (ev.member.state === "left" && this.#members.has(id) && lingers) {
          if (!this.#leaving.has(id)) this.#leaving.set(id, this.#now());
        } else this.#remove(id);
      }
    });
  }

  /** True while `peerId` is a member (alive, suspect, or leaving and not gone yet). */
  has(peerId: string): boolean {
    return this.#members.has(peerId);
  }

  /** A member told us directly it is leaving: route nothing more there. */
  markLeaving(peerId: string): void {
    if (this.#members.has(peerId) && !this.#leaving.has(peerId)) {
      this.#leaving.set(peerId, this.#now());
    }
  }

  /** Our connection to `peerId` closed: if it was leaving, it is gone now. */
  disconnected(peerId: string): void {
    if (this.#leaving.has(peerId)) this.#remove(peerId);
  }

  /** Drop leaving members heard longer than `LEFT_LINGER_MS` ago. */
  sweep(): void {
    const now = this.#now();
    for (const [id, at] of this.#leaving) if (now - at > LEFT_LINGER_MS) this.#remove(id);
  }

  /** A load heard from `peerId` outside SWIM (an invoke response). */
  heard(peerId: string, load: LocalLoad): void {
    if (this.#members.has(peerId)) this.#heard.set(peerId, { load, at: this.#now() });
  }

  /** Every member but self. */
  list(): PeerInfo[] {
    const now = this.#now();
    const out: PeerInfo[] = [];
    for (const id of this.#members) out.push(this.#info(id, now));
    return out;
  }

  /**
   * The routing sample: up to `size` members, not leaving nor suspect, whose SWIM meta arrived
   * most recently and within `LOAD_SAMPLE_MAX_AGE_MS`. SWIM probes members in a random order,
   * so this is a random sample that turns over continuously.
   */
  sample(size = LOAD_SAMPLE_SIZE): PeerInfo[] {
    const now = this.#now();
    const fresh: Array<{ id: string; at: number }> = [];
    for (const id of this.#members) {
      if (this.#leaving.has(id)) continue;
      const m = this.#swim?.get(id);
      if (m?.state !== "alive" || m.metaAt === undefined) continue;
      if (now - m.metaAt <= LOAD_SAMPLE_MAX_AGE_MS) fresh.push({ id, at: m.metaAt });
    }
    fresh.sort((a, b) => b.at - a.at);
    return fresh.slice(0, size).map(({ id }) => this.#info(id, now));
  }

  /** Subscribe to join/leave; returns the unsubscribe function. */
  onMembership(cb: (ev: MembershipEvent) => void): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  #info(id: string, now: number): PeerInfo {
    const m = this.#swim?.get(id);
    const swimLoad = m === undefined ? undefined : this.#metaLoad(m);
    const heard = this.#heard.get(id);
    let load: LocalLoad = unknownLoad();
    let at: number | undefined;
    if (swimLoad !== undefined) [load, at] = [swimLoad, m!.metaAt!];
    if (heard !== undefined && (at === undefined || heard.at > at)) {
      [load, at] = [heard.load, heard.at];
    }
    const info: PeerInfo = {
      ...load,
      peerId: id,
      self: false,
      incarnation: m?.incarnation ?? 0,
      ageMs: at === undefined ? Infinity : Math.max(0, now - at),
      addrs: m?.addrs ?? [],
    };
    if (this.#leaving.has(id) || m?.state === "left") info.leaving = true;
    if (m?.state === "suspect") info.suspect = true;
    return info;
  }

  #metaLoad(m: Member): LocalLoad | undefined {
    if (m.meta === undefined || m.metaAt === undefined) return undefined;
    const cached = this.#decoded.get(m.id);
    if (cached?.at === m.metaAt) return cached.load;
    const load = decodeLoad(m.meta);
    this.#decoded.set(m.id, { at: m.metaAt, load });
    return load;
  }

  #remove(id: string): void {
    this.#leaving.delete(id);
    this.#heard.delete(id);
    this.#decoded.delete(id);
    if (this.#members.delete(id)) this.#emit({ type: "leave", peerId: id });
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
