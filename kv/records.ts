/**
 * Versioned records with tombstones and TTL, over any {@link Store}: the local
 * half of the pool. Versions, TTL and "newest wins" live here once, so the
 * LevelDB and in-memory backends only store bytes.
 *
 * @module
 */
import { KeyedMutex } from "./_lock.ts";
import { compareVersions, parseVersion } from "./hlc.ts";
import type { Store } from "./store.ts";

/**
 * One versioned entry of the pool, as stored on a replica and sent on the wire.
 *
 * @example
 * ```ts
 * const r: PoolRecord = { key: "a", version: hlc.next(), value, tombstone: false, expiresAt: 0 };
 * ```
 */
export interface PoolRecord {
  key: string;
  /** HLC version (`hlc.ts`). */
  version: string;
  /** The bytes; empty for tombstones. */
  value: Uint8Array;
  /** A delete: kept (with its version) so stale replicas cannot resurrect the key. */
  tombstone: boolean;
  /** Wall-clock ms after which the record reads as missing; 0 = never. */
  expiresAt: number;
  /**
   * The Paxos ballot under which this replica accepted the record: the version of the write
   * that made it, or a later ballot when a proposer wrote an unsettled value back to make it
   * settled (the value and its version unchanged). Absent means equal to `version`.
   */
  ballot?: string;
}

/** The ballot a record was accepted under. */
export function ballotOf(r: PoolRecord): string {
  return r.ballot ?? r.version;
}

/**
 * What a quorum's answers hold: the record with the highest ballot, and whether every answer
 * held that same ballot (none at all counts as one answer: "absent") — then it is chosen.
 */
export function newestOf(
  answers: ReadonlyArray<PoolRecord | undefined>,
): { newest: PoolRecord | undefined; settled: boolean } {
  let newest: PoolRecord | undefined;
  const ballots = new Set<string>();
  for (const r of answers) {
    ballots.add(r ? ballotOf(r) : "");
    if (r && (!newest || compareVersions(ballotOf(r), ballotOf(newest)) > 0)) newest = r;
  }
  return { newest, settled: ballots.size === 1 };
}

/**
 * True if `r` exists for readers at time `now`: present, not deleted, not expired.
 *
 * @example
 * ```ts
 * if (isLive(rec, Date.now())) return rec.value;
 * ```
 */
export function isLive(r: PoolRecord | undefined, now: number): r is PoolRecord {
  return r !== undefined && !r.tombstone && (r.expiresAt === 0 || r.expiresAt > now);
}

const HEAD = 10; // flags u8, expiresAt f64, version length u8
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes a record's stored form (the key is the store key). */
export function encodeRecord(r: PoolRecord): Uint8Array {
  const ver = encoder.encode(r.version);
  const bal = r.ballot !== undefined && r.ballot !== r.version
    ? encoder.encode(r.ballot)
    : undefined;
  const extra = bal === undefined ? 0 : 1 + bal.length;
  const out = new Uint8Array(HEAD + ver.length + extra + r.value.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, (r.tombstone ? 1 : 0) | (bal === undefined ? 0 : 2));
  view.setFloat64(1, r.expiresAt);
  view.setUint8(9, ver.length);
  out.set(ver, HEAD);
  if (bal !== undefined) {
    view.setUint8(HEAD + ver.length, bal.length);
    out.set(bal, HEAD + ver.length + 1);
  }
  out.set(r.value, HEAD + ver.length + extra);
  return out;
}

/** Decodes {@link encodeRecord}'s output for `key`. */
export function decodeRecord(key: string, b: Uint8Array): PoolRecord {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const flags = view.getUint8(0);
  const vlen = view.getUint8(9);
  const r: PoolRecord = {
    key,
    tombstone: (flags & 1) === 1,
    expiresAt: view.getFloat64(1),
    version: decoder.decode(b.subarray(HEAD, HEAD + vlen)),
    value: b.subarray(HEAD + vlen),
  };
  if (flags & 2) {
    const blen = view.getUint8(HEAD + vlen);
    r.ballot = decoder.decode(b.subarray(HEAD + vlen + 1, HEAD + vlen + 1 + blen));
    r.value = b.subarray(HEAD + vlen + 1 + blen);
  }
  return r;
}

