/**
 * The write path. Every write of a key is one round of CASPaxos over the key's replica set, so
 * compare-and-set has exactly one winner per version whoever coordinates, and a coordinator that
 * was paused, cut off or outvoted cannot act on what it last saw. Writes that read the current
 * state (compare-and-set, deletes, block patches) are sent to one coordinator — the first live
 * replica in HRW order (the key's primary) — which runs the writes of a key one at a time, so
 * proposers seldom compete; when they do, ballots decide. A plain put reads nothing: the peer that
 * takes it proposes it, in one round trip (see `#blind`).
 *
 * @module
 */
import { patchBlock } from "./_block.ts";
import { KeyedMutex } from "./_lock.ts";
import type { PoolContext } from "./_context.ts";
import { PAXOS_ROUNDS } from "./constants.ts";
import { KvError } from "./errors.ts";
import { NO_VERSION } from "./hlc.ts";
import { ballotOf, isLive, newestOf, type PoolRecord } from "./records.ts";
import type { Replication } from "./replication.ts";
import { PeerUnavailableError } from "./rpc.ts";
import { unpackRecords } from "./wire.ts";

/** One write, as the coordinator receives it (validated already). */
export interface WriteOp {
  key: string;
  /** The new value; empty for deletes. */
  value: Uint8Array;
  /** A delete (tombstone). */
  tombstone: boolean;
  /** Succeed only if the newest version is this (`"0"`: the key must not exist). */
  ifMatch?: string;
  ttlSeconds?: number;
  /** A memory-block patch: `value` goes at this offset into the stored block (`_block.ts`). */
  patchAt?: number;
  /** When the sender stops waiting (ms, this peer's clock): not started after it. */
  deadline?: number;
}

/** How a round ends: an answer, or an error to throw. */
type Outcome = {
  error?: KvError;
  result?: WriteResult & { record?: PoolRecord | undefined };
};

const finish = (o: Outcome): WriteResult & { record?: PoolRecord | undefined } => {
  if (o.error) throw o.error;
  return o.result!;
};

/** A read that must settle the key first (see {@linkcode Coordinator.read}). */
export interface ReadOp {
  key: string;
  read: true;
}

/** A plain put: no condition, no patch, not a delete — its new state depends on nothing. */
function isBlind(op: WriteOp | ReadOp): boolean {
  return !("read" in op) && !op.tombstone && op.ifMatch === undefined &&
    op.patchAt === undefined;
}

/** What a write did. */
export interface WriteResult {
  /** The new version, or `"0"` when a delete found nothing to delete. */
  version: string;
  /**
   * Whether the key existed (live) before; known for deletes, conditional writes and patches
   * (a plain put answers `false`: it never looks).
   */
  existed: boolean;
}

/**
 * Routes writes to their coordinator and coordinates those that land here.
 *
 * @example
 * ```ts
 * const { version } = await coordinator.write({ key, value, tombstone: false });
 * ```
 */
export class Coordinator {
  readonly #ctx: PoolContext;
  readonly #replication: Replication;
  readonly #locks = new KeyedMutex();

  constructor(ctx: PoolContext, replication: Replication) {
    this.#ctx = ctx;
    this.#replication = replication;
  }

  /**
   * Sends `op` to the key's primary (falling back along the replica set when
   * a primary cannot be reached), or coordinates it here when this peer is first.
   */
  async write(op: WriteOp): Promise<WriteResult> {
    // A plain put needs no serialising through the primary: it reads nothing, and any peer may
    // propose (see `#blind`), so it saves the hop there.
    if (isBlind(op)) return await this.coordinate(op);
    let lastErr: unknown;
    const live = this.#ctx.live();
    for (const peer of this.#ctx.ownersOf(op.key)) {
      if (peer === this.#ctx.self) return this.coordinate(op);
      if (!live.has(peer)) continue;
      try {
        return await this.#forward(peer, op);
      } catch (err) {
        if (!(err instanceof PeerUnavailableError)) throw err;
        // Once sent, the coordinator may run it — now, or when it resumes from a pause: trying
        // it again elsewhere could make it take effect twice (a late copy overwriting newer
        // writes, or a compare-and-set failing against its own result). Its outcome is unknown.
        if (!err.unsent) {
          throw new KvError(
            "QUORUM_FAILED",
            `The coordinator of ${op.key} did not answer; the write's outcome is unknown`,
            { cause: err },
          );
        }
        lastErr = err;
        this.#ctx.logger.debug(
          { key: op.key, peer },
          "coordinator unreachable, trying next replica",
        );
      }
    }
    throw new KvError("QUORUM_FAILED", `No replica could coordinate key: ${op.key}`, {
      cause: lastErr,
    });
  }

