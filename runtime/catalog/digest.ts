/**
 * A fixed-size digest of the catalogue and the tree of range hashes under it, which two peers
 * walk to find the few entries in which their catalogues differ.
 *
 * Each entry is placed by the first bits of sha256(name) into one of `FANOUT^DEPTH` leaf
 * ranges, and its leaf hash is sha256 of (name, stamp, version, deleted). A node's fingerprint
 * is the count of entries under it and the sum (eight 32-bit lanes, wrapping) of their leaf
 * hashes, so a change updates `DEPTH + 1` nodes in place and the root's fingerprint is the
 * digest every peer gossips. Ranges are fixed by the hash of the name, not by the entries a
 * catalogue happens to hold: two catalogues that differ in one entry differ in exactly one
 * node per level, however many entries they share, and the walk descends only there
 * (Dynamo's and Cassandra's Merkle trees over hash ranges; the sum is Negentropy's
 * incremental fingerprint).
 * @module
 */
import { DIGEST_DEPTH, DIGEST_FANOUT } from "./constants.ts";
import { compareStamps } from "./stamp.ts";

/** A node of the tree: how many entries lie under it and the sum of their leaf hashes. */
export interface Fingerprint {
  count: number;
  /** 64 hex characters. */
  sum: string;
}

/** The digest a peer gossips: the root's fingerprint. */
export interface CatalogDigest {
  /** 64 hex characters; equal digests mean equal catalogues (up to sha256 collisions). */
  digest: string;
  count: number;
}

/** What the tree hashes of an entry. */
export interface DigestEntry {
  name: string;
  stamp: string;
  version: string;
  deleted: boolean;
}

/** The tree of one catalogue. */
export interface DigestTree {
  /** Adds or replaces the entry of `entry.name`. */
  put(entry: DigestEntry): Promise<void>;
  /** Removes the entry of `name` (a collected tombstone). */
  remove(name: string): void;
  /** The root's fingerprint. */
  summary(): CatalogDigest;
  /** The fingerprint of node `index` at `level` (0 is the root). */
  node(level: number, index: number): Fingerprint;
  /** Names under node `index` at `level`, with their stamps. */
  keys(level: number, index: number): Array<[name: string, stamp: string]>;
}

const LANES = 8;
const enc = new TextEncoder();

/** Hex of eight 32-bit lanes. */
function hex(lanes: Uint32Array, at: number): string {
  let out = "";
  for (let i = 0; i < LANES; i++) out += lanes[at + i]!.toString(16).padStart(8, "0");
  return out;
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(text)));
}

/** The big-endian 32-bit lanes of a hash. */
function lanesOf(hash: Uint8Array): Uint32Array {
  const view = new DataView(hash.buffer, hash.byteOffset, hash.byteLength);
  const out = new Uint32Array(LANES);
  for (let i = 0; i < LANES; i++) out[i] = view.getUint32(i * 4);
  return out;
}

/** Number of nodes at `level`. */
export function levelSize(level: number): number {
  return DIGEST_FANOUT ** level;
}

/**
 * Creates an empty tree.
 *
 * @example
 * ```ts
 * const tree = createDigestTree();
 * await tree.put({ name: "hello", stamp, version, deleted: false });
 * tree.summary(); // { digest: "…", count: 1 }
 * ```
 */
export function createDigestTree(): DigestTree {
  const counts: Uint32Array[] = [];
  const sums: Uint32Array[] = [];
  for (let l = 0; l <= DIGEST_DEPTH; l++) {
    counts.push(new Uint32Array(levelSize(l)));
    sums.push(new Uint32Array(levelSize(l) * LANES));
  }
  const leafCount = levelSize(DIGEST_DEPTH);
  /** Per entry: its leaf range, its leaf hash and its stamp. */
  const held = new Map<string, { leaf: number; lanes: Uint32Array; stamp: string }>();
  /** Names in each leaf range (created on first use). */
  const buckets: Array<Set<string> | undefined> = new Array(leafCount);

  /** The root's summary, kept until the tree changes: every routed call's load record reads it. */
  let root: { digest: string; count: number } | undefined;

  function apply(leaf: number, lanes: Uint32Array, sign: 1 | -1): void {
    root = undefined;
    for (let l = DIGEST_DEPTH, i = leaf; l >= 0; l--, i = Math.floor(i / DIGEST_FANOUT)) {
      counts[l]![i]! += sign;
      const s = sums[l]!;
      for (let k = 0; k < LANES; k++) {
        s[i * LANES + k] = (s[i * LANES + k]! + sign * lanes[k]!) >>> 0;
      }
    }
  }

  function dropHeld(name: string): void {
    const old = held.get(name);
    if (!old) return;
    apply(old.leaf, old.lanes, -1);
    buckets[old.leaf]?.delete(name);
    held.delete(name);
  }

  return {
    async put(entry) {
      const [place, hash] = await Promise.all([
        sha256(entry.name),
        sha256(`${entry.name}\n${entry.stamp}\n${entry.version}\n${entry.deleted ? 1 : 0}`),
      ]);
      // Puts of one name may finish out of order: the later stamp stays, as in the catalogue.
      const current = held.get(entry.name);
      if (current && compareStamps(current.stamp, entry.stamp) > 0) return;
      const leaf = new DataView(place.buffer).getUint32(0) % leafCount;
      dropHeld(entry.name);
      const lanes = lanesOf(hash);
      held.set(entry.name, { leaf, lanes, stamp: entry.stamp });
      (buckets[leaf] ??= new Set()).add(entry.name);
      apply(leaf, lanes, 1);
    },

    remove(name) {
      dropHeld(name);
    },

    summary() {
      root ??= { digest: hex(sums[0]!, 0), count: counts[0]![0]! };
      return { ...root };
    },

    node(level, index) {
      return { count: counts[level]![index]!, sum: hex(sums[level]!, index * LANES) };
    },

    keys(level, index) {
      const span = levelSize(DIGEST_DEPTH - level);
      const out: Array<[string, string]> = [];
      if (counts[level]![index] === 0) return out;
      for (let leaf = index * span; leaf < (index + 1) * span; leaf++) {
        for (const name of buckets[leaf] ?? []) out.push([name, held.get(name)!.stamp]);
      }
      return out;
    },
  };
}