/** Options of {@link RecordStore}. */
export interface RecordStoreOptions {
  /** Wall clock in ms. @default Date.now */
  clock?: () => number;
  /** Tombstones older than this (by version wall time) are dropped by {@link RecordStore.sweep}. */
  tombstoneGcMs: number;
  /**
   * A ballot below which nothing is accepted or promised: the pool's clock at start. Promises
   * live in memory, so a restarted replica cannot remember them; refusing every ballot issued
   * before it started keeps every promise it made before (proposers see the refusal, move
   * their clock past it and retry).
   */
  floor?: string;
}

/** The answer of a replica to a Paxos prepare or accept. */
export interface Promise1 {
  ok: boolean;
  /** On refusal: the ballot that beat the request. */
  ballot?: string;
  /** On a promise: the record accepted so far, if any. */
  record?: PoolRecord | undefined;
}

/** Promises kept per replica before the oldest is folded into the floor. */
const MAX_PROMISES = 100_000;

/**
 * Versioned local records: `apply` keeps the newest version of each key.
 *
 * Why: replicas receive writes, hints, repairs and rebalance copies in any
 * order; "newest version wins" makes all of them idempotent and commutative.
 *
 * @example
 * ```ts
 * const records = new RecordStore(db.store("pool"), { tombstoneGcMs: 86_400_000 });
 * await records.apply({ key: "a", version: v, value, tombstone: false, expiresAt: 0 });
 * const r = await records.get("a");
 * ```
 */
export class RecordStore {
  readonly #store: Store;
  readonly #clock: () => number;
  readonly #gcMs: number;
  readonly #locks = new KeyedMutex();
  /** Promises made in phase 1, newest last (kept in memory; see {@link RecordStoreOptions.floor}). */
  readonly #promises = new Map<string, string>();
  #floor: string;

  constructor(store: Store, opts: RecordStoreOptions) {
    this.#store = store;
    this.#clock = opts.clock ?? Date.now;
    this.#gcMs = opts.tombstoneGcMs;
    this.#floor = opts.floor ?? "";
  }

  /** The stored record (tombstones and expired ones included), or `undefined`. */
  async get(key: string): Promise<PoolRecord | undefined> {
    const b = await this.#store.get(key);
    if (b === undefined) return undefined;
    const r = decodeRecord(key, b);
    // Lazy cleanup: an expired record reads as missing anywhere, so drop it here.
    if (!r.tombstone && r.expiresAt !== 0 && r.expiresAt <= this.#clock()) {
      void this.dropIf(key, r.version).catch(() => {});
    }
    return r;
  }

