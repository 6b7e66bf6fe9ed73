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
  const out = new Uint8Array(HEAD + ver.length + r.value.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, r.tombstone ? 1 : 0);
  view.setFloat64(1, r.expiresAt);
  view.setUint8(9, ver.length);
  out.set(ver, HEAD);
  out.set(r.value, HEAD + ver.length);
  return out;
}

/** Decodes {@link encodeRecord}'s output for `key`. */
export function decodeRecord(key: string, b: Uint8Array): PoolRecord {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const vlen = view.getUint8(9);
  return {
    key,
    tombstone: view.getUint8(0) === 1,
    expiresAt: view.getFloat64(1),
    version: decoder.decode(b.subarray(HEAD, HEAD + vlen)),
    value: b.subarray(HEAD + vlen),
  };
}

/** Options of {@link RecordStore}. */
export interface RecordStoreOptions {
  /** Wall clock in ms. @default Date.now */
  clock?: () => number;
  /** Tombstones older than this (by version wall time) are dropped by {@link RecordStore.sweep}. */
  tombstoneGcMs: number;
}

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

  constructor(store: Store, opts: RecordStoreOptions) {
    this.#store = store;
    this.#clock = opts.clock ?? Date.now;
    this.#gcMs = opts.tombstoneGcMs;
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
   * Stores `r` if it is newer than the stored version; returns the version held afterwards
   * (equal to `r.version` if applied or already there, newer if the replica had a newer one).
   */
  apply(r: PoolRecord): Promise<string> {
    return this.#locks.run(r.key, async () => {
      const cur = await this.#store.get(r.key);
      if (cur !== undefined) {
        const v = decodeRecord(r.key, cur).version;
        if (compareVersions(v, r.version) >= 0) return v;
      }
      await this.#store.put(r.key, encodeRecord(r));
      return r.version;
    });
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
      const page = await this.#store.list(after === undefined ? { limit: pageSize } : { after, limit: pageSize });
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
