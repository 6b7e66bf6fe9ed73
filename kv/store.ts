/**
 * The local store interfaces: a {@link Database} per peer, split into plain
 * byte namespaces ({@link Store}). Two implementations exist — LevelDB
 * (`level_store.ts`) and in-memory (`memory_store.ts`) — and both pass the
 * one conformance suite in `_conformance.ts`.
 *
 * @module
 */

/** Options of {@link Store.list}. */
export interface StoreListOptions {
  /** Only keys starting with this. @default "" */
  prefix?: string;
  /** Only keys strictly after this one (the previous page's last key). */
  after?: string;
  /** At most this many entries. @default Infinity */
  limit?: number;
}

/** One entry of a {@link Store.list} page. */
export interface StoreEntry {
  key: string;
  value: Uint8Array;
}

/** One operation of an atomic {@link Store.batch}. */
export type StoreBatchOp =
  | { type: "put"; key: string; value: Uint8Array }
  | { type: "delete"; key: string };

/**
 * A plain local namespace of bytes: no versions, no replication.
 *
 * Why: the runtime keeps bundles, the function catalogue and ids here, and the
 * pool keeps its records, hints and memory ledger in namespaces of its own.
 * Keys are any strings; they sort by UTF-8 bytes (code point order).
 *
 * @example
 * ```ts
 * const bundles = db.store("bundles");
 * await bundles.put("sha256-abc", code);
 * const code = await bundles.get("sha256-abc"); // Uint8Array | undefined
 * ```
 */
export interface Store {
  /** The value of `key`, or `undefined` when missing. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Sets `key` to `value` (a copy is kept). */
  put(key: string, value: Uint8Array): Promise<void>;
  /** Removes `key`; removing a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Entries in key order, filtered by prefix, strictly after `after`, at most `limit`. */
  list(opts?: StoreListOptions): Promise<StoreEntry[]>;
  /** Applies all operations atomically, in order. */
  batch(ops: StoreBatchOp[]): Promise<void>;
}

/**
 * One local database per peer, holding named {@link Store} namespaces.
 *
 * @example
 * ```ts
 * const db = await openDatabase(".virgo/db");
 * const catalogue = db.store("catalogue");
 * await db.close();
 * ```
 */
export interface Database {
  /** The namespace `name` (`[A-Za-z0-9_.:-]{1,128}`); the same name gives the same data. */
  store(namespace: string): Store;
  /**
   * Every entry of every namespace, in key order, as stored (the namespace is part of the key),
   * read from one snapshot taken when iteration begins: what is written later is not in it. For
   * an online backup of a peer; {@linkcode restoreDatabase} writes it into a new LevelDB.
   *
   * @example
   * ```ts
   * let n = 0;
   * for await (const _entry of db.dump()) n++;
   * ```
   */
  dump(): AsyncIterable<RawEntry>;
  /** Closes the database; later calls fail. */
  close(): Promise<void>;
}

/** One entry of a whole {@link Database}: its key with the namespace's prefix, and its value. */
export interface RawEntry {
  key: Uint8Array;
  value: Uint8Array;
}

/**
 * Orders strings by code point, which is UTF-8 byte order — the order LevelDB
 * keeps — unlike `<` on strings, which compares UTF-16 code units.
 *
 * @example
 * ```ts
 * ["\u{1F600}", "\uFFFF"].sort(compareKeys); // ["\uFFFF", "\u{1F600}"]
 * ```
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (U+D800..DFFF) encode code points above U+FFFF: move them past U+E000..FFFF.
    if (x >= 0xd800) x = x <= 0xdfff ? x + 0x2000 : x - 0x800;
    if (y >= 0xd800) y = y <= 0xdfff ? y + 0x2000 : y - 0x800;
    return x - y;
  }
  return a.length - b.length;
}
