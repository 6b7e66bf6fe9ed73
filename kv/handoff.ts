/**
 * Hinted handoff: a write meant for an unreachable replica is kept here, on
 * the coordinator, and handed over when that peer is back (on every
 * membership event and on a timer).
 *
 * Hints live in their own local namespace, keyed `<target>\u0001<key>`, holding
 * the newest record meant for that target. Delivery applies them with the
 * usual "newest wins", so late or repeated hints are harmless.
 *
 * @module
 */
import { KeyedMutex } from "./_lock.ts";
import type { PoolContext } from "./_context.ts";
import { BATCH_BYTES, HINT_MAX_AGE_MS, REBALANCE_BATCH } from "./constants.ts";
import { compareVersions, parseVersion } from "./hlc.ts";
import { ballotOf, decodeRecord, encodeRecord, type PoolRecord } from "./records.ts";
import type { Store } from "./store.ts";

const SEP = "\u0001";

/** Sends a batch of records to a peer; returns the versions it holds afterwards. */
export type ApplyOn = (peer: string, records: PoolRecord[]) => Promise<string[]>;

/**
 * Stores and delivers hints.
 *
 * @example
 * ```ts
 * await handoff.hint("peerC", record);   // peerC was down during the write
 * await handoff.deliver();               // after peerC is back
 * ```
 */
export class Handoff {
  readonly #ctx: PoolContext;
  readonly #store: Store;
  readonly #locks = new KeyedMutex();
  #applyOn: ApplyOn | undefined;
  #running: Promise<void> | undefined;
  #again = false;

  constructor(ctx: PoolContext, store: Store) {
    this.#ctx = ctx;
    this.#store = store;
  }

  /** Sets how hints are sent (the replication layer; set once at wiring). */
  bind(applyOn: ApplyOn): void {
    this.#applyOn = applyOn;
  }

  /** Keeps `record` for `target` unless a newer hint for that key is already kept. */
  hint(target: string, record: PoolRecord): Promise<void> {
    const id = target + SEP + record.key;
    return this.#locks.run(id, async () => {
      const cur = await this.#store.get(id);
      if (cur && compareVersions(ballotOf(decodeRecord(record.key, cur)), ballotOf(record)) >= 0) {
        return;
      }
      await this.#store.put(id, encodeRecord(record));
      this.#ctx.logger.debug({ target, key: record.key }, "hint stored");
    });
  }

  /** Number of hints kept (all targets). */
  async count(): Promise<number> {
    return (await this.#store.list()).length;
  }

  /**
   * Hands hints to every target that is a member now. Concurrent calls share
   * one run; a call during a run schedules one more, so no event is missed.
   */
  deliver(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    const run = async () => {
      do {
        this.#again = false;
        await this.#deliverOnce();
      } while (this.#again);
    };
    this.#running = run().finally(() => this.#running = undefined);
    return this.#running;
  }

  async #deliverOnce(): Promise<void> {
    const members = this.#ctx.live();
    let after: string | undefined;
    for (;;) {
      const page = await this.#store.list(
        after === undefined ? { limit: REBALANCE_BATCH } : { after, limit: REBALANCE_BATCH },
      );
      if (page.length === 0) return;
      after = page[page.length - 1]!.key;
      const byTarget = new Map<string, Array<{ id: string; record: PoolRecord }>>();
      const now = this.#ctx.clock();
      for (const { key: id, value } of page) {
        const cut = id.indexOf(SEP);
        const target = id.slice(0, cut);
        const record = decodeRecord(id.slice(cut + 1), value);
        if ((parseVersion(record.version)?.wall ?? 0) + HINT_MAX_AGE_MS <= now) {
          await this.#drop(id, record.version);
          continue;
        }
        if (!members.has(target) || target === this.#ctx.self) continue;
        let list = byTarget.get(target);
        if (!list) byTarget.set(target, list = []);
        list.push({ id, record });
      }
      await Promise.all([...byTarget].map(([target, hints]) => this.#send(target, hints)));
    }
  }

  async #send(target: string, hints: Array<{ id: string; record: PoolRecord }>): Promise<void> {
    if (!this.#applyOn) return;
    // Split by bytes so a batch of large values still fits one frame.
    let batch: typeof hints = [];
    let bytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const sent = batch;
      batch = [];
      bytes = 0;
      try {
        await this.#applyOn!(target, sent.map((h) => h.record));
        for (const h of sent) await this.#drop(h.id, h.record.version);
        this.#ctx.logger.info({ target, hints: sent.length }, "hints delivered");
      } catch (err) {
        this.#ctx.logger.debug({ target, err }, "hint delivery failed");
      }
    };
    for (const h of hints) {
      if (bytes + h.record.value.length > BATCH_BYTES) await flush();
      batch.push(h);
      bytes += h.record.value.length;
    }
    await flush();
  }

  #drop(id: string, version: string): Promise<void> {
    return this.#locks.run(id, async () => {
      const cur = await this.#store.get(id);
      const key = id.slice(id.indexOf(SEP) + 1);
      if (cur && decodeRecord(key, cur).version === version) await this.#store.delete(id);
    });
  }
}
