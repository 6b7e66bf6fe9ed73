/**
 * The messages of a key's replica set: quorum reads with read repair, and the two phases of
 * Paxos (prepare, accept) that every write goes through (see `coordinator.ts`).
 *
 * A quorum is a majority of the key's replica set over the *known* membership: a replica that
 * is down still counts in the denominator, so a peer alone or a minority side cannot form one.
 * Replicas that are not live are not even asked (an answer that cannot come would only cost a
 * timeout); an accepted record meant for one is kept as a hint (`handoff.ts`).
 *
 * @module
 */
import type { PoolContext } from "./_context.ts";
import { Hedges, ReadBatcher } from "./_read_batch.ts";
import { READ_BATCH_INFLIGHT, READ_HEDGE_MS } from "./constants.ts";
import { KvError } from "./errors.ts";
import type { Handoff } from "./handoff.ts";
import { compareVersions } from "./hlc.ts";
import { quorum } from "./placement.ts";
import { ballotOf, newestOf, type PoolRecord, type Promise1 } from "./records.ts";
import { PeerUnavailableError } from "./rpc.ts";
import type { QuorumPhase } from "./stats.ts";
import { packRecords, type ReplyHead, unpackRecords } from "./wire.ts";

/** What a quorum read found. */
export interface ReadResult {
  /** The record with the highest ballot among the answers. */
  newest: PoolRecord | undefined;
  /** Whether every answer of the quorum held that same ballot: then it is chosen, and final. */
  settled: boolean;
}

/** What a phase of Paxos got from a quorum. */
export type PhaseResult =
  | { ok: true; records: Array<PoolRecord | undefined> }
  | { ok: false; higher: string | undefined; accepted: number };

const notLive = (peer: string) =>
  Promise.reject(new PeerUnavailableError(peer, new Error("Not live in this peer's view")));

/**
 * Replica-set operations of one pool.
 *
 * @example
 * ```ts
 * const replication = new Replication(ctx, handoff);
 * const { newest, settled } = await replication.read("a", ctx.ownersOf("a"));
 * ```
 */
export class Replication {
  readonly #ctx: PoolContext;
  readonly #handoff: Handoff;
  readonly #reads: ReadBatcher;
  /** Reads that may ask the rest of the replica set when no majority answered in time. */
  readonly #hedges: Hedges;
  constructor(ctx: PoolContext, handoff: Handoff) {
    this.#ctx = ctx;
    this.#handoff = handoff;
    this.#reads = new ReadBatcher((peer, keys) => this.#readMany(peer, keys));
    this.#hedges = new Hedges(READ_HEDGE_MS);
  }

