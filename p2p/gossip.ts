/**
 * Load gossip: every interval this peer publishes its load record on
 * `virgo/load/1`; incoming records are validated and fed to the view. On
 * every new connection both sides also push a "hello" (own record plus the
 * addresses of peers they know) over a one-shot stream, so views and the
 * full mesh converge in one round trip instead of after gossipsub's mesh
 * formation. A leaving peer says so in its record, by gossip and by a hello
 * to every connected peer, which acknowledges it (closes the stream) once it
 * routes nothing more there.
 *
 * @module
 */
import type { Connection, Stream } from "@libp2p/interface";
import type { Message } from "@libp2p/gossipsub";
import { z } from "zod";
import {
  GOSSIP_INTERVAL_MS,
  HELLO_COALESCE_MS,
  HELLO_PROTOCOL,
  LEAVE_ACK_TIMEOUT_MS,
  LOAD_TOPIC,
  MAX_HELLO_BYTES,
  MAX_RECORD_ADDRS,
  MAX_RECORD_BYTES,
  OPEN_STREAM_TIMEOUT_MS,
  SWEEP_INTERVAL_MS,
} from "./constants.ts";
import { FrameReader, writeFrame } from "./frames.ts";
import type { LoadRecord, MembershipView } from "./membership.ts";
import type { VirgoNode } from "./node.ts";
import type { LocalLoad, Logger } from "./types.ts";

const count = z.number().finite().nonnegative();

/** Schema of a load record on the wire (JSON); anything else is dropped. */
export const LoadRecordSchema = z.object({
  v: z.literal(1),
  peerId: z.string().min(1).max(128),
  seq: z.number().int().nonnegative(),
  at: z.number().finite(),
  inflight: count,
  queued: count,
  cores: z.number().finite().positive(),
  loopDelayMs: count,
  poolTotalBytes: count,
  poolFreeBytes: count,
  catalog: z.object({ digest: z.string().max(128), count: count.int() }),
  http: z.string().max(1024).optional(),
  addrs: z.array(z.string().max(512)).max(MAX_RECORD_ADDRS).optional(),
  leaving: z.literal(true).optional(),
});

/** Schema of the hello frame pushed on connect. */
export const HelloSchema = z.object({
  self: LoadRecordSchema,
  known: z.array(z.object({
    peerId: z.string().min(1).max(128),
    addrs: z.array(z.string().max(512)).max(MAX_RECORD_ADDRS),
  })).max(1024),
});

/** Copy a parsed record, dropping `undefined` optionals (exactOptionalPropertyTypes). */
function toRecord(r: z.infer<typeof LoadRecordSchema>): LoadRecord {
  const { http, addrs, leaving, ...rest } = r;
  return {
    ...rest,
    ...(http === undefined ? {} : { http }),
    ...(addrs === undefined ? {} : { addrs }),
    ...(leaving === undefined ? {} : { leaving }),
  };
}

/**
 * Parse record bytes; `undefined` if not valid JSON or not a valid record.
 *
 * @example
 * ```ts
 * const rec = decodeLoadRecord(msg.data);
 * if (rec?.peerId === sender) view.accept(rec);
 * ```
 */
export function decodeLoadRecord(bytes: Uint8Array): LoadRecord | undefined {
  if (bytes.byteLength > MAX_RECORD_BYTES) return undefined;
  try {
    const r = LoadRecordSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    return r.success ? toRecord(r.data) : undefined;
  } catch {
    return undefined;
  }
}

/** A hello: the sender's record and the peers it knows. */
export interface Hello {
  self: LoadRecord;
  known: Array<{ peerId: string; addrs: string[] }>;
}

/**
 * Parse hello bytes; `undefined` if not valid JSON or not a valid hello.
 *
 * @example
 * ```ts
 * const hello = decodeHello(frame);
 * if (hello?.self.peerId === sender) view.accept(hello.self);
 * ```
 */
