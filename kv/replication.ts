/**
 * Quorum reads and writes over a key's replica set, with read repair.
 *
 * A write is acknowledged once a majority of the replica set holds its
 * version; unreachable replicas get a hint (`handoff.ts`). A read asks every
 * replica, answers from the first majority with the newest version, and
 * afterwards pushes that version to replicas that answered an older one.
 *
 * @module
 */
import { waitFor } from "./_background.ts";
import type { PoolContext } from "./_context.ts";
import { KvError } from "./errors.ts";
import type { Handoff } from "./handoff.ts";
import { compareVersions } from "./hlc.ts";
import { quorum } from "./placement.ts";
import type { PoolRecord } from "./records.ts";
import { PeerUnavailableError } from "./rpc.ts";
import { packRecords, unpackRecords } from "./wire.ts";

/** A replica held a newer version than the write: the coordinator's clock was behind. */
export class StaleVersionError extends Error {
  override name = "StaleVersionError";
  readonly newer: string;
  constructor(newer: string) {
    super(`A replica holds a newer version: ${newer}`);
    this.newer = newer;
  }
}

/**
 * Reads and writes one key on its replicas.
 *
 * @example
 * ```ts
 * const newest = await replication.read("k", owners);
 * await replication.write(record, owners);
 * ```
 */
export class Replication {
  readonly #ctx: PoolContext;
  readonly #handoff: Handoff;
  constructor(ctx: PoolContext, handoff: Handoff) {
    this.#ctx = ctx;
    this.#handoff = handoff;
  }

  /** Stores `records` on `peer` (local or remote); returns the versions it holds afterwards. */
  async applyOn(peer: string, records: PoolRecord[]): Promise<string[]> {
    if (peer === this.#ctx.self) return Promise.all(records.map((r) => this.#ctx.records.apply(r)));
    const { metas, payload } = packRecords(records);
    const { head } = await this.#ctx.rpc.call(peer, { t: "apply", r: metas }, payload);
    if (head.t !== "vers" || head.v.length !== records.length) {
      throw new PeerUnavailableError(peer, new Error("Unexpected reply to apply"));
    }
    return head.v;
  }

  /** The record `peer` holds for `key` (raw: tombstones and expired included). */
  async readOn(peer: string, key: string): Promise<PoolRecord | undefined> {
    if (peer === this.#ctx.self) return this.#ctx.records.get(key);
    const { head, payload } = await this.#ctx.rpc.call(peer, { t: "get", k: key });
    if (head.t !== "rec") {
      throw new PeerUnavailableError(peer, new Error("Unexpected reply to get"));
    }
    return head.r === null ? undefined : unpackRecords([head.r], payload)[0];
  }

  /**
   * The newest record among a majority of `owners` (raw), repairing stale
   * replicas in the background. Throws QUORUM_FAILED if no majority answers.
   */
  async read(key: string, owners: string[]): Promise<PoolRecord | undefined> {
    const tasks = owners.map((p) => this.readOn(p, key));
    let answers;
    try {
      answers = await waitFor(tasks, quorum(owners.length));
    } catch (err) {
      throw new KvError("QUORUM_FAILED", `Too few replicas answered for key: ${key}`, {
        cause: err,
      });
    }
    let newest: PoolRecord | undefined;
    for (const r of answers) {
      if (r && (!newest || compareVersions(r.version, newest.version) > 0)) newest = r;
    }
    if (newest) this.#ctx.hlc.observe(newest.version);
    this.#ctx.bg.track(this.#repair(owners, tasks));
    return newest;
  }

  async #repair(owners: string[], tasks: Promise<PoolRecord | undefined>[]): Promise<void> {
    const settled = await Promise.allSettled(tasks);
    let newest: PoolRecord | undefined;
    for (const s of settled) {
      if (
        s.status === "fulfilled" && s.value &&
        (!newest || compareVersions(s.value.version, newest.version) > 0)
      ) newest = s.value;
    }
    // Expired values read as missing everywhere; copying them around helps nobody.
    if (
      !newest || (!newest.tombstone && newest.expiresAt && newest.expiresAt <= this.#ctx.clock())
    ) {
      return;
    }
    const best = newest;
    await Promise.all(settled.map(async (s, i) => {
      if (s.status !== "fulfilled") return;
      if (s.value && compareVersions(s.value.version, best.version) >= 0) return;
      try {
        await this.applyOn(owners[i]!, [best]);
        this.#ctx.logger.debug({ key: best.key, peer: owners[i] }, "read repair");
      } catch (err) {
        this.#ctx.logger.debug({ key: best.key, peer: owners[i], err }, "read repair failed");
      }
    }));
  }

  /**
   * Writes `record` to every owner; resolves once a majority holds it, the rest
   * finishing in the background. Unreachable owners get a hint. Throws
   * {@link StaleVersionError} when a replica already has a newer version and
   * the majority cannot be reached, QUORUM_FAILED when too few answer.
   */
  async write(record: PoolRecord, owners: string[]): Promise<void> {
    let newer: string | undefined;
    const tasks = owners.map(async (peer) => {
      let held: string;
      try {
        [held = ""] = await this.applyOn(peer, [record]);
      } catch (err) {
        if (err instanceof PeerUnavailableError) {
          await this.#handoff.hint(peer, record);
        }
        throw err;
      }
      if (held !== record.version) {
        if (compareVersions(held, record.version) > 0 && (!newer || held > newer)) newer = held;
        throw new StaleVersionError(held);
      }
    });
    const all = Promise.allSettled(tasks);
    this.#ctx.bg.track(all);
    try {
      await waitFor(tasks, quorum(owners.length));
    } catch (err) {
      // Wait for the rest so every hint is stored before the caller gives up.
      await all;
      if (newer) throw new StaleVersionError(newer);
      throw new KvError("QUORUM_FAILED", `Too few replicas acknowledged key: ${record.key}`, {
        cause: err,
      });
    }
  }
}
