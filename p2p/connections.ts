/**
 * Bounded connections. A peer keeps open only: the join addresses (redialed with capped
 * exponential backoff and jitter), a small random set of members as neighbours
 * (`NEIGHBOURS`), and whatever it is using right now — a call, a probe — which dial on demand.
 * Every `CONNECTION_TRIM_MS` the neighbours are topped up from the membership and, past
 * `MAX_IDLE_CONNECTIONS`, the connections used longest ago are closed (never a neighbour, a
 * join address, one used within `CONNECTION_MIN_IDLE_MS` or one with a stream of ours open).
 * libp2p's own `maxConnections` stays far above, as the hard ceiling.
 *
 * Only kept connections run identify (libp2p's `runOnConnectionOpen` is off), so only they
 * carry gossipsub: the catalogue's topic spreads over the neighbour graph, and a connection a
 * probe opens for a moment costs a handshake, not a handshake plus identify and gossipsub.
 *
 * A closed connection says nothing about membership: SWIM's probes decide who is alive.
 *
 * @module
 */
import type { Connection, PeerId } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import {
  CONNECTION_MIN_IDLE_MS,
  CONNECTION_TRIM_MS,
  MAX_IDLE_CONNECTIONS,
  NEIGHBOURS,
  REDIAL_JITTER,
  REDIAL_MAX_MS,
  REDIAL_MIN_MS,
  SWIM_PROTOCOL,
} from "./constants.ts";
import type { VirgoNode } from "./node.ts";
import type { Logger } from "./types.ts";

/**
 * Delay before redial number `attempt` (0-based): 250 ms doubling to 10 s, ±20 % jitter.
 *
 * @example
 * ```ts
 * redialDelay(0); // ~250 ms
 * redialDelay(10); // ~10 s
 * ```
 */
export function redialDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(REDIAL_MAX_MS, REDIAL_MIN_MS * 2 ** Math.min(attempt, 30));
  return Math.round(base * (1 + REDIAL_JITTER * (2 * random() - 1)));
}

/**
 * Which open connections to close: past `max`, those used longest ago, skipping kept peers,
 * those used within `minIdleMs` and those with a `/virgo/` stream open. Pure, for tests.
 *
 * @example
 * ```ts
 * for (const c of toTrim(node.getConnections(), lastUsed, keep, Date.now())) await c.close();
 * ```
 */
export function toTrim<C extends Pick<Connection, "remotePeer" | "streams" | "status">>(
  conns: readonly C[],
  lastUsed: ReadonlyMap<string, number>,
  keep: ReadonlySet<string>,
  now: number,
  max = MAX_IDLE_CONNECTIONS,
  minIdleMs = CONNECTION_MIN_IDLE_MS,
): C[] {
  const open = conns.filter((c) => c.status === "open");
  const peers = new Set(open.map((c) => c.remotePeer.toString()));
  let excess = peers.size - max;
  if (excess <= 0) return [];
  const used = (id: string) => lastUsed.get(id) ?? 0;
  const candidates = [...peers]
    .filter((id) => !keep.has(id) && now - used(id) >= minIdleMs)
    .filter((id) =>
      open.every((c) =>
        c.remotePeer.toString() !== id ||
        // Gossipsub keeps a stream on every connection, identify ends by itself, SWIM keeps
        // one while in use: only another stream of ours (a call, a pooled stream) means the
        // connection is in use — the last-used time covers SWIM.
        !c.streams.some((s) => s.protocol?.startsWith("/virgo/") && s.protocol !== SWIM_PROTOCOL)
      )
    )
    .sort((a, b) => used(a) - used(b));
  const out: C[] = [];
  for (const id of candidates) {
    if (excess-- <= 0) break;
    out.push(...open.filter((c) => c.remotePeer.toString() === id));
  }
  return out;
}

interface Redial {
  attempts: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Dependencies of {@link Connections}. */
export interface ConnectionsInit {
  node: VirgoNode;
  /** Peers of the join addresses (id → addresses): kept connected, redialed for as long as we run. */
  bootstrap: ReadonlyMap<string, string[]>;
  /** Current members (alive, not self) with their addresses: where neighbours are drawn from. */
  members: () => Array<{ id: string; addrs: string[] }>;
  logger: Logger;
  /** @default Math.random */
  random?: () => number;
}

/**
 * The connection keeper of one node.
 *
 * @example
 * ```ts
 * const conns = new Connections({ node, bootstrap, members: () => swim.alive(), logger });
 * conns.start();
 * conns.touch(peerId); // on every stream opened or accepted
 * ```
 */
export class Connections {
  readonly #init: ConnectionsInit;
  readonly #random: () => number;
  readonly #lastUsed = new Map<string, number>();
  readonly #redials = new Map<string, Redial>();
  #neighbours = new Set<string>();
  readonly #identified = new WeakSet<Connection>();
  #soon: ReturnType<typeof setTimeout> | undefined;
  /** Connections opened since start (either way). */
  opened = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #stopped = false;

  constructor(init: ConnectionsInit) {
    this.#init = init;
    this.#random = init.random ?? Math.random;
  }

