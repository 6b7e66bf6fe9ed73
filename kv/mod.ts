/**
 * `kv/` — Virgo's memory pool: a LevelDB store per peer, replicated across the
 * mesh by rendezvous hashing, with VIRGO's `virgo_malloc` API on top.
 *
 * Local namespaces (bundles, catalogue):
 *
 * ```ts
 * import { openDatabase } from "./kv/mod.ts";
 * const db = await openDatabase(".virgo/db");
 * await db.store("bundles").put("sha256-…", code);
 * ```
 *
 * The replicated pool:
 *
 * ```ts
 * import { createPool } from "./kv/mod.ts";
 * const pool = createPool({ db, transport, replicas: 3, poolBytes: 64 << 20, logger });
 * await pool.start();
 * const { version } = await pool.put("k", bytes, { ttlSeconds: 60 });
 * await pool.put("k", other, { ifMatch: version }); // compare-and-set
 * const addr = await pool.alloc(4096);              // virgo_malloc
 * await pool.memSet(addr, bytes);                   // virgo_set
 * ```
 *
 * @module
 */
export * from "./constants.ts";
export { KvError, type KvErrorCode } from "./errors.ts";
export { type Logger, silentLogger } from "./logger.ts";
export type {
  Database,
  RawEntry,
  Store,
  StoreBatchOp,
  StoreEntry,
  StoreListOptions,
} from "./store.ts";
export { openDatabase, restoreDatabase } from "./level_store.ts";
export { openMemoryDatabase } from "./memory_store.ts";
export {
  type Consistency,
  createPool,
  type GetOptions,
  type Pool,
  type PoolInit,
  type PutOptions,
} from "./pool.ts";
export type { PoolMember, PoolTransport } from "./transport.ts";
export { type PoolCounters, poolCounters, type QuorumPhase } from "./stats.ts";
export { parseAddress } from "./mem.ts";
export { compareVersions, formatVersion, Hlc, isVersion, NO_VERSION, parseVersion } from "./hlc.ts";
