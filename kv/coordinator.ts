/**
 * The write path. Every write of a key goes through one coordinator — the
 * first reachable replica in HRW order (the key's primary) — which runs the
 * writes of that key one at a time, checks `ifMatch` against the newest
 * version a majority holds, stamps a new HLC version and replicates it.
 * That is what gives compare-and-set exactly one winner per version.
 *
 * @module
 */
import { patchBlock } from "./_block.ts";
import { KeyedMutex } from "./_lock.ts";
import type { PoolContext } from "./_context.ts";
import { WRITE_RETRIES } from "./constants.ts";
import { KvError } from "./errors.ts";
import { NO_VERSION } from "./hlc.ts";
import { isLive, type PoolRecord } from "./records.ts";
import { type Replication, StaleVersionError } from "./replication.ts";
import { PeerUnavailableError } from "./rpc.ts";

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
}

/** What a write did. */
export interface WriteResult {
  /** The new version, or `"0"` when a delete found nothing to delete. */
  version: string;
  /** Whether the key existed (live) before; known for deletes and conditional writes. */
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
    let lastErr: unknown;
    for (const peer of this.#ctx.ownersOf(op.key)) {
      if (peer === this.#ctx.self) return this.coordinate(op);
      try {
        return await this.#forward(peer, op);
      } catch (err) {
        if (!(err instanceof PeerUnavailableError)) throw err;
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
    const head: { t: "write"; k: string; d?: 1; m?: string; ttl?: number; o?: number } = {
      t: "write",
      k: op.key,
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

  /** Coordinates `op` on this peer: serialised per key, CAS-checked, replicated. */
  coordinate(op: WriteOp): Promise<WriteResult> {
    return this.#locks.run(op.key, async () => {
      const owners = this.#ctx.ownersOf(op.key);
      for (let attempt = 0;; attempt++) {
        let existed = false;
        let value = op.value;
        if (op.ifMatch !== undefined || op.tombstone || op.patchAt !== undefined) {
          const cur = await this.#replication.read(op.key, owners);
          const live = isLive(cur, this.#ctx.clock());
          existed = live;
          const version = live ? cur.version : NO_VERSION;
          if (op.ifMatch !== undefined && op.ifMatch !== version) {
            throw new KvError("PRECONDITION_FAILED", `Version mismatch for key: ${op.key}`);
          }
          if ((op.tombstone || op.patchAt !== undefined) && !live) {
            return { version: NO_VERSION, existed: false };
          }
          if (op.patchAt !== undefined && cur) value = patchBlock(cur.value, op.value, op.patchAt);
        }
        const record: PoolRecord = {
          key: op.key,
          version: this.#ctx.hlc.next(),
          value,
          tombstone: op.tombstone,
          expiresAt: op.ttlSeconds === undefined ? 0 : this.#ctx.clock() + op.ttlSeconds * 1000,
        };
        try {
          await this.#replication.write(record, owners);
          return { version: record.version, existed };
        } catch (err) {
          if (!(err instanceof StaleVersionError)) throw err;
          this.#ctx.hlc.observe(err.newer);
          // A conditional write that lost to a version its read missed has lost the race.
          if (op.ifMatch !== undefined) {
            throw new KvError("PRECONDITION_FAILED", `Version mismatch for key: ${op.key}`);
          }
          if (attempt >= WRITE_RETRIES) {
            throw new KvError("QUORUM_FAILED", `Write kept losing to newer versions: ${op.key}`);
          }
        }
      }
    });
  }
}
