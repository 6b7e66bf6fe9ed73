/**
 * Tunables of the sandbox, each with the reason for its value.
 *
 * @module
 */

/** Default per-call timeout when a spec gives none; CONTRACT.md §1 promises 10 s. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** Default memory cap per function process in MiB; the contract's default deployment. */
export const DEFAULT_MEMORY_MB = 128;

/**
 * V8's young generation per function process (`--max-semi-space-size`, MiB). V8 grows it up to
 * 16 MiB a semi-space under allocation pressure, and a function process keeps what it grew:
 * measured after 3 s of `wrk -c50` on hello, 55–84 MB USS with V8's default against 31–33 MB at
 * 1 MiB (35–38 MB at 2), with no loss of req/s measurable on this shared box (alternating runs:
 * 5.5–6.2k default, 4.0–9.0k at 1 MiB), and a parse-and-cache loop ran no slower. A function's
 * short-lived objects fit 1 MiB; what lives longer is promoted, as at any size.
 */
export const SEMI_SPACE_MB = 1;

/** Spares kept warm by default: one covers a deploy burst of one function (a spare answers its first call in ~1.5 ms, a fresh
 * process in ~34 ms). */
export const DEFAULT_SPARES = 1;

/** Idle time after which a function process is ended: 5 min keeps hot functions warm cheaply. */
export const DEFAULT_IDLE_MS = 5 * 60_000;

/**
 * Function processes kept warm at most, whatever the machine: past the cap, starting one ends the
 * idle one used least recently, and every deploy leaves its version's process warm (without a
 * bound, 600 deploys within the idle time held 600 processes). The cap a peer uses is
 * {@linkcode defaultMaxWarm}: this on a small machine, more on a bigger one.
 */
export const MIN_MAX_WARM = 32;

/** The most processes kept warm by default, however much memory the machine has. */
export const MAX_MAX_WARM = 128;

/**
 * Memory budgeted per warm process when the cap is derived from the machine's memory. Measured:
 * a warm hello holds 16 MB USS / 19 MB PSS after 2,000 calls (RSS 50 MB, most of it the Deno
 * binary shared by every process); twice that leaves room for a function's own heap.
 */
export const WARM_PROCESS_MB = 40;

/** Share of the machine's memory that warm function processes may take by default. */
export const WARM_MEMORY_SHARE = 0.25;

/**
 * The default cap on warm function processes: as many as {@linkcode WARM_MEMORY_SHARE} of the
 * machine's memory holds at {@linkcode WARM_PROCESS_MB} each, within
 * [{@linkcode MIN_MAX_WARM}, {@linkcode MAX_MAX_WARM}]: 24 GB → 128; 8 GB → 51; 4 GB → 32.
 * Below the cap, 100 functions called in rotation stay warm (p99 a few ms) instead of each call
 * starting a process (~40 ms).
 */
export function defaultMaxWarm(totalBytes = systemMemory()): number {
  const n = Math.floor((totalBytes * WARM_MEMORY_SHARE) / (WARM_PROCESS_MB * 1024 * 1024));
  return Math.min(MAX_MAX_WARM, Math.max(MIN_MAX_WARM, n));
}

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
 * After a call is cancelled, a child that sends nothing at all for this long (no acknowledgement,
 * no answer to any other call) is stuck in a loop and is killed; one that keeps answering other
 * calls is busy, not stuck, and is waited for. Generous because a loaded 2-core machine can stall
 * a healthy loop.
 */
export const CANCEL_GRACE_MS = 1_500;

/** RSS watchdog sampling interval: a filled 1 GB buffer takes ~300 ms, so 50 ms catches it early. */
export const RSS_SAMPLE_MS = 50;

/**
 * RSS allowed above `memoryMb` for the Deno runtime itself (an idle child measured 33–40 MB RSS,
 * plus V8 young generation and code space).
 */
export const RSS_OVERHEAD_MB = 96;

