/**
 * Reads of other replicas, batched per peer: what one message can carry is not sent as fifty.
 *
 * @module
 */
import { READ_BATCH_INFLIGHT, READ_BATCH_MAX } from "./constants.ts";
import type { PoolRecord } from "./records.ts";

/** Reads `keys` on `peer` in one request; one answer per key, in order. */
export type ReadMany = (peer: string, keys: string[]) => Promise<Array<PoolRecord | undefined>>;

interface Waiting {
  resolve: (r: PoolRecord | undefined) => void;
  reject: (err: unknown) => void;
}

interface PeerQueue {
  inflight: number;
  /** Keys asked while the peer's batches were all in flight, with who waits for each. */
  next: Map<string, Waiting[]>;
}

/**
 * Sends a read at once while fewer than {@linkcode READ_BATCH_INFLIGHT} requests to that peer are
 * in flight; otherwise it waits for the next one, which carries every key asked meanwhile (each
 * once). A read only ever joins a request sent after it was asked, so what it gets is the
 * replica's state at some moment after the read began — all a quorum read needs to stay
 * linearizable.
 *
 * @example
 * ```ts
 * const reads = new ReadBatcher((peer, keys) => rpcGetMany(peer, keys));
 * const record = await reads.get("peerB", "users/1");
 * ```
 */
export class ReadBatcher {
  readonly #readMany: ReadMany;
  readonly #peers = new Map<string, PeerQueue>();

  constructor(readMany: ReadMany) {
    this.#readMany = readMany;
  }

  /** Requests to `peer` in flight, plus one if reads wait for the next: how busy it looks. */
  outstanding(peer: string): number {
    const q = this.#peers.get(peer);
    return q === undefined ? 0 : q.inflight + (q.next.size > 0 ? 1 : 0);
  }

  /** The record `peer` holds for `key` (rejects as `readMany` does). */
  get(peer: string, key: string): Promise<PoolRecord | undefined> {
    let q = this.#peers.get(peer);
    if (!q) this.#peers.set(peer, q = { inflight: 0, next: new Map() });
    return new Promise((resolve, reject) => {
      const w = { resolve, reject };
      if (q.inflight < READ_BATCH_INFLIGHT) return this.#send(peer, q, new Map([[key, [w]]]));
      const waiting = q.next.get(key);
      if (waiting) waiting.push(w);
      else q.next.set(key, [w]);
    });
  }

  #send(peer: string, q: PeerQueue, batch: Map<string, Waiting[]>): void {
    q.inflight++;
    const keys = [...batch.keys()];
    this.#readMany(peer, keys).then(
      (records) => keys.forEach((k, i) => batch.get(k)!.forEach((w) => w.resolve(records[i]))),
      (err) => batch.forEach((ws) => ws.forEach((w) => w.reject(err))),
    ).finally(() => {
      q.inflight--;
      if (q.next.size > 0) {
        const all = q.next;
        let take = all;
        if (all.size > READ_BATCH_MAX) {
          take = new Map([...all].slice(0, READ_BATCH_MAX));
          for (const k of take.keys()) all.delete(k);
        } else q.next = new Map();
        this.#send(peer, q, take);
      } else if (q.inflight === 0) this.#peers.delete(peer);
    });
  }
}

/**
 * Actions to run once after `delayMs` unless removed first, on one timer for all of them: a
 * strong read registers its hedge here, so a read that completes in time (nearly all) costs a
 * set insertion, not a timer of its own. An action runs between `delayMs` and twice that.
 *
 * @example
 * ```ts
 * const hedges = new Hedges(50);
 * const askTheRest = () => {};
 * hedges.add(askTheRest);
 * hedges.delete(askTheRest); // the answer came in time
 * ```
 */
export class Hedges {
  readonly #delayMs: number;
  /** Actions added since the timer last fired, and those added before it (run at the next tick). */
  #young = new Set<() => void>();
  #old = new Set<() => void>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(delayMs: number) {
    this.#delayMs = delayMs;
  }

  /** Runs `action` in `delayMs` to `2 × delayMs`, unless {@linkcode delete}d before. */
  add(action: () => void): void {
    this.#young.add(action);
    this.#arm();
  }

  /** Drops `action` if it has not run. */
  delete(action: () => void): void {
    if (!this.#young.delete(action)) this.#old.delete(action);
  }

  #arm(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const due = this.#old;
      this.#old = this.#young;
      this.#young = new Set();
      for (const action of due) action();
      if (this.#old.size > 0) this.#arm();
    }, this.#delayMs);
  }
}
