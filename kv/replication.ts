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
  constructor(ctx: PoolContext, handoff: Handoff) {
    this.#ctx = ctx;
    this.#handoff = handoff;
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

  /** One replica's record of `key`. */
  async readOn(peer: string, key: string): Promise<PoolRecord | undefined> {
    if (peer === this.#ctx.self) return this.#ctx.records.get(key);
    if (!this.#ctx.live().has(peer)) return notLive(peer);
    const { head, payload } = await this.#ctx.rpc.call(peer, { t: "get", k: key });
    if (head.t !== "rec") {
      throw new PeerUnavailableError(peer, new Error("Unexpected reply to get"));
    }
    return head.r === null ? undefined : unpackRecords([head.r], payload)[0];
  }

  /**
   * Reads `key` from a majority of `owners`; stale replicas that answered are repaired in the
   * background. Throws `QUORUM_FAILED` when no majority answers.
   */
  async read(key: string, owners: string[]): Promise<ReadResult> {
    const tasks = owners.map((p) => this.readOn(p, key));
    const res = await this.#quorum(
      "read",
      owners,
      tasks.map((t) => t.then((record) => ({ ok: true, record }))),
    );
    if (!res.ok) throw new KvError("QUORUM_FAILED", `Too few replicas answered for key: ${key}`);
    const { newest, settled } = newestOf(res.records);
    if (newest) this.#ctx.hlc.observe(newest.version);
    this.#ctx.bg.track(this.#repair(owners, tasks));
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
   */
  accept(record: PoolRecord, ballot: string, owners: string[]): Promise<PhaseResult> {
    return this.#quorum(
      "accept",
      owners,
      owners.map(async (peer) => {
        try {
          if (peer === this.#ctx.self) return await this.#ctx.records.accept(record, ballot);
          if (!this.#ctx.live().has(peer)) return await notLive(peer);
          const { metas, payload } = packRecords([record]);
          return this.#promise(
            peer,
            await this.#ctx.rpc.call(peer, { t: "acc", b: ballot, r: metas[0]! }, payload),
          );
        } catch (err) {
          if (err instanceof PeerUnavailableError) {
            await this.#handoff.hint(peer, { ...record, ballot });
          }
          throw err;
        }
      }),
    );
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
