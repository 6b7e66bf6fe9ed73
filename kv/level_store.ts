/**
 * The LevelDB {@link Database} (through `level`), one per peer. Each namespace
 * is a sublevel, so namespaces share one LevelDB and one write-ahead log.
 *
 * @module
 */
import { Level } from "level";
import { validateNamespace } from "./keys.ts";
import {
  compareKeys,
  type Database,
  type Store,
  type StoreBatchOp,
  type StoreEntry,
  type StoreListOptions,
} from "./store.ts";

const ENCODINGS = { keyEncoding: "utf8", valueEncoding: "view" } as const;

function sublevel(db: Level<string, Uint8Array>, name: string) {
  return db.sublevel<string, Uint8Array>(name, ENCODINGS);
}
type Sub = ReturnType<typeof sublevel>;
// Entries read per iterator step: amortises the native call without big buffers.
const ITERATOR_STEP = 128;

// level hands back Buffers; callers compare and serialise plain Uint8Arrays.
function plain(v: Uint8Array): Uint8Array {
  return v.constructor === Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

class LevelStore implements Store {
  readonly #sub: Sub;
  constructor(sub: Sub) {
    this.#sub = sub;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const v = await this.#sub.get(key);
    return v === undefined ? undefined : plain(v);
  }

  put(key: string, value: Uint8Array): Promise<void> {
    return this.#sub.put(key, value);
  }

  delete(key: string): Promise<void> {
    return this.#sub.del(key);
  }

  batch(ops: StoreBatchOp[]): Promise<void> {
    return this.#sub.batch(
      ops.map((op) =>
        op.type === "put"
          ? { type: "put" as const, key: op.key, value: op.value }
          : { type: "del" as const, key: op.key }
      ),
    );
  }

  async list(opts: StoreListOptions = {}): Promise<StoreEntry[]> {
    const prefix = opts.prefix ?? "";
    const limit = opts.limit ?? Infinity;
    const out: StoreEntry[] = [];
    if (limit <= 0) return out;
    const range = opts.after !== undefined && compareKeys(opts.after, prefix) >= 0
      ? { gt: opts.after }
      : { gte: prefix };
    const it = this.#sub.iterator(range);
    try {
      while (out.length < limit) {
        const step = await it.nextv(Math.min(ITERATOR_STEP, limit - out.length));
        if (step.length === 0) break;
        for (const [key, value] of step) {
          if (!key.startsWith(prefix)) return out;
          out.push({ key, value: plain(value) });
        }
      }
      return out;
    } finally {
      await it.close();
    }
  }
}

/**
 * Opens (creating if needed) the LevelDB at `path` as a {@link Database}.
 *
 * Why: one LevelDB per peer keeps bundles, the catalogue and pool records
 * durable across restarts; writes survive a killed process (the OS keeps the log).
 *
 * @example
 * ```ts
 * const db = await openDatabase(".virgo/db");
 * const catalogue = db.store("catalogue");
 * await catalogue.put("hello", new TextEncoder().encode("{}"));
 * await db.close();
 * ```
 */
export async function openDatabase(path: string): Promise<Database> {
  const db = new Level<string, Uint8Array>(path, ENCODINGS);
  await db.open();
  const stores = new Map<string, LevelStore>();
  return {
    store(namespace: string): Store {
      validateNamespace(namespace);
      let s = stores.get(namespace);
      if (!s) stores.set(namespace, s = new LevelStore(sublevel(db, namespace)));
      return s;
    },
    close(): Promise<void> {
      return db.close();
    },
  };
}