  /**
   * Learns a record that a proposer got accepted (a hint, a read repair, a rebalance copy): kept
   * if its ballot is newer than the one this replica accepted, whatever it promised since —
   * these are late copies of accepted values, never a new proposal. Resolves to the version
   * this replica holds afterwards.
   */
  apply(r: PoolRecord): Promise<string> {
    return this.#locks.run(r.key, async () => {
      const cur = await this.#load(r.key);
      if (cur !== undefined && compareVersions(ballotOf(cur), ballotOf(r)) >= 0) return cur.version;
      await this.#store.put(r.key, encodeRecord(r));
      return r.version;
    });
  }

  /**
   * Paxos phase 1 on this replica: promises never to accept a ballot lower than `ballot` and
   * answers with what it accepted so far; refuses, naming the ballot that beats it, when it
   * has promised or accepted `ballot` or higher.
   */
  prepare(key: string, ballot: string): Promise<Promise1> {
    return this.#locks.run(key, async () => {
      const cur = await this.#load(key);
      const floor = this.#promised(key, cur);
      if (compareVersions(ballot, floor) <= 0) return { ok: false, ballot: floor };
      this.#promise(key, ballot);
      return { ok: true, record: cur };
    });
  }

  /**
   * Paxos phase 2 on this replica: accepts `r` under `ballot` unless a higher ballot was
   * promised or accepted since. The record is stored with `ballot` as its accepted ballot.
   */
  accept(r: PoolRecord, ballot: string): Promise<Promise1> {
    return this.#locks.run(r.key, async () => {
      const cur = await this.#load(r.key);
      const floor = this.#promised(r.key, cur);
      if (compareVersions(ballot, floor) < 0) return { ok: false, ballot: floor };
      if (cur !== undefined && compareVersions(ballotOf(cur), ballot) >= 0) {
        // A repeat of an accept already done is fine; anything else lost to a newer ballot.
        return ballotOf(cur) === ballot ? { ok: true } : { ok: false, ballot: ballotOf(cur) };
      }
      const stored: PoolRecord = { ...r, ballot };
      if (ballot === r.version) delete stored.ballot;
      await this.#store.put(r.key, encodeRecord(stored));
      this.#promise(r.key, ballot);
      return { ok: true };
    });
  }

  /** The highest ballot `key` is bound by: its promise, its accepted ballot, the start floor. */
  #promised(key: string, cur: PoolRecord | undefined): string {
    let floor = this.#promises.get(key) ?? this.#floor;
    if (compareVersions(floor, this.#floor) < 0) floor = this.#floor;
    if (cur !== undefined && compareVersions(ballotOf(cur), floor) > 0) floor = ballotOf(cur);
    return floor;
  }

  #promise(key: string, ballot: string): void {
    this.#promises.delete(key);
    this.#promises.set(key, ballot);
    if (this.#promises.size > MAX_PROMISES) {
      // Forgetting a promise must not weaken it: the oldest one raises the floor instead.
      const [oldKey, oldBallot] = this.#promises.entries().next().value!;
      this.#promises.delete(oldKey);
      if (compareVersions(oldBallot, this.#floor) > 0) this.#floor = oldBallot;
    }
  }

  async #load(key: string): Promise<PoolRecord | undefined> {
    const b = await this.#store.get(key);
    return b === undefined ? undefined : decodeRecord(key, b);
  }

  /** Removes `key` only if it still holds `version` (used after handing it over). */
  dropIf(key: string, version: string): Promise<boolean> {
    return this.#locks.run(key, async () => {
      const cur = await this.#store.get(key);
      if (cur === undefined || decodeRecord(key, cur).version !== version) return false;
      await this.#store.delete(key);
      return true;
    });
  }

  /** How many records this peer holds (live, expired or tombstoned), counted in pages. */
  async count(pageSize = 1024): Promise<number> {
    let after: string | undefined;
    let n = 0;
    for (;;) {
      const page = await this.#store.list(
        after === undefined ? { limit: pageSize } : { after, limit: pageSize },
      );
      n += page.length;
      if (page.length < pageSize) return n;
      after = page[page.length - 1]!.key;
    }
  }

  /** Records in key order with `prefix`, strictly after `after`, at most `limit` (raw). */
  async scan(opts: { prefix?: string; after?: string; limit: number }): Promise<PoolRecord[]> {
    const entries = await this.#store.list(opts);
    return entries.map((e) => decodeRecord(e.key, e.value));
  }

  /**
   * Drops expired records and tombstones older than `tombstoneGcMs`; returns how many.
   * Walks the whole store in pages so it never holds it all in memory.
   */
  async sweep(pageSize = 512): Promise<number> {
    let after: string | undefined;
    let dropped = 0;
    for (;;) {
      const page = await this.scan(
        after === undefined ? { limit: pageSize } : { after, limit: pageSize },
      );
      if (page.length === 0) return dropped;
      const now = this.#clock();
      for (const r of page) {
        const expired = !r.tombstone && r.expiresAt !== 0 && r.expiresAt <= now;
        const oldTombstone = r.tombstone &&
          (parseVersion(r.version)?.wall ?? 0) + this.#gcMs <= now;
        if ((expired || oldTombstone) && await this.dropIf(r.key, r.version)) dropped++;
      }
      after = page[page.length - 1]!.key;
    }
  }
}
