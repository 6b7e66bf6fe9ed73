/**
 * Defaults and bounds of the SWIM core, each with the reason for its value. The protocol
 * values are hashicorp/memberlist's `DefaultLANConfig` unless said otherwise.
 *
 * @module
 */
import type { SwimConfig } from "./types.ts";

/**
 * Protocol defaults. Probe interval 1 s and probe timeout 500 ms as memberlist's LAN config;
 * three indirect checks (SWIM paper, memberlist); suspicion and retransmit multipliers 4 as
 * memberlist. The piggyback budget is memberlist's UDP buffer (1,400 bytes, ~8 alive updates).
 * Piggybacking alone moves ~16 updates/s per peer (one ping and one ack per second): a join
 * wave of 50 peers took ~50 s to reach everyone in the simulation. So, as memberlist, queued
 * news also goes to 3 random members every 200 ms — only while there is news, so steady state
 * stays one ping and one ack per period.
 * Dead members are kept 60 s — far longer than an update lives (≤ 16 sends of ~1 s) — so a stale
 * `alive` cannot bring them back; a restarted peer comes back with a higher incarnation.
 */
export const DEFAULTS: SwimConfig = {
  probeIntervalMs: 1_000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  suspicionMult: 4,
  retransmitMult: 4,
  maxPiggybackBytes: 1_400,
  gossipIntervalMs: 200,
  gossipNodes: 3,
  deadRetentionMs: 60_000,
  syncCooldownMs: 5_000,
};

/** Longest peer id accepted (a libp2p Ed25519 id is 52 characters). */
export const MAX_ID_CHARS = 128;
/** Most addresses per member, as the load record allowed. */
export const MAX_ADDRS = 8;
/** Longest address accepted. */
export const MAX_ADDR_CHARS = 512;
/** Largest meta a peer may attach about itself (the integration encodes its load summary in it). */
export const MAX_META_BYTES = 256;
/** Most updates in one ping, ack, ping-req or nack (the byte budget usually stops sooner). */
export const MAX_UPDATES = 64;
/** Most members in one `sync`: the mesh size this protocol supports. */
export const MAX_SYNC_MEMBERS = 10_000;
/** Largest encoded message other than `sync`. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/** Largest encoded `sync` (10,000 members of ~200 bytes). */
export const MAX_SYNC_BYTES = 4 * 1024 * 1024;
