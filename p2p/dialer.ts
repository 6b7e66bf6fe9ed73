/**
 * Keeps connections to mesh peers: dial on discovery (libp2p v3 does not
 * autodial), redial lost peers with capped exponential backoff and jitter.
 *
 * @module
 */
import type { PeerId } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import type { Multiaddr } from "@multiformats/multiaddr";
import { REDIAL_FORGET_MS, REDIAL_JITTER, REDIAL_MAX_MS, REDIAL_MIN_MS } from "./constants.ts";
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

interface Known {
  attempts: number;
  failingSince: number | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Dependencies of {@link Dialer}. */
export interface DialerInit {
  node: VirgoNode;
  /** Peer ids from `join`: redialed for as long as we run. */
  bootstrapIds: Set<string>;
  logger: Logger;
}

/**
 * Connection keeper for one node.
 *
 * @example
 * ```ts
 * const dialer = new Dialer({ node, bootstrapIds, logger });
 * dialer.start();
 * dialer.learn(peerId, ["/ip4/10.0.0.2/tcp/4001/p2p/12D3…"]); // from a gossiped record
 * ```
 */
export class Dialer {
  readonly #init: DialerInit;
  readonly #known = new Map<string, Known>();
  #stopped = false;

  constructor(init: DialerInit) {
    this.#init = init;
  }

  /** Listen for discovery and connection events. */
  start(): void {
    const { node } = this.#init;
    node.addEventListener("peer:discovery", (evt) => this.#discovered(evt.detail.id));
    node.addEventListener("peer:connect", (evt) => {
      const k = this.#entry(evt.detail.toString());
      k.attempts = 0;
      k.failingSince = undefined;
      if (k.timer !== undefined) clearTimeout(k.timer);
      k.timer = undefined;
    });
    node.addEventListener("peer:disconnect", (evt) => this.#schedule(evt.detail.toString()));
  }

  /** Stop all redial timers. */
  stop(): void {
    this.#stopped = true;
    for (const k of this.#known.values()) if (k.timer !== undefined) clearTimeout(k.timer);
    this.#known.clear();
  }

  /** Record addresses learned from gossip or hello, and dial the peer if we have no connection. */
  async learn(peerId: string, addrs: string[]): Promise<void> {
    if (this.#stopped || peerId === this.#init.node.peerId.toString()) return;
    let id: PeerId;
    const mas: Multiaddr[] = [];
    try {
      id = peerIdFromString(peerId);
      for (const a of addrs) mas.push(multiaddr(a));
    } catch {
      return;
    }
    if (this.#init.node.getConnections(id).length > 0) return;
    try {
      if (mas.length > 0) await this.#init.node.peerStore.merge(id, { multiaddrs: mas });
    } catch (err) {
      this.#init.logger.debug({ err, peer: peerId }, "cannot store learned addresses");
    }
    this.#discovered(id);
  }

  #entry(peerId: string): Known {
    let k = this.#known.get(peerId);
    if (k === undefined) {
      k = { attempts: 0, failingSince: undefined, timer: undefined };
      this.#known.set(peerId, k);
    }
    return k;
  }

  #discovered(id: PeerId): void {
    const peerId = id.toString();
    if (this.#stopped || peerId === this.#init.node.peerId.toString()) return;
    const k = this.#entry(peerId);
    if (k.timer !== undefined) return; // a redial is already scheduled
    this.#dial(peerId);
  }

  #dial(peerId: string): void {
    const { node, logger } = this.#init;
    if (this.#stopped) return;
    const k = this.#entry(peerId);
    k.timer = undefined;
    if (node.getConnections(peerIdFromString(peerId)).length > 0) return;
    node.dial(peerIdFromString(peerId)).then(
      () => {
        k.attempts = 0;
        k.failingSince = undefined;
      },
      (err) => {
        logger.debug(
          { peer: peerId, err: (err as Error).message, attempt: k.attempts },
          "dial failed",
        );
        this.#schedule(peerId);
      },
    );
  }

  #schedule(peerId: string): void {
    if (this.#stopped) return;
    const k = this.#entry(peerId);
    if (k.timer !== undefined) return;
    const now = Date.now();
    k.failingSince ??= now;
    if (!this.#init.bootstrapIds.has(peerId) && now - k.failingSince > REDIAL_FORGET_MS) {
      this.#known.delete(peerId);
      return;
    }
    const timer = setTimeout(() => this.#dial(peerId), redialDelay(k.attempts++));
    Deno.unrefTimer(timer as unknown as number);
    k.timer = timer;
  }
}
