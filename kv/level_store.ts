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
  type RawEntry,
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

  get(key: string): Promise<Uint8Array | undefined> {
    // LevelDB answers a get from its memtable, block cache or the OS page cache in 1–2 µs; the
    // async binding spends 7–27 µs of this thread per get queueing work for another one
    // (measured on this box). So reads are synchronous; writes stay async (they append to the log).
    // A sublevel opens a moment after it is made: until then, the async get waits for it.
    if (this.#sub.status !== "open") {
      return this.#sub.get(key).then((v) => v === undefined ? undefined : plain(v));
    }
    try {
      const v = this.#sub.getSync(key);
      return Promise.resolve(v === undefined ? undefined : plain(v));
    } catch (err) {
      return Promise.reject(err);
    }
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
    async *dump(): AsyncIterable<RawEntry> {
      // A LevelDB iterator reads from a snapshot taken when it is made.
      const it = db.iterator<Uint8Array, Uint8Array>({
        keyEncoding: "view",
        valueEncoding: "view",
      });
      try {
        for (;;) {
          const step = await it.nextv(ITERATOR_STEP);
          if (step.length === 0) return;
          for (const [key, value] of step) yield { key: plain(key), value: plain(value) };
        }
      } finally {
        await it.close();
      }
    },
    close(): Promise<void> {
      return db.close();
    },
  };
}

/** Bytes of entries written per batch by {@linkcode restoreDatabase}. */
const RESTORE_BATCH_BYTES = 4 * 1024 * 1024;

/**
 * Writes the entries of a {@link Database.dump} into a new LevelDB at `path`, which must hold
 * nothing yet; returns how many were written. The database is closed when it returns.
 *
 * @example
 * ```ts
 * const n = await restoreDatabase("/var/lib/virgo/db", source.dump());
 * ```
 */
export async function restoreDatabase(
  path: string,
  entries: AsyncIterable<RawEntry>,
): Promise<number> {
  const db = new Level<Uint8Array, Uint8Array>(path, {
    keyEncoding: "view",
    valueEncoding: "view",
  });
  await db.open();
  try {
    const first = await db.keys({ limit: 1 }).all();
    if (first.length > 0) throw new Error(`Cannot restore into ${path}: it holds data already`);
    let n = 0;
    let bytes = 0;
    let batch = db.batch();
    for await (const { key, value } of entries) {
      batch.put(key, value);
      n++;
      bytes += key.byteLength + value.byteLength;
      if (bytes >= RESTORE_BATCH_BYTES) {
        await batch.write();
        batch = db.batch();
        bytes = 0;
      }
    }
    await batch.write();
    return n;
  } finally {
    await db.close();
  }
}
