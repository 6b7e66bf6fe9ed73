/**
 * Tunables of the mesh, each with the reason for its value.
 *
 * @module
 */

/**
 * How long a leaving peer waits for connected peers to acknowledge that they
 * route nothing more to it. On loopback an acknowledgement takes ~1–2 ms; a
 * paused or partitioned peer never sends one, and must not hold up a stop
 * (it learns of the departure when the connection closes).
 */
export const LEAVE_ACK_TIMEOUT_MS = 2_000;

/** Gossip topic of load records; the `/1` is the record version so a new format gets a new topic. */
export const LOAD_TOPIC = "virgo/load/1";

/** After a peer joins our view, wait this long (coalescing further joins) before re-sending hellos to all connected peers so they learn the newcomer's address at once. */
export const HELLO_COALESCE_MS = 50;

/** Direct "hello" protocol: on connect each side pushes its record (and known peers) so views converge without waiting for gossipsub mesh formation (~1 heartbeat). */
export const HELLO_PROTOCOL = "/virgo/load/1.0.0";

/** Remote invoke protocol (HTTP request/response over frames). */
export const INVOKE_PROTOCOL = "/virgo/invoke/1.0.0";

/** How often a peer publishes its load record: 1 s keeps routing fresh at ~0.3 KB/s per peer per receiver. */
export const GOSSIP_INTERVAL_MS = 1_000;

/**
 * A peer whose last record is older than this leaves the view: 5 missed
 * heartbeats. A killed peer usually leaves at once, through its closed
 * connection; expiry is for peers that vanish without one (a host or link
 * going down). At 2.5 s, peers of a 30-peer mesh on 2 busy cores flapped in
 * and out of each other's views, and every flap cost a catalogue sync and a
 * rebalance pass.
 */
export const PEER_EXPIRY_MS = 5_000;

/** How often the view is swept for expired peers; bounds the extra delay after expiry. */
export const SWEEP_INTERVAL_MS = 250;

/** First redial delay after a lost connection: short, because most drops on a LAN are transient. */
export const REDIAL_MIN_MS = 250;

/** Redial delay cap: a dead peer costs at most one dial every 10 s. */
export const REDIAL_MAX_MS = 10_000;

/** Jitter fraction applied to each redial delay (±), so a restarted mesh does not redial in lockstep. */
export const REDIAL_JITTER = 0.2;

/** Stop redialing a non-bootstrap peer after this long without success; it can rejoin through discovery or gossip. */
export const REDIAL_FORGET_MS = 10 * 60_000;

/** Default bound of one request/response frame: large enough for kv values, small enough that a hostile length prefix cannot make us allocate much. */
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;

/**
 * Largest invoke head frame (method, URL, headers as JSON). `Deno.serve`
 * (2.9.6, measured) accepts a request head of up to 64 KiB with up to 128
 * headers, and any one part (method, URL, a header) may take nearly all of
 * it. As JSON a head grows up to 4×: the host appears in the URL and its
 * header, and `"`, `\`, a tab or a byte ≥ 0x80 takes two bytes. 512 KiB
 * carries any request head the HTTP server accepts, plus the headers the
 * invoker adds, with room to spare (p2p/invoke_test.ts checks it).
 */
export const MAX_INVOKE_HEAD_BYTES = 512 * 1024;

/** Most headers in an invoke head: `Deno.serve` accepts 128 request headers (measured); responses, made by functions, may carry more. Bounds the work one head can cost. */
export const MAX_INVOKE_HEADERS = 1024;

/** Body chunk size on the invoke protocol: matches yamux's 64 KiB max message so one frame is about one muxer message. */
export const INVOKE_CHUNK_BYTES = 64 * 1024;

/** Largest accepted invoke body frame: a little over the chunk size; senders never exceed INVOKE_CHUNK_BYTES. */
export const MAX_INVOKE_BODY_FRAME_BYTES = 1024 * 1024;

/** A frame reader pauses its stream (yamux stops granting window) once this much is buffered and nobody is reading: the backpressure bound per stream. */
export const READ_HIGH_WATER_BYTES = 512 * 1024;

/** Yamux per-stream window cap. Kept below the stream's 4 MiB read-buffer limit so a paused stream can never overflow it. */
export const YAMUX_MAX_STREAM_WINDOW = 1024 * 1024;

/** Max pooled streams per (peer, protocol) for request/response: measured 32 concurrent streams reach ~15k calls/s; more only adds memory. */
export const RPC_MAX_STREAMS_PER_PEER = 32;

/** Max pooled streams per peer for invoke: invokes are long (function run time), so allow more in flight before queueing. */
export const INVOKE_MAX_STREAMS_PER_PEER = 128;

/** An idle pooled stream is closed after this long; below yamux's 120 s inactivity timeout so we close before it resets. */
export const POOL_IDLE_MS = 30_000;

/** How often the stream pools look for idle streams to close. */
export const POOL_SWEEP_MS = 5_000;

/** Inbound/outbound stream limit per protocol per connection given to the registrar (its default 32 is below our pool caps). */
export const MAX_PROTOCOL_STREAMS = 1_024;

/** Timeout to open a stream (dial + protocol negotiation) before a call fails with PEER_FAILED. */
export const OPEN_STREAM_TIMEOUT_MS = 5_000;

/** Inbound connections accepted per second from one host. libp2p's default of 5 throttles a mesh restart behind one NAT and in-process tests on 127.0.0.1 (10 peers took 3.5 s to converge, 30 never did); pnet and noise still gate who connects. */
export const INBOUND_CONNECTIONS_PER_SEC_PER_HOST = 100;

/** Inbound connections allowed to be mid-upgrade at once (libp2p default 10), raised for the same reason. */
export const MAX_INCOMING_PENDING_CONNECTIONS = 64;

/** Bound on a hello frame (own record plus known peers' addresses). */
export const MAX_HELLO_BYTES = 256 * 1024;

/** Bound on a gossip load record: a record is ~400 bytes, whatever the size of the catalogue. */
export const MAX_RECORD_BYTES = 64 * 1024;

/** Max addresses accepted per peer in a record: a peer rarely has more than a few interfaces. */
export const MAX_RECORD_ADDRS = 16;

/** Routing: a gossiped load record's weight halves every this many ms of age, so a record from a peer that stopped reporting fades instead of steering traffic; at the 1 s gossip interval a typical record counts 0.7–1. */
export const LOAD_AGE_HALF_LIFE_MS = 2_000;

/**
 * How long the first dial of a join address may take. A wrong swarm key makes the libp2p
 * handshake hang rather than fail (measured: the dial waited for its full abort signal), so
 * this bounds how long `virgo start` takes to say so.
 */
export const JOIN_PROBE_TIMEOUT_MS = 5_000;