export function decodeHello(bytes: Uint8Array): Hello | undefined {
  if (bytes.byteLength > MAX_HELLO_BYTES) return undefined;
  try {
    const r = HelloSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    return r.success ? { self: toRecord(r.data.self), known: r.data.known } : undefined;
  } catch {
    return undefined;
  }
}

/** Dependencies of {@link LoadGossip}. */
export interface LoadGossipInit {
  node: VirgoNode;
  view: MembershipView;
  localLoad: () => LocalLoad;
  /** Called with addresses of a peer we heard of, so the dialer can connect to it. */
  learn: (peerId: string, addrs: string[]) => void;
  /**
   * Called when a peer's hello says it is leaving, before we acknowledge it:
   * resolves once no call to that peer is still on its way out of here.
   */
  settle?: (peerId: string) => Promise<void>;
  logger: Logger;
}

/**
 * Publishes this peer's load and maintains the view from others' records.
 *
 * @example
 * ```ts
 * const gossip = new LoadGossip({ node, view, localLoad, learn, logger });
 * await gossip.start();
 * ```
 */
export class LoadGossip {
  readonly #init: LoadGossipInit;
  readonly #self: string;
  #seq: number;
  #timers: Array<ReturnType<typeof setInterval>> = [];
  #stopped = false;
  #leaving = false;
  #helloTimer: ReturnType<typeof setTimeout> | undefined;
  /** Payload bytes published and received on the load topic (for the gossip-cost benchmark). */
  readonly stats = { publishedBytes: 0, receivedBytes: 0, published: 0, received: 0 };

  constructor(init: LoadGossipInit) {
    this.#init = init;
    this.#self = init.node.peerId.toString();
    // Boot time in ms: a restarted peer's records outrank its old ones.
    this.#seq = Date.now();
  }

  /** The current sequence number of our own record. */
  get seq(): number {
    return this.#seq;
  }

  /** A fresh record of our own load, with the next sequence number. */
  record(): LoadRecord {
    const load = this.#init.localLoad();
    return {
      v: 1,
      peerId: this.#self,
      seq: ++this.#seq,
      at: Date.now(),
      ...load,
      addrs: this.#init.node.getMultiaddrs().map((a) => a.toString()).slice(0, MAX_RECORD_ADDRS),
      ...(this.#leaving ? { leaving: true as const } : {}),
    };
  }

  /** True once {@link leave} was called. */
  get leaving(): boolean {
    return this.#leaving;
  }

