/**
 * Rebalance: after a membership change, each peer walks its records in
 * batches and copies every record whose replica set changed to its new
 * owners, pausing between batches so calls are never blocked. A record this
 * peer no longer owns is dropped once all its new owners hold it.
 *
 * @module
 */
import type { PoolContext } from "./_context.ts";
import { BATCH_BYTES, REBALANCE_RETRY_MS } from "./constants.ts";
import { compareVersions } from "./hlc.ts";
import type { ApplyOn } from "./handoff.ts";
import type { PoolRecord } from "./records.ts";
import type { PoolCounters } from "./stats.ts";

/** Options of {@link Rebalancer}. */
export interface RebalanceOptions {
  batch: number;
  delayMs: number;
  debounceMs: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Moves keys to their owners after membership changes.
 *
 * @example
 * ```ts
 * transport.onMembership(() => rebalancer.schedule());
 * ```
 */
export class Rebalancer {
  readonly #ctx: PoolContext;
  readonly #applyOn: ApplyOn;
  readonly #opts: RebalanceOptions;
  // Membership at the end of the last full pass: records whose owners are the same now are skipped.
  #settled: string[] = [];
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(ctx: PoolContext, applyOn: ApplyOn, opts: RebalanceOptions) {
    this.#ctx = ctx;
    this.#applyOn = applyOn;
    this.#opts = opts;
  }

  /** Starts a pass after the debounce (or one more after the running one). */
  schedule(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    const run = async () => {
      await sleep(this.#opts.debounceMs);
      do {
        this.#again = false;
        await this.#pass();
      } while (this.#again && !this.#stopped);
    };
    this.#running = run()
      .catch((err) => this.#ctx.logger.warn({ err }, "rebalance pass failed"))
      .finally(() => this.#running = undefined);
    this.#ctx.bg.track(this.#running);
  }

  /** Stops after the current batch. */
  stop(): void {
    this.#stopped = true;
  }

  /** One pass, counted: its progress is what `counters().rebalance` reports. */
  async #pass(): Promise<void> {
    const progress = this.#ctx.counters.rebalance;
    progress.passes++;
    progress.scanned = 0;
    progress.running = true;
    try {
      await this.#walk(progress);
    } finally {
      progress.running = false;
    }
  }

  async #walk(progress: PoolCounters["rebalance"]): Promise<void> {
    const members = this.#ctx.peers();
    const prev = this.#settled;
    const self = this.#ctx.self;
    let after: string | undefined;
    let moved = 0;
    let dropped = 0;
    let complete = true;
    while (!this.#stopped) {
      const page = await this.#ctx.records.scan(
        after === undefined ? { limit: this.#opts.batch } : { after, limit: this.#opts.batch },
      );
      if (page.length === 0) break;
      progress.scanned += page.length;
      after = page[page.length - 1]!.key;
      const now = this.#ctx.clock();
      const byTarget = new Map<string, PoolRecord[]>();
      const plans: Array<{ record: PoolRecord; targets: string[]; drop: boolean }> = [];
      for (const r of page) {
        if (!r.tombstone && r.expiresAt !== 0 && r.expiresAt <= now) continue;
        const next = this.#ctx.ownersOf(r.key);
        const old = rankedOwners(this.#ctx, r.key, prev);
        const keep = next.includes(self);
        if (keep && sameSet(next, old)) continue;
        // Staying owners only need to send to newcomers; leaving ones hand to every owner.
        const targets = next.filter((p) => p !== self && (!keep || !old.includes(p)));
        if (targets.length === 0 && keep) continue;
        plans.push({ record: r, targets, drop: !keep });
        for (const t of targets) {
          let list = byTarget.get(t);
          if (!list) byTarget.set(t, list = []);
          list.push(r);
        }
      }
      const held = new Map<string, Map<string, string>>(); // target → key → version held
      await Promise.all([...byTarget].map(async ([target, records]) => {
        const got = new Map<string, string>();
        held.set(target, got);
        for (const chunk of chunks(records)) {
          try {
            const versions = await this.#applyOn(target, chunk);
            chunk.forEach((r, i) => got.set(r.key, versions[i] ?? ""));
            moved += chunk.length;
            progress.moved += chunk.length;
          } catch (err) {
            complete = false;
            this.#ctx.logger.debug({ target, err }, "rebalance: target unreachable");
          }
        }
      }));
      for (const { record, targets, drop } of plans) {
        if (!drop || targets.length === 0) continue;
        const everywhere = targets.every((t) => {
          const v = held.get(t)?.get(record.key);
          return v !== undefined && compareVersions(v, record.version) >= 0;
        });
        if (everywhere && await this.#ctx.records.dropIf(record.key, record.version)) {
          dropped++;
          progress.dropped++;
        }
      }
      if (this.#opts.delayMs > 0) await sleep(this.#opts.delayMs);
    }
    if (complete && !this.#stopped) this.#settled = members;
    else if (!this.#stopped) {
      // A target did not take its share (not reachable yet, or it does not count us as a member
      // until our hello arrives): try again soon rather than wait for the next membership change.
      const retry = setTimeout(() => this.schedule(), REBALANCE_RETRY_MS);
      Deno.unrefTimer(retry);
    }
    if (moved || dropped) {
      this.#ctx.logger.info({ moved, dropped, members: members.length }, "rebalance pass done");
    }
  }
}

function rankedOwners(ctx: PoolContext, key: string, peers: string[]): string[] {
  if (peers.length === 0) return [];
  return ctx.ownersOf(key, peers);
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((p) => b.includes(p));
}

function* chunks(records: PoolRecord[]): Generator<PoolRecord[]> {
  let batch: PoolRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    if (batch.length > 0 && bytes + r.value.length > BATCH_BYTES) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(r);
    bytes += r.value.length;
  }
  if (batch.length > 0) yield batch;
}
