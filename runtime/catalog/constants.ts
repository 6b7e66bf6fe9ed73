/**
 * Defaults of the function catalogue, each with the reason for its value.
 * @module
 */

/** Gossip topic on which catalogue changes (deploy / delete) are announced. */
export const CATALOG_TOPIC = "virgo/catalog/1";
/** Protocol of the reconciliation walk over two catalogues' digest trees (`walk.ts`). */
export const CATALOG_PROTOCOL = "/virgo/catalog/2.0.0";
/**
 * How often this peer compares its digest with the digests peers gossip (a local check; frames
 * go only to a peer whose digest differs), and the least time between two walks with one peer:
 * a missed announcement heals within a few of these, and a burst of deploys, which makes
 * digests differ until the announcements land, costs one small walk per peer per period.
 */
export const CATALOG_SYNC_MS = 2_000;
/** Nodes (or names, or entries) in one walk frame: bounds each frame (a `nodes` reply is ~90 KB). */
export const WALK_BATCH = 64;
/**
 * A node whose other side holds at most this many entries is settled by listing its names and
 * stamps (one frame of ~25 KB) rather than by descending further.
 */
export const WALK_KEYS_PER_FRAME = 256;
/** Bound on one walk frame, request or reply: 64 entries with their (bounded) secrets fit. */
export const WALK_MAX_BYTES = 16 * 1024 * 1024;
/**
 * How long a tombstone (a deleted function's entry) is kept before it is collected: a peer away
 * for less than this learns of the deletion when it returns. 7 days, as Cassandra's default
 * gc_grace_seconds (10 days) and tombstone horizons of CRDT stores, covers a peer down over a
 * long weekend. See README, "A peer away longer than the tombstone horizon".
 */
export const TOMBSTONE_HORIZON_MS = 7 * 24 * 60 * 60 * 1000;
/** How often tombstones past the horizon are collected: a local sweep, no frames. */
export const TOMBSTONE_SWEEP_MS = 60 * 60 * 1000;
/** Protocol to fetch a bundle by its sha256 from a peer that holds it. */
export const BUNDLE_PROTOCOL = "/virgo/bundle/1.0.0";
/**
 * Bundle code kept in memory, least recently used out first: 64 MiB holds thousands of typical
 * bundles (a few KB to a few hundred KB) and bounds what a catalogue of large ones costs.
 */
export const BUNDLE_CACHE_BYTES = 64 * 1024 * 1024;
/**
 * Children of each node of the catalogue's digest tree: 16 keeps a node's reply small (16
 * fingerprints, ~1.3 KB) while a walk over 10,000 entries needs only a few levels.
 */
export const DIGEST_FANOUT = 16;
/**
 * Levels of the digest tree below its root: 16^3 = 4096 leaf ranges hold 2–3 entries each at
 * 10,000 functions and ~25 at 100,000 (the catalogue's bound), and the tree costs ~170 KB.
 */
export const DIGEST_DEPTH = 3;
/**
 * Versions each function keeps (`--keep-versions`): enough to step back past a few bad deploys;
 * each costs its bundle on disk and a few hundred bytes in every copy of the catalogue entry.
 */
export const DEFAULT_KEEP_VERSIONS = 10;
/** Most versions an entry may carry: bounds what one entry from a peer can make us store. */
export const MAX_KEEP_VERSIONS = 100;