  async #forward(peer: string, op: WriteOp): Promise<WriteResult> {
    const head: {
      t: "write";
      k: string;
      d?: 1;
      m?: string;
      ttl?: number;
      o?: number;
      dl: number;
    } = {
      t: "write",
      k: op.key,
      // Past this the sender has given up; a coordinator that only now gets to it (a paused one)
      // drops it rather than apply a write nobody waits for on top of newer ones.
      dl: this.#ctx.clock() + this.#ctx.requestTimeoutMs,
    };
    if (op.patchAt !== undefined) head.o = op.patchAt;
    if (op.tombstone) head.d = 1;
    if (op.ifMatch !== undefined) head.m = op.ifMatch;
    if (op.ttlSeconds !== undefined) head.ttl = op.ttlSeconds;
    const reply = await this.#ctx.rpc.call(peer, head, op.value);
    if (reply.head.t !== "put") {
      throw new PeerUnavailableError(peer, new Error("Unexpected reply to write"));
    }
    this.#ctx.hlc.observe(reply.head.v);
    return { version: reply.head.v, existed: reply.head.e };
  }

  /**
   * Runs `op` on `key` as one CASPaxos round (Rystsov 2018): prepare under a fresh ballot on a
   * majority of the replica set, which returns what each has accepted; take the value with the
   * highest ballot as the current state; apply the change to it; have a majority accept the
   * result under the same ballot. A proposer whose ballot was beaten (another proposer, or a
   * peer that was paused and resumed with an old view) learns the higher ballot and tries again,
   * so stale state is never acted on. When the prepare quorum did not agree on one value, the
   * current state may not be settled yet: it is accepted again under our ballot before anything
   * is answered from it — a failed compare-and-set included.
   */
  coordinate(op: WriteOp | ReadOp): Promise<WriteResult & { record?: PoolRecord | undefined }> {
    return this.#locks.run(op.key, async () => {
      const owners = this.#ctx.ownersOf(op.key);
      /**
       * A record of ours that some replicas accepted but not a majority (another proposer's
       * ballot got in between): later rounds settle the key, and if what settles is ours, the
       * planned outcome stands.
       */
      let pending: { version: string; outcome: Outcome } | undefined;
      for (let round = 0; round < PAXOS_ROUNDS; round++) {
        if ("deadline" in op && op.deadline !== undefined && this.#ctx.clock() > op.deadline) {
          if (pending) break;
          throw new KvError("QUORUM_FAILED", `Write of ${op.key} not started before its deadline`);
        }
        if (round === 0 && isBlind(op)) {
          const fast = await this.#blind(op as WriteOp, owners);
          if ("result" in fast) return fast.result;
          pending = fast.pending;
          if (!pending) await this.#beaten(op.key, fast.higher, round);
          continue;
        }
        const ballot = this.#ctx.hlc.next();
        const prepared = await this.#replication.prepare(op.key, ballot, owners);
        if (!prepared.ok) {
          await this.#beaten(op.key, prepared.higher, round);
          continue;
        }
        const { newest: cur, settled } = newestOf(prepared.records);
        let outcome: Outcome;
        let next: PoolRecord | undefined;
        if (pending) {
          if (cur?.version !== pending.version) break;
          outcome = pending.outcome;
        } else {
          ({ outcome, next } = this.#decide(op, cur, ballot));
        }
        // Nothing to write, and the state we answer from is settled: answer.
        if (next === undefined && (settled || cur === undefined)) return finish(outcome);
        const record = next ?? { ...cur! };
        const accepted = await this.#replication.accept(record, ballot, owners);
        if (accepted.ok) return finish(outcome);
        if (accepted.accepted > 0) {
          pending = { version: record.version, outcome };
          continue;
        }
        await this.#beaten(op.key, accepted.higher, round);
      }
      if (pending) {
        throw new KvError(
          "QUORUM_FAILED",
          `Write of key ${op.key} reached too few replicas; its outcome is unknown`,
        );
      }
      throw new KvError("QUORUM_FAILED", `Could not win a round for key: ${op.key}`);
    });
  }

  /**
   * A blind write — a plain put, whose new state does not depend on the current one — skips
   * phase 1: its record goes straight to phase 2 under a fresh ballot. Phase 1 exists so that a
   * proposer learns the current state and carries on any value that may have been chosen; a
   * blind write carries on nothing, and what phase 1 would guard is still guarded by the
   * acceptors' rule: a replica that promised or accepted a higher ballot refuses this one. So the
   * record is taken by a majority only where no higher ballot got in first, and every read or
   * round after that meets it (or a newer one) in any majority. Refused by all: nothing was
   * written, and a full round may follow. Taken by some but not a majority (whatever the refusals
   * were): its outcome is open — later rounds settle the key, and the write stands only if what
   * settles is this record.
   */
  async #blind(
    op: WriteOp,
    owners: string[],
  ): Promise<
    | { result: WriteResult }
    | { pending?: { version: string; outcome: Outcome }; higher: string | undefined }
  > {
    // Start above what this replica has accepted for the key, so a clock behind another
    // coordinator's does not make the fast path fail where it need not.
    if (owners.includes(this.#ctx.self)) {
      const local = await this.#ctx.records.get(op.key);
      if (local) this.#ctx.hlc.observe(ballotOf(local));
    }
    const ballot = this.#ctx.hlc.next();
    const record: PoolRecord = {
      key: op.key,
      version: ballot,
      value: op.value,
      tombstone: false,
      expiresAt: op.ttlSeconds === undefined ? 0 : this.#ctx.clock() + op.ttlSeconds * 1000,
    };
    // Not known without phase 1, and not promised for plain puts (see `WriteResult.existed`).
    const result = { version: ballot, existed: false };
    const accepted = await this.#replication.accept(record, ballot, owners, { blind: true });
    if (accepted.ok) return { result };
    // Taken by some but not a majority: its outcome is open, even when a majority refused it for
    // higher ballots — a read picks the newest record by version, and a higher ballot may carry an
    // older record (a round that carried a value on), so this one can still be read. Writing it
    // again under a new version would make one put take effect twice (the chaos test's checker
    // saw it); later rounds settle the key, and the put stands only if what settles is this record.
    if (accepted.accepted > 0) {
      return { pending: { version: ballot, outcome: { result } }, higher: undefined };
    }
    return { higher: accepted.higher };
  }

  /** What `op` does to the current record `cur` under `ballot`: the outcome, and what to write. */
  #decide(
    op: WriteOp | ReadOp,
    cur: PoolRecord | undefined,
    ballot: string,
  ): { outcome: Outcome; next?: PoolRecord } {
    const live = isLive(cur, this.#ctx.clock());
    const version = live ? cur!.version : NO_VERSION;
    if ("read" in op) {
      return { outcome: { result: { version, existed: live, record: live ? cur : undefined } } };
    }
    if (op.ifMatch !== undefined && op.ifMatch !== version) {
      return {
        outcome: {
          error: new KvError("PRECONDITION_FAILED", `Version mismatch for key: ${op.key}`),
        },
      };
    }
    if ((op.tombstone || op.patchAt !== undefined) && !live) {
      return { outcome: { result: { version: NO_VERSION, existed: false } } };
    }
    const next: PoolRecord = {
      key: op.key,
      version: ballot,
      value: op.patchAt !== undefined && cur
        ? patchBlock(cur.value, op.value, op.patchAt)
        : op.value,
      tombstone: op.tombstone,
      expiresAt: op.ttlSeconds === undefined ? 0 : this.#ctx.clock() + op.ttlSeconds * 1000,
    };
    return { outcome: { result: { version: ballot, existed: live } }, next };
  }

  /** After a refused round: move the clock past the ballot that won, back off a little. */
  async #beaten(key: string, higher: string | undefined, round: number): Promise<void> {
    if (higher === undefined) {
      throw new KvError("QUORUM_FAILED", `Too few replicas answered for key: ${key}`);
    }
    this.#ctx.hlc.observe(higher);
    if (this.#ctx.hlc.isAhead(higher)) {
      throw new KvError("QUORUM_FAILED", `A replica of ${key} holds a ballot from the future`);
    }
    await new Promise((r) => setTimeout(r, Math.random() * 5 * 2 ** round));
  }

  /**
   * A linearizable read: a majority that agrees on one accepted value answers at once; any
   * disagreement (a write in flight, or one that reached only some replicas) is settled by a
   * round that accepts the newest value again before it is returned.
   */
  async read(key: string): Promise<PoolRecord | undefined> {
    const owners = this.#ctx.ownersOf(key);
    const { newest, settled } = await this.#replication.read(key, owners);
    if (settled) return newest;
    // Settled by the key's coordinator, so reads do not duel with its writes for ballots.
    const live = this.#ctx.live();
    const primary = owners.find((p) => live.has(p));
    if (primary !== undefined && primary !== this.#ctx.self) {
      try {
        const { head, payload } = await this.#ctx.rpc.call(primary, { t: "settle", k: key });
        if (head.t === "rec") {
          return head.r === null ? undefined : unpackRecords([head.r], payload)[0];
        }
      } catch (err) {
        if (!(err instanceof PeerUnavailableError)) throw err;
        // A read may be settled anywhere: do it here.
      }
    }
    return (await this.coordinate({ key, read: true })).record;
  }
}
