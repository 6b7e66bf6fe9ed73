/**
 * A cache bounded by the bytes it holds, evicting the least recently used entries first.
 * (`hashlru`, which libp2p brings, bounds the number of entries, not their size: one function's
 * bundle can be 20 MB and another's 2 KB.)
 * @module
 */

/** A byte-bounded LRU cache of strings. */
export interface ByteLru {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
  delete(key: string): void;
  /** Size held now, counted as string length (bundles are mostly ASCII: length ≈ bytes). */
  readonly bytes: number;
}

/**
 * Creates a cache holding at most `maxBytes` of values (by string length).
 *
 * @example
 * ```ts
 * const cache = byteLru(64 * 1024 * 1024);
 * cache.set("abc", code);
 * cache.get("abc");
 * ```
 */
export function byteLru(maxBytes: number): ByteLru {
  const map = new Map<string, string>();
  let bytes = 0;
  const drop = (key: string) => {
    const v = map.get(key);
    if (v === undefined) return;
    map.delete(key);
    bytes -= v.length;
  };
  return {
    get(key) {
      const v = map.get(key);
      if (v === undefined) return undefined;
      map.delete(key);
      map.set(key, v); // most recently used last
      return v;
    },
    set(key, value) {
      drop(key);
      if (value.length > maxBytes) return;
      map.set(key, value);
      bytes += value.length;
      for (const oldest of map.keys()) {
        if (bytes <= maxBytes) break;
        drop(oldest);
      }
    },
    delete: drop,
    get bytes() {
      return bytes;
    },
  };
}