  /** Hands accepted `records` to `peer` to learn (hints, repair, rebalance); resolves to the versions it holds after. */
  async applyOn(peer: string, records: PoolRecord[]): Promise<string[]> {
    if (peer === this.#ctx.self) return Promise.all(records.map((r) => this.#ctx.records.apply(r)));
    const { metas, payload } = packRecords(records);
    const { head } = await this.#ctx.rpc.call(peer, { t: "apply", r: metas }, payload);
    if (head.t !== "vers" || head.v.length !== records.length) {
      throw new PeerUnavailableError(peer, new Error("Unexpected reply to apply"));
    }
    return head.v;
  }

  /** One replica's record of `key` (other peers' reads batched, see `_read_batch.ts`). */
  readOn(peer: string, key: string): Promise<PoolRecord | undefined> {
    if (peer === this.#ctx.self) return this.#ctx.records.get(key);
    if (!this.#ctx.live().has(peer)) return notLive(peer);
    return this.#reads.get(peer, key);
  }

  async #readMany(peer: string, keys: string[]): Promise<Array<PoolRecord | undefined>> {
    if (keys.length === 1) {
      const { head, payload } = await this.#ctx.rpc.call(peer, { t: "get", k: keys[0]! });
      if (head.t !== "rec") {
        throw new PeerUnavailableError(peer, new Error("Unexpected reply to get"));
      }
      return [head.r === null ? undefined : unpackRecords([head.r], payload)[0]];
    }
    let reply;
    try {
      reply = await this.#ctx.rpc.call(peer, { t: "mget", k: keys });
    } catch (err) {
      // A peer of a release without `mget` refuses the frame: ask it key by key.
      if (!(err instanceof KvError && err.code === "BAD_FRAME")) throw err;
      return (await Promise.all(keys.map((k) => this.#readMany(peer, [k])))).map((r) => r[0]);
    }
    const { head, payload } = reply;
    if (head.t !== "recs" || head.r.length !== keys.length) {
      throw new PeerUnavailableError(peer, new Error("Unexpected reply to mget"));
    }
    const records = unpackRecords(head.r.filter((m) => m !== null), payload);
    let i = 0;
    return head.r.map((m, at) => {
      if (m === null) return undefined;
      const r = records[i++]!;
      if (r.key !== keys[at]) throw new PeerUnavailableError(peer, new Error("mget out of order"));
      return r;
    });
  }

  /**
   * Reads `key` from a majority of `owners`: this peer's own replica (no hop) and the next live
   * others (one with reads queued behind a full pipe last), the rest only when one of those fails or no majority answered within
   * {@linkcode READ_HEDGE_MS}. Stale replicas that answered are repaired in the background.
   * Throws `QUORUM_FAILED` when no majority answers.
   */
  async read(key: string, owners: string[]): Promise<ReadResult> {
    const live = this.#ctx.live();
    const self = this.#ctx.self;
    // Other replicas in HRW order (so one peer gets a key's reads, batched), except that one
    // with a full pipe and reads queued behind it goes last: a replica slow to answer, or starved
    // of CPU, is passed over instead of holding every read until the hedge.
    const jammed = (p: string) => this.#reads.outstanding(p) > READ_BATCH_INFLIGHT ? 1 : 0;
    const others = owners.filter((p) => p !== self && live.has(p))
      .map((p, i) => ({ p, i, jammed: jammed(p) }))
      .sort((a, b) => a.jammed - b.jammed || a.i - b.i)
      .map((x) => x.p);
    const order = owners.includes(self) ? [self, ...others] : others;
    const asked: string[] = [];
    const tasks: Array<Promise<PoolRecord | undefined>> = [];
    const res = await new Promise<PhaseResult>((resolve) => {
      const need = quorum(owners.length);
      const counted = this.#ctx.counters.quorum.read;
      const records: Array<PoolRecord | undefined> = [];
      let no = owners.length - order.length;
      let done = false;
      const hedge = () => {
        while (!done && asked.length < order.length) ask();
      };
      const settle = () => {
        if (done) return;
        if (records.length >= need) {
          counted.ok++;
          resolve({ ok: true, records: records.slice() });
        } else if (owners.length - no < need) {
          counted.failed++;
          resolve({ ok: false, higher: undefined, accepted: 0 });
        } else return;
        done = true;
        this.#hedges.delete(hedge);
      };
      const ask = () => {
        const peer = order[asked.length];
        if (peer === undefined) return;
        const task = this.readOn(peer, key);
        asked.push(peer);
        tasks.push(task);
        task.then((r) => {
          records.push(r);
          settle();
        }, () => {
          no++;
          if (!done) ask();
          settle();
        });
      };
      for (let i = 0; i < need; i++) ask();
      settle();
      if (!done && asked.length < order.length) this.#hedges.add(hedge);
    });
    if (!res.ok) throw new KvError("QUORUM_FAILED", `Too few replicas answered for key: ${key}`);
    const { newest, settled } = newestOf(res.records);
    if (newest) this.#ctx.hlc.observe(newest.version);
    // Every replica asked agreed: none to repair (the usual case, so no work is queued for it).
    if (!settled || res.records.length < tasks.length) {
      this.#ctx.bg.track(this.#repair(asked, tasks));
    }
    return { newest, settled };
  }

  /** Paxos phase 1 for `key` on a majority of `owners`. */
  prepare(key: string, ballot: string, owners: string[]): Promise<PhaseResult> {
    return this.#quorum(
      "prepare",
      owners,
      owners.map(async (peer) => {
        if (peer === this.#ctx.self) return await this.#ctx.records.prepare(key, ballot);
        if (!this.#ctx.live().has(peer)) return await notLive(peer);
        return this.#promise(
          peer,
          await this.#ctx.rpc.call(peer, { t: "prep", k: key, b: ballot }),
        );
      }),
    );
  }

  /**
   * Paxos phase 2: `record` accepted under `ballot` by a majority of `owners`. Owners that
   * cannot be reached get it as a hint, delivered when they are back.
   *
   * With `blind` (a write that skipped phase 1, see `Coordinator`), nothing may land where no
   * other replica takes it: this peer's own replica accepts only once another one has, and hints
   * are kept only once a majority has — so a peer cut off from the others never writes a record
   * that could surface when they meet again.
   */
  async accept(
    record: PoolRecord,
    ballot: string,
    owners: string[],
    opts: { blind?: boolean } = {},
  ): Promise<PhaseResult> {
    const self = this.#ctx.self;
    const remotes = owners.filter((p) => p !== self).length;
    const blind = opts.blind === true && remotes > 0;
    /** Resolves true once another replica took the record, false once none can. */
    let tookOrNot!: (took: boolean) => void;
    const anotherTook = new Promise<boolean>((resolve) => tookOrNot = resolve);
    let remoteLeft = remotes;
    const remoteDone = (ok: boolean) => {
      remoteLeft--;
      if (ok) tookOrNot(true);
      else if (remoteLeft === 0) tookOrNot(false);
    };
    let chosen = !blind;
    const missed: string[] = [];
    const hint = (peer: string) => this.#handoff.hint(peer, { ...record, ballot });
    const tasks = owners.map(async (peer): Promise<Promise1> => {
      if (peer === self) {
        if (blind && !(await anotherTook)) return { ok: false };
        return await this.#ctx.records.accept(record, ballot);
      }
      try {
        if (!this.#ctx.live().has(peer)) return await notLive(peer);
        const { metas, payload } = packRecords([record]);
        const reply = await this.#ctx.rpc.call(
          peer,
          { t: "acc", b: ballot, r: metas[0]! },
          payload,
        );
        const p = this.#promise(peer, reply);
        remoteDone(p.ok);
        return p;
      } catch (err) {
        remoteDone(false);
        if (err instanceof PeerUnavailableError) {
          if (chosen) await hint(peer);
          else missed.push(peer);
        }
        throw err;
      }
    });
    const res = await this.#quorum("accept", owners, tasks);
    if (blind && res.ok) {
      chosen = true;
      await Promise.all(missed.map(hint));
    }
    return res;
  }

  #promise(peer: string, reply: { head: ReplyHead; payload: Uint8Array }): Promise1 {
    const { head, payload } = reply;
    if (head.t !== "paxos") {
      throw new PeerUnavailableError(peer, new Error("Unexpected reply to a Paxos phase"));
    }
    const out: Promise1 = { ok: head.ok };
    if (head.b !== undefined) out.ballot = head.b;
    if (head.r !== null) out.record = unpackRecords([head.r], payload)[0];
    return out;
  }

  /**
   * Settles as soon as a majority of `owners` said yes, or as soon as a majority can no longer
   * say yes (refusals and unreachable owners count against).
   */
  #quorum(
    phase: QuorumPhase,
    owners: string[],
    answers: Array<Promise<Promise1>>,
  ): Promise<PhaseResult> {
    const need = quorum(owners.length);
    const counted = this.#ctx.counters.quorum[phase];
    return new Promise((resolve) => {
      const records: Array<PoolRecord | undefined> = [];
      let yes = 0;
      let no = 0;
      let higher: string | undefined;
      let done = false;
      const settle = () => {
        if (done) return;
        if (yes >= need) {
          done = true;
          counted.ok++;
          resolve({ ok: true, records: records.slice() });
        } else if (owners.length - no < need) {
          done = true;
          counted.failed++;
          resolve({ ok: false, higher, accepted: yes });
        }
      };
      for (const answer of answers) {
        answer.then(
          (p) => {
            if (p.ok) {
              yes++;
              records.push(p.record);
            } else {
              no++;
              if (p.ballot && (!higher || compareVersions(p.ballot, higher) > 0)) higher = p.ballot;
            }
            settle();
          },
          () => {
            no++;
            settle();
          },
        );
      }
    });
  }

  async #repair(owners: string[], tasks: Promise<PoolRecord | undefined>[]): Promise<void> {
    const settled = await Promise.allSettled(tasks);
    let newest: PoolRecord | undefined;
    for (const s of settled) {
      if (
        s.status === "fulfilled" && s.value &&
        (!newest || compareVersions(ballotOf(s.value), ballotOf(newest)) > 0)
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
      if (s.value && compareVersions(ballotOf(s.value), ballotOf(best)) >= 0) return;
      try {
        await this.applyOn(owners[i]!, [best]);
        this.#ctx.logger.debug({ key: best.key, peer: owners[i] }, "read repair");
      } catch (err) {
        this.#ctx.logger.debug({ key: best.key, peer: owners[i], err }, "read repair failed");
      }
    }));
  }
}
