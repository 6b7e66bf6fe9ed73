/**
 * Defaults of the function catalogue, each with the reason for its value.
 * @module
 */

/** Gossip topic on which catalogue changes (deploy / delete) are announced. */
export const CATALOG_TOPIC = "virgo/catalog/1";
/** Protocol to fetch a peer's whole catalogue when joining. */
export const CATALOG_PROTOCOL = "/virgo/catalog/1.0.0";
/** How often catalogues are checked against the versions peers gossip: a missed announcement heals within about this long. */
export const CATALOG_SYNC_MS = 2_000;
/** Every this many checks, the whole catalogue is reconciled with one random peer (spreads missed deletions). */
export const CATALOG_FULL_SYNC_TICKS = 5;
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
