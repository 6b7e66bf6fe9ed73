/**
 * Bounds of the function logs, each with the reason for its value.
 * @module
 */

/** Lines a peer keeps per function: `virgo logs` without `--follow` shows up to this many per peer. */
export const RING_LINES = 1_000;
/**
 * Bytes a peer keeps per function (a line's text plus ~100 bytes of fields): one function that
 * prints 8 KiB lines keeps its last ~30, and one peer's answer to a member stays small.
 */
export const RING_BYTES = 256 * 1024;
/** Bytes a peer keeps for all functions: past it, the least recently written function loses lines first. */
export const TOTAL_BYTES = 16 * 1024 * 1024;
/** What a line costs beyond its text: its fields and the object holding them. */
export const LINE_OVERHEAD_BYTES = 100;
/** Protocol with which a peer asks a member for its lines of one function since a time or cursor. */
export const LOGS_PROTOCOL = "/virgo/logs/1.0.0";
/** Largest answer to a logs request: a ring's bytes with room for JSON. */
export const MAX_REPLY_BYTES = 2 * RING_BYTES;
/** How long a members' answer may take before `virgo logs` goes on without it. */
export const MEMBER_TIMEOUT_MS = 5_000;
/**
 * How often a follow asks each member for new lines. Members answer from memory with a few lines
 * at most, so twice a second costs little and shows a line within half a second.
 */
export const FOLLOW_POLL_MS = 500;
/** An SSE comment this often keeps proxies from closing a quiet follow. */
export const KEEPALIVE_MS = 15_000;
/** Follows open at once on one peer: each polls every member. */
export const MAX_FOLLOWS = 32;
