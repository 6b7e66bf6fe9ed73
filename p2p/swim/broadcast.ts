/**
 * The piggyback queue: membership news waiting to ride on outgoing messages. Each member has at
 * most one queued update (a newer one replaces it). Updates sent fewest times go first; within
 * the same count, oldest first. Each update is sent `limit` times (mult × ceil(log10(N + 1)),
 * computed by the caller) and then dropped. Kept in buckets by send count, so taking a few
 * updates costs O(taken), not O(queue) — a 1,000-peer join wave queues ~1,000 updates.
 *
 * @module
 */
import { updateSize } from "./codec.ts";
import type { Update } from "./types.ts";

interface Item {
  u: Update;
  size: number;
  sent: number;
}

/** The piggyback queue of one SWIM instance. */
export interface BroadcastQueue {
  /** Queues `u`, replacing any queued update about the same member. */
  push(u: Update): void;
  /**
   * Updates for one message: at most `maxCount`, together at most `budget` bytes (by
   * `updateSize`), each counted as sent once; those sent `limit` times leave the queue.
   */
  take(budget: number, maxCount: number, limit: number): Update[];
  /** Queued updates. */
  readonly size: number;
}

/**
 * An empty piggyback queue.
 *
 * @example
 * ```ts
 * const q = createBroadcastQueue();
 * q.push({ id: "b", addrs: [], incarnation: 2, state: "suspect" });
 * q.take(1024, 16, 4); // [that update], sent once of 4 times
 * ```
 */
export function createBroadcastQueue(): BroadcastQueue {
  const buckets: Array<Map<string, Item>> = [];
  const where = new Map<string, Item>();

  function bucket(n: number): Map<string, Item> {
    while (buckets.length <= n) buckets.push(new Map());
    return buckets[n]!;
  }

  return {
    push(u) {
      const old = where.get(u.id);
      if (old) buckets[old.sent]!.delete(u.id);
      const item: Item = { u, size: updateSize(u), sent: 0 };
      where.set(u.id, item);
      bucket(0).set(u.id, item);
    },
    take(budget, maxCount, limit) {
      // A smaller mesh means a smaller limit: what was sent enough times goes now.
      for (let n = limit; n < buckets.length; n++) {
        for (const id of buckets[n]!.keys()) where.delete(id);
        buckets[n]!.clear();
      }
      const picked: Item[] = [];
      let left = budget;
      let skipped = 0; // bounds the scan of a long queue once the budget is nearly spent
      outer: for (let n = 0; n < buckets.length && n < limit; n++) {
        for (const item of buckets[n]!.values()) {
          if (picked.length >= maxCount || left < 16) break outer;
          if (item.size > left) {
            if (++skipped > 32) break outer;
            continue;
          }
          picked.push(item);
          left -= item.size;
        }
      }
      for (const item of picked) {
        buckets[item.sent]!.delete(item.u.id);
        item.sent++;
        if (item.sent >= limit) where.delete(item.u.id);
        else bucket(item.sent).set(item.u.id, item);
      }
      return picked.map((i) => i.u);
    },
    get size() {
      return where.size;
    },
  };
}
