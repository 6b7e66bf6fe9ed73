/**
 * The in-memory {@link Database}: for tests, benches and throwaway peers.
 *
 * @module
 */
import { validateNamespace } from "./keys.ts";
import {
  compareKeys,
  type Database,
  type RawEntry,
  type Store,
  type StoreBatchOp,
  type StoreEntry,
  type StoreListOptions,
} from "./store.ts";

class MemoryStore implements Store {
  readonly #data = new Map<string, Uint8Array>();
  // Sorted lazily: writes are far more frequent than lists on the hot path.
  #sorted: string[] | null = [];

  get(key: string): Promise<Uint8Array | undefined> {
    const v = this.#data.get(key);
    return Promise.resolve(v === undefined ? undefined : v.slice());
  }

  put(key: string, value: Uint8Array): Promise<void> {
    this.#put(key, value);
    return Promise.resolve();
  }

  delete(key: string): Promise<void> {
    if (this.#data.delete(key)) this.#sorted = null;
    return Promise.resolve();
  }

  batch(ops: StoreBatchOp[]): Promise<void> {
    for (const op of ops) {
      if (op.type === "put") this.#put(op.key, op.value);
      else if (this.#data.delete(op.key)) this.#sorted = null;
    }
    return Promise.resolve();
  }

  list(opts: StoreListOptions = {}): Promise<StoreEntry[]> {
    const prefix = opts.prefix ?? "";
    const limit = opts.limit ?? Infinity;
    const keys = this.#keys();
    const from = opts.after !== undefined && compareKeys(opts.after, prefix) >= 0
      ? upperBound(keys, opts.after)
      : lowerBound(keys, prefix);
    const out: StoreEntry[] = [];
    for (let i = from; i < keys.length && out.length < limit; i++) {
      const key = keys[i]!;
      if (!key.startsWith(prefix)) break;
      out.push({ key, value: this.#data.get(key)!.slice() });
    }
    return Promise.resolve(out);
  }

  #put(key: string, value: Uint8Array): void {
    if (!this.#data.has(key)) this.#sorted = null;
    this.#data.set(key, value.slice());
  }

  #keys(): string[] {
    this.#sorted ??= [...this.#data.keys()].sort(compareKeys);
    return this.#sorted;
  }
}

function lowerBound(keys: string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(keys[mid]!, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(keys: string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(keys[mid]!, key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Opens an in-memory {@link Database}; its data lives as long as the object.
 *
 * Why: the same interface as LevelDB without a disk, so unit tests and benches
 * run many peers in one process.
 *
 * @example
 * ```ts
 * const db = openMemoryDatabase();
 * await db.store("bundles").put("a", new Uint8Array([1]));
 * ```
 */
export function openMemoryDatabase(): Database {
  const stores = new Map<string, MemoryStore>();
  let closed = false;
  return {
    store(namespace: string): Store {
      validateNamespace(namespace);
      if (closed) throw new Error("Database is closed");
      let s = stores.get(namespace);
      if (!s) stores.set(namespace, s = new MemoryStore());
      return s;
    },
    async *dump(): AsyncIterable<RawEntry> {
      // Keys as a LevelDB sublevel stores them (`!<namespace>!<key>`), in the same order.
      const enc = new TextEncoder();
      const all: RawEntry[] = [];
      for (const ns of [...stores.keys()].sort(compareKeys)) {
        for (const e of await stores.get(ns)!.list()) {
          all.push({ key: enc.encode(`!${ns}!${e.key}`), value: e.value });
        }
      }
      yield* all;
    },
    close(): Promise<void> {
      closed = true;
      return Promise.resolve();
    },
  };
}
