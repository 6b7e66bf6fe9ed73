/**
 * Assembly of the libp2p node: every libp2p module Virgo uses, in one place.
 *
 * @module
 */
import { noise } from "@chainsafe/libp2p-noise";
import { gossipsub } from "@libp2p/gossipsub";
import type { GossipSub } from "@libp2p/gossipsub";
import { identify } from "@libp2p/identify";
import type { Identify } from "@libp2p/identify";
import type { Libp2p, PrivateKey } from "@libp2p/interface";
import { mdns } from "@libp2p/mdns";
import { ping } from "@libp2p/ping";
import type { Ping } from "@libp2p/ping";
import { preSharedKey } from "@libp2p/pnet";
import { yamux } from "@libp2p/yamux";
import { createLibp2p } from "libp2p";
import type { Libp2pOptions } from "libp2p";
import {
  INBOUND_CONNECTIONS_PER_SEC_PER_HOST,
  MAX_CONNECTIONS,
  MAX_INCOMING_PENDING_CONNECTIONS,
  YAMUX_MAX_STREAM_WINDOW,
} from "./constants.ts";
import { parseSwarmKey } from "./swarm_key.ts";
import { tcpOneWrite } from "./_tcp_one_write.ts";
// Window updates at half a window, not after every data frame.
import "./_yamux_window.ts";

/** The libp2p node with the services Virgo configures. */
export type VirgoNode = Libp2p<{ identify: Identify; ping: Ping; pubsub: GossipSub }>;

type Muxer = NonNullable<Libp2pOptions["streamMuxers"]>[number];

/** What {@link createNode} needs. */
export interface NodeInit {
  privateKey: PrivateKey;
  listen: string[];
  mdns: boolean;
  /** Contents of a swarm.key file; validated here, so a bad key fails the start with a clear error. */
  swarmKey?: Uint8Array;
}

/**
 * Build (not start) the libp2p node: TCP, noise, yamux, identify, ping,
 * gossipsub; mDNS if enabled, pnet if a swarm key is given. The join addresses
 * are the mesh's business (`join.ts`, SWIM's sync, `connections.ts`). Not
 * started, so protocol handlers can be registered first.
 *
 * @example
 * ```ts
 * const node = await createNode({ privateKey, listen: ["/ip4/127.0.0.1/tcp/0"], mdns: false });
 * await node.start();
 * ```
 */
export async function createNode(init: NodeInit): Promise<VirgoNode> {
  const peerDiscovery: NonNullable<Libp2pOptions["peerDiscovery"]> = [];
  if (init.mdns) peerDiscovery.push(mdns());
  const psk = init.swarmKey === undefined ? undefined : parseSwarmKey(init.swarmKey);
  return await createLibp2p({
    start: false,
    privateKey: init.privateKey,
    addresses: { listen: init.listen },
    transports: [tcpOneWrite()],
    connectionEncrypters: [noise()],
    streamMuxers: [
      // A paused stream may receive up to one window more; keep that below
      // the stream's 4 MiB read-buffer limit (see FrameReader backpressure).
      // The cast: yamux's declared types trip exactOptionalPropertyTypes only.
      yamux({
        streamOptions: { maxStreamWindowSize: YAMUX_MAX_STREAM_WINDOW },
      }) as unknown as Muxer,
    ],
    ...(psk === undefined ? {} : { connectionProtector: preSharedKey({ psk }) }),
    peerDiscovery,
    // SWIM detects failures; libp2p's monitor would ping every connection every 10 s besides,
    // which cost as much as SWIM itself on an idle peer.
    connectionMonitor: { enabled: false },
    connectionManager: {
      maxConnections: MAX_CONNECTIONS,
      inboundConnectionThreshold: INBOUND_CONNECTIONS_PER_SEC_PER_HOST,
      maxIncomingPendingConnections: MAX_INCOMING_PENDING_CONNECTIONS,
    },
    services: {
      // Identify (and, through the protocols it reports, gossipsub) runs only on the
      // connections the connection keeper keeps — neighbours and join peers — not on each
      // connection a probe opens for a moment: at 50 peers that halved what a connection cost.
      identify: identify({ runOnConnectionOpen: false }),
      ping: ping(),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        // Gossipsub penalises more than 10 peers on one IP address (a Sybil
        // defence for open networks). Virgo peers sharing an address is normal
        // (a machine running several, containers behind one NAT, loopback),
        // and with the penalty a mesh past ~11 such peers graylisted itself:
        // at 30 peers every view collapsed to one within a minute.
        scoreParams: { IPColocationFactorWeight: 0 },
      }),
    },
  });
}
