/**
 * Defaults and limits of the memory pool, each with the reason for its value.
 *
 * @module
 */

/** Copies of each key (`--replicas`): three survive one lost peer with a majority (2) left. */
export const DEFAULT_REPLICAS = 3;

/** Largest key in UTF-8 bytes: the contract's limit; keeps LevelDB keys and list pages small. */
export const DEFAULT_MAX_KEY_BYTES = 1024;

/** Largest value (1 MiB): one value must fit in one p2p frame with room for the header. */
export const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024;

/**
 * Largest pool message. Give the mesh handler this as `maxBytes`: a 1 MiB value
 * plus head, or a 1000-key list page of 1 KiB keys with versions, fit with room.
 */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Default `list` page size, from the contract's `GET /v1/kv?limit=`. */
export const DEFAULT_LIST_LIMIT = 100;

/** Largest `list` page: bounds the reply of every peer asked (1000 × 1 KiB keys). */
export const MAX_LIST_LIMIT = 1000;

/** Per-request timeout: a dead peer must not hold a quorum call longer than this. */
export const REQUEST_TIMEOUT_MS = 2000;

/** How long tombstones are kept before GC: long enough for hints and rebalance to spread them. */
export const TOMBSTONE_GC_MS = 24 * 60 * 60 * 1000;

/** Hints older than this are dropped: rebalance owns catch-up for peers gone that long. */
export const HINT_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/** Interval of the sweep that drops expired entries and old tombstones (lazy reads cover the rest). */
export const SWEEP_INTERVAL_MS = 60_000;

/** Interval of hint delivery retries, besides the push on every membership event. */
export const HANDOFF_INTERVAL_MS = 5_000;

/** Records per rebalance batch: one frame, well under `MAX_MESSAGE_BYTES` for small values. */
export const REBALANCE_BATCH = 256;

/** Byte budget per rebalance/handoff batch, so a batch of large values still fits a frame. */
export const BATCH_BYTES = 1024 * 1024;

/** Pause between rebalance batches: moves keys in the background without starving calls. */
export const REBALANCE_DELAY_MS = 20;

/** Wait after a membership event before rebalancing, so a burst of joins costs one pass. */
export const REBALANCE_DEBOUNCE_MS = 200;

/** The `ifMatch` token meaning "the key must not exist" (sorts below every real version). */
export const MUST_NOT_EXIST = "0";

/** Prefix of internal pool keys; user keys cannot start with a control character. */
export const INTERNAL_PREFIX = "\u0000";

/** Prefix of memory-block keys (`virgo_malloc` blocks) inside the pool. */
export const MEM_PREFIX = `${INTERNAL_PREFIX}mem/`;

/**
 * How far ahead of this peer's clock a version (or catalogue stamp) from another peer may be.
 * NTP keeps hosts within milliseconds of each other; 30 s forgives a badly set clock, while a
 * version from the far future — which would win every later write of that key and drag this
 * peer's clock along — is refused, never adopted.
 */
export const MAX_CLOCK_AHEAD_MS = 30_000;

/**
 * A member unseen for this long leaves the membership on its own (an operator can remove one at
 * once with `virgo peers remove`). Long, because until then its keys' quorums still count it:
 * three days covers a weekend outage, after which its replicas are re-created on the others.
 */
export const DECOMMISSION_MS = 72 * 3_600_000;

/** How often a member's "last seen" time is written to disk while it stays up. */
export const MEMBER_SEEN_PERSIST_MS = 10 * 60_000;

/** How often a peer tells a random live member what membership it knows, to heal misses. */
export const MEMBER_SYNC_MS = 10_000;

/**
 * Rounds a proposer tries when other proposers' ballots beat its own (a contended key, or a
 * peer whose clock is behind), before answering `QUORUM_FAILED`.
 */
export const PAXOS_ROUNDS = 6;

/** After a rebalance pass that could not hand every key over, the next try comes this much later. */
export const REBALANCE_RETRY_MS = 1_000;

/**
 * Keys whose acknowledged version a peer remembers one by one for eventual reads (`_seen.ts`):
 * ~100 bytes each, so ~1 MB; a key forgotten raises one floor for all the others, which costs
 * them a strong read once, never a stale answer.
 */
export const SEEN_VERSIONS_MAX = 10_000;

/**
 * Reads of one key set a peer sends another at once (`_read_batch.ts`); reads asked while that
 * many are in flight go in the next request, together. Two keep the link busy while one answer is
 * on its way back; more would mean more, smaller messages — and each message costs both peers a
 * write per frame (the profile of strong reads under load is mostly socket writes).
 */
export const READ_BATCH_INFLIGHT = 2;

/** Keys in one batched read: with 1 KiB keys, well under `MAX_MESSAGE_BYTES` with the values. */
export const READ_BATCH_MAX = 256;

/**
 * A strong read asks a bare majority of the key's replicas (this peer's own first); the others
 * are asked when one of those fails, or when no majority has answered after this long (to twice
 * it). Above the p90 of a read under wrk -c50 on this box (~7 ms), so few reads are asked twice;
 * low enough that a replica starved of CPU costs a read tens of milliseconds, not seconds.
 */
export const READ_HEDGE_MS = 15;
