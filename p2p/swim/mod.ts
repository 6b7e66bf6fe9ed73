/**
 * `p2p/swim/` — SWIM membership (failure detection by probing, dissemination by piggybacking)
 * as pure code: no libp2p, no sockets, no clock of its own. The mesh hands it a
 * {@link SwimTransport} and feeds it what arrives; the simulation (`bench/sim.ts`) runs the same
 * code for 1,000 peers on virtual time. Contract: /work/SWIM_API.md.
 *
 * @example
 * ```ts
 * import { createSwim, decodeSwim, encodeSwim } from "./p2p/swim/mod.ts";
 *
 * const swim = createSwim({
 *   self: { id: myId, addrs: myAddrs },
 *   transport: { send: (to, addrs, msg) => sendBytes(to, addrs, encodeSwim(msg)) },
 *   meta: () => encodeLoadSummary(),
 * });
 * onBytes((from, bytes) => { const msg = decodeSwim(bytes); if (msg) swim.receive(from, msg); });
 * swim.onEvent((ev) => ev.type === "leave" && dropPeer(ev.member.id));
 * swim.start();
 * swim.join(seeds);
 * ```
 *
 * @module
 */
export { decodeSwim, encodeSwim, wireSize } from "./codec.ts";
export {
  DEFAULTS,
  MAX_ADDR_CHARS,
  MAX_ADDRS,
  MAX_ID_CHARS,
  MAX_META_BYTES,
  MAX_SYNC_MEMBERS,
} from "./constants.ts";
export { realScheduler } from "./scheduler.ts";
export { createSwim } from "./swim.ts";
export type {
  Member,
  MemberState,
  Meta,
  Scheduler,
  Swim,
  SwimConfig,
  SwimEvent,
  SwimInit,
  SwimMessage,
  SwimStats,
  SwimTransport,
  Update,
} from "./types.ts";
