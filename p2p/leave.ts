/**
 * The direct notice of a graceful leave (`LEAVE_PROTOCOL`). SWIM spreads a leave by
 * piggybacking, within a few probe periods; the peers this one has a connection with — those
 * calling it now — hear it at once instead: each marks it leaving (routes nothing more there),
 * sends first what it had already routed, then acknowledges by closing the stream.
 *
 * @module
 */
import type { Connection, Stream } from "@libp2p/interface";
import { LEAVE_PROTOCOL, OPEN_STREAM_TIMEOUT_MS } from "./constants.ts";
import { FrameReader, writeFrame } from "./frames.ts";
import type { VirgoNode } from "./node.ts";
import type { Logger } from "./types.ts";

/** The notice's one frame: a version byte. */
const NOTICE = new Uint8Array([1]);

/**
 * Tell every peer with an open connection that this one is leaving; resolves when each has
 * acknowledged, or when `signal` aborts (a paused peer cannot hold up a stop).
 *
 * @example
 * ```ts
 * await announceLeave(node, AbortSignal.timeout(LEAVE_ACK_TIMEOUT_MS), logger);
 * ```
 */
export async function announceLeave(
  node: VirgoNode,
  signal: AbortSignal,
  logger: Logger,
): Promise<void> {
  const conns = new Map<string, Connection>();
  for (const c of node.getConnections()) {
    if (c.status === "open") conns.set(c.remotePeer.toString(), c);
  }
  await Promise.all([...conns].map(async ([peer, conn]) => {
    try {
      const stream = await conn.newStream(LEAVE_PROTOCOL, { signal });
      const reader = new FrameReader(stream);
      await writeFrame(stream, [NOTICE], signal);
      await stream.close({ signal });
      // The peer closes its side once it routes nothing more here: null is the acknowledgement.
      if ((await reader.next(0, signal)) !== null) throw new Error("Unexpected reply to a leave");
    } catch (err) {
      logger.debug({ peer, err: (err as Error).message }, "leave notice not acknowledged");
    }
  }));
}

/** What {@link serveLeave} does with a notice. */
export interface LeaveHandlers {
  /** Whether the sender is a member (a notice from anyone else is refused). */
  member(peerId: string): boolean;
  /** Mark it leaving. */
  leaving(peerId: string): void;
  /** Resolves once no call to it is still on its way out of here. */
  settle(peerId: string): Promise<void>;
}

/**
 * Register the notice's handler.
 *
 * @example
 * ```ts
 * await serveLeave(node, { member: view.has, leaving: view.markLeaving, settle }, logger);
 * ```
 */
export async function serveLeave(
  node: VirgoNode,
  h: LeaveHandlers,
  logger: Logger,
): Promise<void> {
  await node.handle(LEAVE_PROTOCOL, async (stream: Stream, conn: Connection) => {
    const from = conn.remotePeer.toString();
    try {
      const frame = await new FrameReader(stream).next(
        NOTICE.byteLength,
        AbortSignal.timeout(OPEN_STREAM_TIMEOUT_MS),
      );
      if (frame === null || frame[0] !== NOTICE[0]) throw new Error("Malformed leave notice");
      if (!h.member(from)) throw new Error("Leave notice from a peer that is not a member");
      h.leaving(from);
      await h.settle(from);
      await stream.close();
    } catch (err) {
      logger.debug({ peer: from, err: (err as Error).message }, "bad leave notice");
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    }
  });
}
