/**
 * The Virgo mesh: libp2p v3 peers that keep their membership by SWIM (probes
 * with piggybacked updates and load, `p2p/swim/`), join through `join`
 * addresses or mDNS, keep a bounded set of connections, serve
 * request/response protocols and remote HTTP invokes over pooled streams, and
 * pick peers to run calls on from a sample of their loads.
 * Optional private network via a libp2p swarm key. All libp2p code of
 * Virgo lives in this folder; other folders see only these interfaces.
 *
 * @example
 * ```ts
 * import { createMesh, createRouter, MeshError } from "./p2p/mod.ts";
 *
 * const mesh = await createMesh({
 *   dataDir: ".virgo/a", listen: ["/ip4/127.0.0.1/tcp/0"], join: [], mdns: false,
 *   localLoad: () => ({ inflight: 0, queued: 0, cores: 2, loopDelayMs: 0,
 *     poolTotalBytes: 0, poolFreeBytes: 0, catalog: { digest: "", count: 0 } }),
 *   logger,
 * });
 * await mesh.handle("/virgo/kv/1", async (req) => req);
 * const router = createRouter(mesh);
 * const peer = router.pick("p2c");
 * await mesh.stop();
 * ```
 *
 * @module
 */
export { createMesh } from "./mesh.ts";
export { asRequest, asResponse, requestHandler } from "./invoke.ts";
export type { MeshInternals } from "./mesh.ts";
export { createRouter, STRATEGIES } from "./routing.ts";
export { isPeerId } from "./peer_id.ts";
export { tcpAddress } from "./addr.ts";
export type { Router, RouterInit, Strategy } from "./routing.ts";
export { MeshError } from "./errors.ts";
export { generateSwarmKey, parseSwarmKey } from "./swarm_key.ts";
export type {
  IncomingCall,
  InvokeHandler,
  LocalLoad,
  Logger,
  MembershipEvent,
  Mesh,
  MeshInit,
  MeshStats,
  OutgoingCall,
  OutgoingResponse,
  PeerInfo,
  RequestHandler,
} from "./types.ts";
export { DEFAULT_MAX_FRAME_BYTES, INVOKE_PROTOCOL, SWIM_PROTOCOL } from "./constants.ts";
