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

/** Remote invoke protocol (HTTP request/response over frames). */
export const INVOKE_PROTOCOL = "/virgo/invoke/1.0.0";

/**
 * The SWIM membership protocol (`p2p/swim/`, `p2p/swim_wire.ts`): one frame per message on a
 * short stream. Members are found and dropped by probing, not by flooding records: each peer
 * sends one ping and answers about one per period, whatever the size of the mesh.
 */
export const SWIM_PROTOCOL = "/virgo/swim/1.0.0";

/**
 * Largest SWIM frame accepted: the core's own bound on a `sync` (every member, ~200 B each, up
 * to 10,000 members). Pings and acks are under ~2 KiB (meta ≤ 256 B plus a bounded piggyback).
 */
export const MAX_SWIM_FRAME_BYTES = 4 * 1024 * 1024;

/** SWIM sends in flight at once (dial + stream); more are dropped, as UDP would: the core's timeouts cover loss. */
export const MAX_SWIM_SENDS_IN_FLIGHT = 64;

/**
 * A peer's SWIM stream is closed after this long unused. A member is probed by us about once
 * per N periods and probes us as often, so at 50 peers a stream sees a message every ~25 s on
 * average; 30 s keeps most of them, and lets the connection keeper trim what goes quiet.
 */
export const SWIM_STREAM_IDLE_MS = 30_000;

/** A SWIM send (dial, open stream, write) gives up after this long: past the probe period, an ack is too late anyway. */
export const SWIM_SEND_TIMEOUT_MS = 2_000;

/** Ask the join addresses for a sync this often while this peer knows no other member (they may start after it). */
export const JOIN_RETRY_MS = 2_000;

/**
 * Every this often, ask one member found dead (or a join address not alive) for a sync, as
 * Serf's reconnect does: after a partition heals, each side holds the other dead and no probe
 * crosses, so without it the halves would stay apart. One sync (O(N) bytes) per 10 s, and only
 * while someone is lost (for `RECONNECT_FOR_MS`; join addresses for ever).
 */
export const RECONNECT_MS = 10_000;

/** How long a member found dead stays a reconnect candidate (Serf keeps trying for a day; a starved or cut-off peer here is back within minutes or gone). */
export const RECONNECT_FOR_MS = 10 * 60_000;

/** Most members remembered for reconnecting (the oldest go first): bounds the list after a mass failure. */
export const MAX_RECONNECT_MEMBERS = 256;

/**
 * A frame from a peer we do not know waits this long for it to become a member (we ask it for
 * a sync at once): a peer that joined through another member may call us a moment before the
 * news of its join reaches us. A sync answers in milliseconds; a stranger is refused after it.
 */
export const MEMBER_WAIT_MS = 2_000;

/** Graceful-leave notice: the leaver tells each peer it has a connection with, which acknowledges once it routes nothing more there. */
export const LEAVE_PROTOCOL = "/virgo/leave/1.0.0";

/**
 * A member that announced its leave stays a member (served, never routed to) until its
 * connection to us closes, or this long after we heard it: the leaver's own shutdown (leave
 * acks 2 s, drain `SHUTDOWN_GRACE_MS` 5 s, closing) is well inside it.
 */
export const LEFT_LINGER_MS = 30_000;

/**
 * Neighbours: this many random members are kept connected (plus the join addresses), so the
 * catalogue's gossipsub topic has a connected graph to spread over and probes mostly find a
 * connection open. 6 is gossipsub's own mesh degree (D).
 */
export const NEIGHBOURS = 6;

/**
 * Soft bound on open connections: past it, connections idle longest (no stream opened or
 * accepted, not a neighbour or join address, no stream open) are closed every trim. Neighbours
 * plus the peers this one calls and is probed by fit under it; the rest are transient (a probe
 * of a random member dials it).
 */
export const MAX_IDLE_CONNECTIONS = 20;

/**
 * A connection used within this long is never trimmed, so a probe's ack, its ping-req round
 * and a call in progress keep their link. Two probe periods: at 10 s, a 50-peer mesh (where
 * each peer hears from a different member every half second) kept ~45 connections open.
 */
export const CONNECTION_MIN_IDLE_MS = 2_000;

/** How often connections are trimmed back to the soft bound and the neighbours topped up. */
export const CONNECTION_TRIM_MS = 5_000;

/**
 * Hard bound given to libp2p (`connectionManager.maxConnections`): past it libp2p refuses
 * inbound connections and prunes. Well above the soft bound, so a burst of probes from others
 * is never refused (a refused probe would look like a dead peer).
 */
export const MAX_CONNECTIONS = 128;

/** Routing: p2c and least-loaded choose among this many peers whose load was heard most recently (plus self). */
export const LOAD_SAMPLE_SIZE = 8;

/**
 * Routing: a load heard longer ago than this does not put its peer in the sample. SWIM brings
 * about two loads a second (our probe's ack, another's ping), so a sample of 8 turns over in a
 * few seconds; an invoke response refreshes the peer it came from.
 */
export const LOAD_SAMPLE_MAX_AGE_MS = 15_000;

/** Bound on the encoded load a peer piggybacks on its pings and acks (SWIM meta) and on invoke responses. */
export const MAX_LOAD_META_BYTES = 256;

/** First redial delay after a lost connection to a join address: short, because most drops on a LAN are transient. */
export const REDIAL_MIN_MS = 250;

/** Redial delay cap: a dead peer costs at most one dial every 10 s. */
export const REDIAL_MAX_MS = 10_000;

/** Jitter fraction applied to each redial delay (±), so a restarted mesh does not redial in lockstep. */
export const REDIAL_JITTER = 0.2;

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

/** Routing: a heard load's weight halves every this many ms of age, so the load of a peer not heard from lately fades instead of steering traffic (the calls we sent there and that have not ended still count in full). */
export const LOAD_AGE_HALF_LIFE_MS = 2_000;

/**
 * How long the first dial of a join address may take. A wrong swarm key makes the libp2p
 * handshake hang rather than fail (measured: the dial waited for its full abort signal), so
 * this bounds how long `virgo start` takes to say so. 10 s, not 5: in a start wave of 50 peers
 * on 2 busy cores, a handshake with a peer that was itself starting took over 5 s, and the
 * newcomer was told its swarm key differed.
 */
export const JOIN_PROBE_TIMEOUT_MS = 10_000;
