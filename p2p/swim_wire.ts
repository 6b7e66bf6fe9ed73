/**
 * SWIM over libp2p: the {@link SwimTransport} of the real mesh. One message is one frame on a
 * stream (`SWIM_PROTOCOL`) kept per peer while in use and closed after `SWIM_STREAM_IDLE_MS`:
 * a stream per message cost a stream opening, a protocol negotiation and a close — three times
 * the frames and bytes of the message itself. The stream is opened on the connection to the
 * peer if there is one, or on one dialed for it (which the connection keeper closes again once
 * idle). Sends are fire-and-forget and bounded in number, like UDP datagrams: the core's
 * timeouts handle loss.
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
  SWIM_STREAM_IDLE_MS,
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
interface Out {
  stream: Promise<Stream>;
  /** Writes on one stream, one after the other (a large frame may wait for drain). */
  tail: Promise<unknown>;
  lastUsed: number;
}

export class SwimWire implements SwimTransport {
  readonly #init: SwimWireInit;
  readonly #out = new Map<string, Out>();
  #inFlight = 0;
  #stopped = false;
  #sweep: ReturnType<typeof setInterval> | undefined;
  /**
   * Messages dropped because too many sends were in flight, refused inbound (not a sync, from
   * a peer the core does not know), and sent by type (`ping`, `ack`, `sync`, …).
   */
  readonly stats = { dropped: 0, refused: 0, sent: {} as Record<string, number> };

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

  /** Start closing streams idle longer than `SWIM_STREAM_IDLE_MS`. */
  start(): void {
    this.#sweep = setInterval(() => {
      const now = Date.now();
      for (const [peer, out] of this.#out) {
        if (now - out.lastUsed < SWIM_STREAM_IDLE_MS) continue;
        this.#out.delete(peer);
        void out.tail.then(() => out.stream).then((s) => s.close()).catch(() => {});
      }
    }, SWIM_STREAM_IDLE_MS / 2);
    Deno.unrefTimer(this.#sweep as unknown as number);
  }

  /** Stop sending (the node's stop closes what is open). */
  stop(): void {
    this.#stopped = true;
    if (this.#sweep !== undefined) clearInterval(this.#sweep);
  }

  send(to: string, addrs: string[], msg: SwimMessage): void {
    if (this.#stopped) return;
    if (this.#inFlight >= MAX_SWIM_SENDS_IN_FLIGHT) {
      this.stats.dropped++;
      return;
    }
    this.#inFlight++;
    this.stats.sent[msg.t] = (this.stats.sent[msg.t] ?? 0) + 1;
    this.#send(to, addrs, encodeSwim(msg)).catch((err) => {
      this.#init.logger.debug(
        { peer: to, t: msg.t, err: (err as Error).message },
        "swim send failed",
      );
    }).finally(() => this.#inFlight--);
  }

  async #send(to: string, addrs: string[], bytes: Uint8Array): Promise<void> {
    let out = this.#out.get(to);
    if (out === undefined) {
      const stream = this.#open(to, addrs);
      out = { stream, tail: stream, lastUsed: Date.now() };
      this.#out.set(to, out);
    }
    const entry = out;
    entry.lastUsed = Date.now();
    this.#init.touch(to);
    const write = entry.tail.then(() => entry.stream).then(async (stream) => {
      try {
        await writeFrame(stream, [bytes], AbortSignal.timeout(SWIM_SEND_TIMEOUT_MS));
      } catch (err) {
        stream.abort(err instanceof Error ? err : new Error(String(err)));
        throw err;
      }
    });
    entry.tail = write.catch(() => {});
    try {
      await write;
    } catch (err) {
      if (this.#out.get(to) === entry) this.#out.delete(to);
      throw err;
    }
  }

  async #open(to: string, addrs: string[]): Promise<Stream> {
    const { node } = this.#init;
    const signal = AbortSignal.timeout(SWIM_SEND_TIMEOUT_MS);
    const id = peerIdFromString(to);
    let conn = node.getConnections(id).find((c) => c.status === "open");
    // The member's own addresses, dialed as they are: no peer-store write per probe.
    conn ??= await node.dial(addrs.length > 0 ? addrs.map((a) => multiaddr(a)) : id, { signal });
    const stream = await conn.newStream(SWIM_PROTOCOL, { signal, negotiateFully: false });
    stream.addEventListener("close", () => {
      const out = this.#out.get(to);
      // (That entry's stream may be a later one whose opening failed: nothing to do then.)
      out?.stream.then((s) => s === stream && this.#out.delete(to), () => {});
    }, { once: true });
    return stream;
  }

  async #onStream(
    stream: Stream,
    conn: Connection,
    receive: (from: string, msg: SwimMessage) => void,
  ): Promise<void> {
    const from = conn.remotePeer.toString();
    const reader = new FrameReader(stream);
    try {
      while (true) {
        const frame = await reader.next(MAX_SWIM_FRAME_BYTES);
        if (frame === null) break;
        this.#init.touch(from);
        const msg = decodeSwim(frame);
        if (msg === undefined) throw new Error("Malformed SWIM message");
        if (msg.t !== "sync" && !this.#init.known(from)) {
          this.stats.refused++;
          this.#init.logger.debug(
            { from, t: msg.t },
            "SWIM message from a peer that has not joined",
          );
          continue;
        }
        receive(from, msg);
      }
      await stream.close();
    } catch (err) {
      this.#init.logger.debug({ from, err: (err as Error).message }, "bad SWIM stream");
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