  /**
   * Say this peer is leaving: from now on every record says so; it goes out
   * by gossip and by a hello to each connected peer. Resolves when each has
   * acknowledged, or after `LEAVE_ACK_TIMEOUT_MS` (a paused peer cannot hold
   * up a stop).
   */
  async leave(): Promise<void> {
    this.#leaving = true;
    const signal = AbortSignal.timeout(LEAVE_ACK_TIMEOUT_MS);
    const peers = new Set(this.#init.node.getConnections().map((c) => c.remotePeer.toString()));
    await Promise.all([
      this.publish(),
      ...[...peers].map((p) => this.#sendHello(p, signal)),
    ]);
  }

  /** Register the hello handler (before the node starts). */
  async register(): Promise<void> {
    await this.#init.node.handle(HELLO_PROTOCOL, (stream, conn) => this.#onHello(stream, conn));
  }

  /** Subscribe, start publishing and sweeping, push hellos on new connections. */
  start(): void {
    const { node, view } = this.#init;
    node.services.pubsub.subscribe(LOAD_TOPIC);
    node.services.pubsub.addEventListener("message", (evt) => this.#onGossip(evt.detail));
    node.addEventListener("peer:connect", (evt) => void this.#sendHello(evt.detail.toString()));
    node.addEventListener("peer:disconnect", (evt) => view.remove(evt.detail.toString()));
    // Tell connected peers about a newcomer at once (coalesced), so they
    // dial it now rather than after its next gossip round.
    view.onMembership((ev) => {
      if (ev.type !== "join" || this.#helloTimer !== undefined || this.#stopped) return;
      this.#helloTimer = setTimeout(() => {
        this.#helloTimer = undefined;
        for (const c of node.getConnections()) void this.#sendHello(c.remotePeer.toString());
      }, HELLO_COALESCE_MS);
    });
    const pub = setInterval(() => void this.publish(), GOSSIP_INTERVAL_MS);
    const sweep = setInterval(() => view.sweep(), SWEEP_INTERVAL_MS);
    this.#timers.push(pub, sweep);
    void this.publish();
  }

  /** Stop timers (the node's stop drops subscriptions). */
  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    if (this.#helloTimer !== undefined) clearTimeout(this.#helloTimer);
    this.#timers = [];
  }

  /** Publish our record now. */
  async publish(): Promise<void> {
    if (this.#stopped) return;
    const data = new TextEncoder().encode(JSON.stringify(this.record()));
    try {
      await this.#init.node.services.pubsub.publish(LOAD_TOPIC, data);
      this.stats.publishedBytes += data.byteLength;
      this.stats.published++;
    } catch (err) {
      this.#init.logger.debug({ err: (err as Error).message }, "load publish failed");
    }
  }

  #onGossip(msg: Message): void {
    if (msg.topic !== LOAD_TOPIC) return;
    this.stats.receivedBytes += msg.data.byteLength;
    this.stats.received++;
    // Only signed messages name their origin; the record must be about its signer.
    if (msg.type !== "signed") return;
    const from = msg.from.toString();
    const rec = decodeLoadRecord(msg.data);
    if (rec === undefined || rec.peerId !== from || from === this.#self) {
      this.#init.logger.debug({ from }, "dropped bad load record");
      return;
    }
    if (this.#init.view.accept(rec) && rec.addrs !== undefined) this.#init.learn(from, rec.addrs);
  }

  /** Push our record and known peers; with `ack`, wait (until it aborts) for the peer to close the stream once it handled it. */
  async #sendHello(peerId: string, ack?: AbortSignal): Promise<void> {
    const { node, view, logger } = this.#init;
    if (this.#stopped) return;
    const known = view.list().map((p) => ({
      peerId: p.peerId,
      addrs: p.addrs.slice(0, MAX_RECORD_ADDRS),
    }));
    const hello = { self: this.record(), known };
    try {
      const conn = node.getConnections().find((c) =>
        c.remotePeer.toString() === peerId && c.status === "open"
      );
      if (conn === undefined) return;
      const stream = await conn.newStream(HELLO_PROTOCOL, {
        signal: ack ?? AbortSignal.timeout(OPEN_STREAM_TIMEOUT_MS),
      });
      const reader = ack === undefined ? undefined : new FrameReader(stream);
      await writeFrame(stream, [new TextEncoder().encode(JSON.stringify(hello))]);
      await stream.close();
      // The peer closes its side once it has taken the record in: null is the acknowledgement.
      if (reader !== undefined && (await reader.next(0, ack)) !== null) {
        throw new Error("Unexpected reply to a hello");
      }
    } catch (err) {
      logger.debug({ peer: peerId, err: (err as Error).message }, "hello failed");
    }
  }

  async #onHello(stream: Stream, conn: Connection): Promise<void> {
    const from = conn.remotePeer.toString();
    try {
      const frame = await new FrameReader(stream).next(
        MAX_HELLO_BYTES,
        AbortSignal.timeout(OPEN_STREAM_TIMEOUT_MS),
      );
      if (frame === null) throw new Error("Empty hello");
      const hello = decodeHello(frame);
      if (hello === undefined) throw new Error("Malformed hello");
      if (hello.self.peerId !== from) throw new Error("Hello record is not about its sender");
      if (conn.status === "open") this.#init.view.accept(hello.self);
      for (const k of hello.known) this.#init.learn(k.peerId, k.addrs);
      // A leaving peer waits for this close: send first what we already routed to it.
      if (hello.self.leaving && this.#init.settle !== undefined) await this.#init.settle(from);
      await stream.close();
    } catch (err) {
      this.#init.logger.debug({ peer: from, err: (err as Error).message }, "bad hello");
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