/** How often idle processes are looked for; coarse since idleMs is minutes. */
export const IDLE_SWEEP_MS = 10_000;

/** Longest console message forwarded from a function; protects the host's logs. */
export const MAX_LOG_CHARS = 8 * 1024;

/** After stdin closes, a child waits this long for `ctx.waitUntil` promises before exiting. */
export const WAIT_UNTIL_GRACE_MS = 5_000;

/**
 * Where a function may not connect, in three groups a profile opens separately: `loopback`
 * (opened by `allowLoopback`), `private` (by `allowPrivate`) and `always` (never opened). A
 * function reaches public addresses only by default.
 *
 * Each entry is an IPv4 CIDR, a bracketed IPv6 address, or an IPv6 prefix. Deno 2.9's
 * `--deny-net` takes the first two (it normalises IPv4-mapped IPv6 such as `[::ffff:10.0.0.1]`
 * and `127.1`-style forms in URLs) but rejects IPv6 prefixes, so those are enforced only by the
 * child's wrappers of `fetch`, `Deno.connect`, `Deno.connectTls`, `Deno.createHttpClient`,
 * `WebSocket` and `Deno.permissions` (see `_net_policy.ts`), which act on IP literals.
 *
 * Host names are not listed: Deno checks the address a name resolves to against the IPv4 CIDRs
 * and single IPv6 addresses here (measured: with `127.0.0.0/8` denied, `fetch("http://localhost:1/")`
 * fails with `Requires net access to "127.0.0.1:1"`). What stays open, measured on Deno 2.9.6:
 * - a name resolving to an address in an IPv6 prefix below (say an AAAA record `fd00::1`):
 *   Deno cannot deny IPv6 ranges, and checking answers in the child first is no defence (the
 *   name can answer differently a moment later, and `Deno.resolveDns` itself is refused when
 *   the host's resolver sits in a denied range, as it usually does);
 * - a redirect to an IPv6 literal in those prefixes, which `fetch` follows internally;
 * - IPv6 literals given to `node:net`, `node:http(s)`, `node:tls`, `node:http2` and `node:dgram`,
 *   and to code in a `node:worker_threads` worker, none of which go through the wrappers.
 * Closing these needs the host's firewall (an ip6tables rule for the peer's user) or a network
 * namespace; the IPv4 groups and the IPv6 addresses listed in brackets are closed everywhere.
 */
export const NET_DENY = {
  /** Loopback and "this network" (connecting to 0.0.0.0 or :: reaches loopback on Linux). */
  loopback: ["127.0.0.0/8", "0.0.0.0/8", "[::1]", "[::]"],
  /** RFC 1918, shared address space (RFC 6598; e.g. Alibaba's metadata 100.100.100.200), ULA. */
  private: [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
    // Deprecated site-local (RFC 3879) and local-use NAT64 (RFC 8215): private in practice.
    "fec0::/10",
    "64:ff9b:1::/48",
  ],
  /**
   * Link-local (169.254.169.254 is the cloud metadata service), multicast, reserved (with the
   * broadcast address 255.255.255.255), and the IPv6 metadata services of AWS, GCP and Oracle
   * Cloud, which sit inside fc00::/7 and so stay closed even when private ranges are open.
   */
  always: [
    "169.254.0.0/16",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "fe80::/10",
    "ff00::/8",
    "[fd00:ec2::254]",
    "[fd20:ce::254]",
    "[fd00:c1::a9fe:a9fe]",
  ],
} as const;

/**
 * A host in {@linkcode NET_DENY}'s `always` group, so denied in every profile: the child asks
 * Deno about it to answer a permission query with a genuine `denied` status.
 */
export const ALWAYS_DENIED_HOST = "169.254.169.254";

/**
 * A call that waited this long in the host's queue means the version's processes are saturated:
 * a further process is started, if cores allow. Short enough that a burst of CPU-bound calls gets
 * a second core within a few calls; long enough that fast functions, whose queue empties within
 * a millisecond, stay on one process.
 */
