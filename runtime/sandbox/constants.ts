/**
 * Tunables of the sandbox, each with the reason for its value.
 *
 * @module
 */

/** Default per-call timeout when a spec gives none; CONTRACT.md §1 promises 10 s. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** Default memory cap per function process in MiB; the contract's default deployment. */
export const DEFAULT_MEMORY_MB = 128;

/** Spares kept warm by default: one covers a deploy burst of one function (MEASURED.md). */
export const DEFAULT_SPARES = 1;

/** Idle time after which a function process is ended: 5 min keeps hot functions warm cheaply. */
export const DEFAULT_IDLE_MS = 5 * 60_000;

/**
 * Bodies up to this size travel inside the head frame: one frame instead of three, and a
 * 64 KiB copy costs less than the extra round trip of a stream.
 */
export const INLINE_BODY_MAX = 64 * 1024;

/** Largest body chunk per frame; bounds the copy into the write batch. */
export const CHUNK_MAX = 256 * 1024;

/**
 * Bytes a body stream may have in flight without the reader's credit: bounds the memory a
 * 100 MB body costs in either process to about this much.
 */
export const STREAM_WINDOW = 1024 * 1024;

/** Largest frame accepted from a child; anything bigger is garbage and ends the child. */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;

/**
 * After a timeout, the child must acknowledge the cancel within this long, or it is stuck (a CPU
 * loop) and is killed. Generous because a loaded 2-core machine can stall a healthy loop.
 */
export const CANCEL_GRACE_MS = 1_500;

/** RSS watchdog sampling interval: a filled 1 GB buffer takes ~300 ms, so 50 ms catches it early. */
export const RSS_SAMPLE_MS = 50;

/**
 * RSS allowed above `memoryMb` for the Deno runtime itself (an idle child is 33–40 MB RSS per
 * MEASURED.md, plus V8 young generation and code space).
 */
export const RSS_OVERHEAD_MB = 96;

/** How often idle processes are looked for; coarse since idleMs is minutes. */
export const IDLE_SWEEP_MS = 10_000;

/** Longest console message forwarded from a function; protects the host's logs. */
export const MAX_LOG_CHARS = 8 * 1024;

/** After stdin closes, a child waits this long for `ctx.waitUntil` promises before exiting. */
export const WAIT_UNTIL_GRACE_MS = 5_000;

/**
 * Loopback and wildcard addresses a function may not reach unless its spec allows loopback;
 * Deno 2.9's `--deny-net` accepts CIDR (tested: 127.0.0.2, 127.1, 0x7f000001 all denied).
 */
export const LOOPBACK_DENY = ["127.0.0.0/8", "localhost", "[::1]", "0.0.0.0", "[::]"];

/** Calls in flight on a process above which a further process is started, if cores allow. */
export const SCALE_INFLIGHT = 8;

/** A process that has sent nothing for this long while calls wait is CPU-bound: scale out. */
export const SCALE_BUSY_MS = 50;

/**
 * Delay before replacing a spare that was just taken: starting a Deno process costs ~50 ms of
 * CPU, which on 2 cores would slow the freshly loaded function's first calls several-fold.
 */
export const SPARE_REFILL_DELAY_MS = 250;
