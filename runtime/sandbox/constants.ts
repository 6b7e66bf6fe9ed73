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

/** Calls in flight on a process above which a further process is started, if cores allow. */
export const SCALE_INFLIGHT = 8;

/** A process that has sent nothing for this long while calls wait is CPU-bound: scale out. */
export const SCALE_BUSY_MS = 50;

/**
 * Delay before replacing a spare that was just taken: starting a Deno process costs ~50 ms of
 * CPU, which on 2 cores would slow the freshly loaded function's first calls several-fold.
 */
export const SPARE_REFILL_DELAY_MS = 250;
