/**
 * SWIM over libp2p: the {@link SwimTransport} of the real mesh. One message is one frame on a
 * short stream (`SWIM_PROTOCOL`), opened on the connection to the peer if there is one, or on
 * a connection dialed for it (which the connection keeper closes again once idle). Sends are
 * fire-and-forget and bounded in number, like UDP datagrams: the core's timeouts handle loss.
 *
 * Inbound, a frame is decoded and validated (`decodeSwim`), and handed to the core only from
 * a peer the core knows, in any state — or, for a `sync` (a join), from any peer that could
 * connect, which in a private mesh proved the swarm key (as the hello of earlier versions).
 *
 * @module
 */
import type { Connection, Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import {
  MAX_SWIM_FRAME_BYTES,
  MAX_SWIM_SENDS_IN_FLIGHT,
  SWIM_PROTOCOL,
  SWIM_SEND_TIMEOUT_MS,
} from "./constants.ts";
import { FrameReader, writeFrame } from "./frames.ts";
import type { VirgoNode } from "./node.ts";
import { decodeSwim, encodeSwim, type SwimMessage, type SwimTransport } from "./swim/mod.ts";
import type { Logger } from "./types.ts";

/** Dependencies of {@link SwimWire}. */
export interface SwimWireInit {
  node: VirgoNode;
  logger: Logger;
  /** Called with the peer of every stream sent or received (the connection is in use). */
  touch: (peerId: string) => void;
  /** Whether the core knows `peerId` (any state): only then is anything but a `sync` taken in. */
  known: (peerId: string) => boolean;
}

/**
 * The libp2p transport of the SWIM core.
 *
 * @example
 * ```ts
 * const wire = new SwimWire({ node, logger, touch, known: (id) => swim?.get(id) !== undefined });
 * const swim = createSwim({ self, transport: wire });
 * await wire.register((from, msg) => swim.receive(from, msg));
 * ```
 */
export class SwimWire implements SwimTransport {
  readonly #init: SwimWireInit;
  #inFlight = 0;
  #stopped = false;
  /** Messages dropped because too many sends were in flight, or refused inbound. */
  readonly stats = { dropped: 0, refused: 0 };

  constructor(init: SwimWireInit) {
    this.#init = init;
  }

  /** Serve the SWIM protocol, handing each valid message from an acceptable sender to `receive`. */
  async register(receive: (from: string, msg: SwimMessage) => void): Promise<void> {
    await this.#init.node.handle(
      SWIM_PROTOCOL,
      (stream, conn) => this.#onStream(stream, conn, receive),
    );
  }

  /** Stop sending (the node's stop closes what is open). */
  stop(): void {
    this.#stopped = true;
  }

  send(to: string, addrs: string[], msg: SwimMessage): void {
    if (this.#stopped) return;
    if (this.#inFlight >= MAX_SWIM_SENDS_IN_FLIGHT) {
      this.stats.dropped++;
      return;
    }
    this.#inFlight++;
    this.#send(to, addrs, encodeSwim(msg)).catch((err) => {
      this.#init.logger.debug(
        { peer: to, t: msg.t, err: (err as Error).message },
        "swim send failed",
      );
    }).finally(() => this.#inFlight--);
  }

  async #send(to: string, addrs: string[], bytes: Uint8Array): Promise<void> {
    const { node } = this.#init;
    const signal = AbortSignal.timeout(SWIM_SEND_TIMEOUT_MS);
    const id = peerIdFromString(to);
    let conn = node.getConnections(id).find((c) => c.status === "open");
    if (conn === undefined) {
      if (addrs.length > 0) {
        await node.peerStore.merge(id, { multiaddrs: addrs.map((a) => multiaddr(a)) });
      }
      conn = await node.dial(id, { signal });
    }
    this.#init.touch(to);
    const stream = await conn.newStream(SWIM_PROTOCOL, { signal, negotiateFully: false });
    try {
      await writeFrame(stream, [bytes], signal);
      await stream.close({ signal });
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
  }

  async #onStream(
    stream: Stream,
    conn: Connection,
    receive: (from: string, msg: SwimMessage) => void,
  ): Promise<void> {
    const from = conn.remotePeer.toString();
    this.#init.touch(from);
    try {
      const frame = await new FrameReader(stream).next(
        MAX_SWIM_FRAME_BYTES,
        AbortSignal.timeout(SWIM_SEND_TIMEOUT_MS),
      );
      if (frame === null) throw new Error("Empty SWIM stream");
      const msg = decodeSwim(frame);
      if (msg === undefined) throw new Error("Malformed SWIM message");
      await stream.close();
      if (msg.t !== "sync" && !this.#init.known(from)) {
        this.stats.refused++;
        this.#init.logger.debug({ from, t: msg.t }, "SWIM message from a peer that has not joined");
        return;
      }
      receive(from, msg);
    } catch (err) {
      this.#init.logger.debug({ from, err: (err as Error).message }, "bad SWIM stream");
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