  /** Start redialing join addresses on loss and trimming/topping up every `CONNECTION_TRIM_MS`. */
  start(): void {
    const { node } = this.#init;
    node.addEventListener("connection:open", (evt) => {
      this.opened++;
      if (this.#kept(evt.detail.remotePeer.toString())) this.#identify(evt.detail);
    });
    node.addEventListener("peer:connect", (evt) => {
      const id = evt.detail.toString();
      this.touch(id);
      const r = this.#redials.get(id);
      if (r !== undefined) {
        r.attempts = 0;
        if (r.timer !== undefined) clearTimeout(r.timer);
        r.timer = undefined;
      }
    });
    node.addEventListener("peer:disconnect", (evt) => {
      const id = evt.detail.toString();
      this.#lastUsed.delete(id);
      this.#neighbours.delete(id);
      if (this.#init.bootstrap.has(id)) this.#scheduleRedial(id);
    });
    this.#timer = setInterval(() => this.#tickSafely(), CONNECTION_TRIM_MS);
    Deno.unrefTimer(this.#timer as unknown as number);
  }

  /** Run a {@link tick} soon (coalesced), e.g. once the first members are known. */
  soon(ms = 500): void {
    if (this.#soon !== undefined || this.#stopped) return;
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      this.#tickSafely();
    }, ms);
    Deno.unrefTimer(this.#soon as unknown as number);
  }

  /** Stop timers; open connections close with the node. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    if (this.#soon !== undefined) clearTimeout(this.#soon);
    for (const r of this.#redials.values()) if (r.timer !== undefined) clearTimeout(r.timer);
    this.#redials.clear();
  }

  /** Note that a stream to or from `peerId` was just opened: it is in use. */
  touch(peerId: string): void {
    this.#lastUsed.set(peerId, Date.now());
  }

  /** The neighbours now (for tests and stats). */
  neighbours(): string[] {
    return [...this.#neighbours];
  }

  /** Number of peers with an open connection. */
  count(): number {
    return new Set(this.#init.node.getConnections().map((c) => c.remotePeer.toString())).size;
  }

  /** Top up the neighbours, then close idle connections past the bound. */
  async tick(): Promise<void> {
    if (this.#stopped) return;
    const { node, logger } = this.#init;
    const members = this.#init.members();
    const alive = new Set(members.map((m) => m.id));
    for (const id of this.#neighbours) if (!alive.has(id)) this.#neighbours.delete(id);
    const connected = new Set(node.getConnections().map((c) => c.remotePeer.toString()));
    // Prefer members already connected, so topping up rarely dials.
    const pool = members.filter((m) => !this.#neighbours.has(m.id));
    pool.sort((a, b) =>
      Number(connected.has(b.id)) - Number(connected.has(a.id)) || this.#random() - 0.5
    );
    for (const m of pool) {
      if (this.#neighbours.size >= NEIGHBOURS) break;
      this.#neighbours.add(m.id);
      if (!connected.has(m.id)) void this.#dial(m.id, m.addrs);
    }
    const keep = new Set([...this.#neighbours, ...this.#init.bootstrap.keys()]);
    for (const c of node.getConnections()) {
      if (keep.has(c.remotePeer.toString())) this.#identify(c);
    }
    for (const c of toTrim(node.getConnections(), this.#lastUsed, keep, Date.now())) {
      logger.debug({ peer: c.remotePeer.toString() }, "closing an idle connection");
      await c.close().catch((err: Error) => c.abort(err));
    }
  }

  #tickSafely(): void {
    this.tick().catch((err) =>
      this.#init.logger.warn({ err: String(err) }, "connection tick failed")
    );
  }

  #kept(peerId: string): boolean {
    return this.#neighbours.has(peerId) || this.#init.bootstrap.has(peerId);
  }

  /** Identify a kept connection once: its protocols reach the peer store, and gossipsub uses it. */
  #identify(conn: Connection): void {
    if (this.#identified.has(conn) || conn.status !== "open") return;
    this.#identified.add(conn);
    this.#init.node.services.identify.identify(conn).catch((err: Error) => {
      this.#init.logger.debug(
        { peer: conn.remotePeer.toString(), err: err.message },
        "identify failed",
      );
    });
  }

  /** Dial a join address's peer now (at start, and by the redial backoff). */
  dialBootstrap(peerId: string): void {
    void this.#dial(peerId, this.#init.bootstrap.get(peerId) ?? []).then((ok) =>
      ok || this.#scheduleRedial(peerId)
    );
  }

  async #dial(peerId: string, addrs: string[]): Promise<boolean> {
    const { node, logger } = this.#init;
    if (this.#stopped) return false;
    let id: PeerId;
    try {
      id = peerIdFromString(peerId);
      if (addrs.length > 0) {
        await node.peerStore.merge(id, { multiaddrs: addrs.map((a) => multiaddr(a)) });
      }
    } catch (err) {
      logger.debug({ peer: peerId, err: (err as Error).message }, "bad peer address");
      return false;
    }
    if (node.getConnections(id).length > 0) return true;
    try {
      await node.dial(id);
      this.touch(peerId);
      return true;
    } catch (err) {
      logger.debug({ peer: peerId, err: (err as Error).message }, "dial failed");
      return false;
    }
  }

  #scheduleRedial(peerId: string): void {
    if (this.#stopped) return;
    let r = this.#redials.get(peerId);
    if (r === undefined) this.#redials.set(peerId, r = { attempts: 0, timer: undefined });
    if (r.timer !== undefined) return;
    const entry = r;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      this.dialBootstrap(peerId);
    }, redialDelay(entry.attempts++, this.#random));
    Deno.unrefTimer(entry.timer as unknown as number);
  }
}