export const SCALE_BUSY_MS = 50;

/**
 * Calls one process runs at once before calls wait in the host's queue, to start with; the pool
 * then learns it per version (see `_limit.ts`). 16 lets a function that waits on the network take
 * a first burst before anything is measured, and costs a CPU-bound one a first wave of at most
 * 16 × its run time, until its first late starts cut the limit.
 */
export const PROCESS_LIMIT_INITIAL = 16;

/**
 * Fewest calls a process is handed at once: 2 keeps its one thread busy while the host turns a
 * response into the next request (one round trip, ~0.1 ms measured on this channel).
 */
export const PROCESS_LIMIT_MIN = 2;

/**
 * Most calls a process is handed at once. A function that waits on the network (fetch, env.KV)
 * usefully runs many; 64 bounds what one slow upstream can pile up inside one process, and the
 * memory of its bodies in flight (64 × STREAM_WINDOW each way).
 */
export const PROCESS_LIMIT_MAX = 64;

/**
 * The target of the queue inside a process (CoDel's target): a process that takes longer than
 * this to start a call it was handed is busy with others, so it is handed fewer. 10 ms is half
 * of one 20 ms CPU-bound call, and well above the ~1 ms a quiet process takes.
 */
export const PROCESS_WAIT_TARGET_MS = 10;

/**
 * Calls running in all of a peer's sandboxes at once. Past it calls wait in the queue. Each
 * running call may hold up to 2 × STREAM_WINDOW of body in the host, so 256 calls bound that to
 * ~512 MB; no 2-core peer usefully runs more (a CPU-bound call needs a core to itself).
 */
export const PEER_MAX_INFLIGHT = 256;

/**
 * Longest a call may be expected to wait in the host's queue (CoDel's interval): one that would
 * wait longer is refused at once with `OVERLOADED`, so accepted calls keep a bounded latency and
 * the refused ones can go elsewhere. Half a second absorbs a burst of half a second of capacity,
 * and is still well inside the default 10 s timeout. Capped at half a function's own timeout.
 */
export const QUEUE_WAIT_MAX_MS = 500;

/**
 * Most calls waiting in a peer's queues, whatever the wait estimate says: a memory bound for a
 * cold start (no estimate yet) under a flood. 1024 waiting requests hold ~1 MB of heads.
 */
export const QUEUE_MAX = 1024;

/** Smoothing of the drain-rate estimate (EWMA weight of a new sample): ~10 calls of memory. */
export const DRAIN_EWMA = 0.1;

/** The shortest `Retry-After` (seconds) told to a refused caller; HTTP counts in whole seconds. */
export const RETRY_AFTER_MIN_S = 1;

/**
 * A module must finish loading (its top-level code and awaits) within this long, or the deploy is
 * refused with `INVALID_BUNDLE` and its process ended; a function's own timeout, when longer,
 * applies instead. Generous: a cold import on a loaded 2-core host takes ~50 ms.
 */
export const LOAD_TIMEOUT_MS = 10_000;

/**
 * When the pool stops, calls already running get this long to finish before their processes are
 * killed; calls still queued are refused at once (`SANDBOX_STOPPED`, so the caller can go
 * elsewhere). The peer's HTTP server has already drained its own calls by then.
 */
export const STOP_GRACE_MS = 2_000;

/**
 * Delay before replacing a spare that was just taken: starting a Deno process costs ~50 ms of
 * CPU, which on 2 cores would slow the freshly loaded function's first calls several-fold.
 */
export const SPARE_REFILL_DELAY_MS = 250;

/** The machine's memory in bytes, or 0 when this process may not ask (no `--allow-sys`). */
function systemMemory(): number {
  try {
    return Deno.systemMemoryInfo().total;
  } catch {
    return 0;
  }
}
