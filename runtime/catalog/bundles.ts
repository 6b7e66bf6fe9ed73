/**
 * Function bundles, stored content-addressed by sha256 in LevelDB and served
 * to other peers over `/virgo/bundle/1.0.0`. A peer that lacks a bundle
 * fetches it on first need from a peer that holds it, and keeps it only if
 * its hash matches and some kept version still refers to it. The catalogue
 * deletes a bundle once no entry refers to it ({@linkcode BundleStore.delete},
 * {@linkcode BundleStore.sweep}).
 * @module
 */
import type { Database } from "../../kv/mod.ts";
import { MAX_DEPLOY_BYTES } from "../constants.ts";
import { BUNDLE_CACHE_BYTES, BUNDLE_PROTOCOL } from "./constants.ts";
import { byteLru } from "./_lru.ts";
import { VirgoError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { CatalogNet, FunctionMeta } from "./entry.ts";
import { sha256Hex } from "../../core/mod.ts";

/** The bundles of one peer. */
export interface BundleStore {
  /** Registers the protocol that serves bundles to other peers. */
  serve(): Promise<void>;
  /** Stores a bundle under its hash. */
  put(hash: string, bytes: Uint8Array, code: string): Promise<void>;
  /** The code of an entry or a kept version: from memory, from LevelDB, or fetched from the mesh. */
  code(meta: BundleRef): Promise<string>;
  /** Forgets a bundle: from LevelDB and from the memory cache. */
  delete(hash: string): Promise<void>;
  /** Deletes every stored bundle `keep` refuses; returns how many went. */
  sweep(keep: (hash: string) => boolean): Promise<number>;
}

/** What names a bundle and where it may be found: an entry or one of its kept versions. */
export type BundleRef = Pick<FunctionMeta, "name" | "version" | "hash" | "origin">;

const enc = new TextEncoder();
const dec = new TextDecoder();
const HASH = /^[0-9a-f]{64}$/;

/**
 * Creates the bundle store.
 *
 * @example
 * ```ts
 * const bundles = createBundleStore({ db, net: mesh, logger });
 * await bundles.serve();
 * const code = await bundles.code(meta);
 * ```
 */
export function createBundleStore(
  init: {
    db: Database;
    net: CatalogNet;
    logger: Logger;
    /** This peer's catalogue digest: peers with the same one hold the same versions. */
    digest: () => string;
    /** Whether a bundle is still referred to: one fetched after its last version went is not kept. */
    wanted?: (hash: string) => boolean;
  },
): BundleStore {
  const { net, logger } = init;
  const store = init.db.store("bundles");
  // Bounded: every version's code stays in LevelDB, only the ones in use need to be in memory.
  const cache = byteLru(BUNDLE_CACHE_BYTES);
  const fetching = new Map<string, Promise<string>>();

  const wanted = init.wanted ?? (() => true);

  async function fetchFromMesh(meta: BundleRef): Promise<string> {
    // Any member may hold it; those whose catalogue equals ours surely know this version, and
    // the peer it was deployed on had its bundle first.
    const ours = init.digest();
    const others = net.peers().filter((p) => !p.self);
    const holders = [
      ...others.filter((p) => p.peerId === meta.origin),
      ...others.filter((p) => p.peerId !== meta.origin && p.catalog.digest === ours),
      ...others.filter((p) => p.peerId !== meta.origin && p.catalog.digest !== ours),
    ].map((p) => p.peerId);
    for (const peer of holders) {
      try {
        const bytes = await net.request(peer, BUNDLE_PROTOCOL, enc.encode(meta.hash), {
          maxBytes: MAX_DEPLOY_BYTES + 1024,
        });
        if ((await sha256Hex(bytes)) !== meta.hash) {
          logger.warn({ peer, fn: meta.name }, "Bundle from peer failed its hash check");
          continue;
        }
        const code = dec.decode(bytes);
        if (wanted(meta.hash)) {
          await store.put(meta.hash, bytes);
          cache.set(meta.hash, code);
        }
        logger.info({ fn: meta.name, from: peer, size: bytes.byteLength }, "Bundle fetched");
        return code;
      } catch (err) {
        logger.debug({ peer, err: String(err) }, "Bundle fetch failed");
      }
    }
    throw new VirgoError("NO_PEER_AVAILABLE", `No peer could supply the bundle of ${meta.name}`);
  }

  return {
    async serve() {
      await net.handle(BUNDLE_PROTOCOL, async (req) => {
        const hash = dec.decode(req);
        if (!HASH.test(hash)) throw new VirgoError("BAD_REQUEST", "Malformed hash");
        const bytes = await store.get(hash);
        if (!bytes) throw new VirgoError("NOT_FOUND", `No bundle ${hash}`);
        return bytes;
      }, { maxBytes: 128 });
    },

    async put(hash, bytes, code) {
      await store.put(hash, bytes);
      cache.set(hash, code);
    },

    async code(meta) {
      const cached = cache.get(meta.hash);
      if (cached !== undefined) return cached;
      const stored = await store.get(meta.hash);
      if (stored) {
        const code = dec.decode(stored);
        cache.set(meta.hash, code);
        return code;
      }
      let pending = fetching.get(meta.hash);
      if (!pending) {
        pending = fetchFromMesh(meta).finally(() => fetching.delete(meta.hash));
        fetching.set(meta.hash, pending);
      }
      return await pending;
    },

    async delete(hash) {
      cache.delete(hash);
      await store.delete(hash);
    },

    async sweep(keep) {
      let gone = 0;
      let after: string | undefined;
      // Paged: the values come with the keys, so a page bounds what is read at once.
      for (;;) {
        const page = await store.list(after === undefined ? { limit: 64 } : { after, limit: 64 });
        if (page.length === 0) return gone;
        after = page[page.length - 1]!.key;
        for (const { key } of page) {
          if (keep(key)) continue;
          cache.delete(key);
          await store.delete(key);
          gone++;
        }
      }
    },
  };
}
