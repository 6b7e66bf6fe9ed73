/**
 * Unary request/response over pooled streams.
 *
 * Wire, per exchange on a long-lived stream: the caller writes one frame
 * (the request bytes); the handler answers one frame whose first byte is a
 * status — `0` then the reply bytes, or `1` then JSON `{ code, message }` of
 * the error the handler threw. A bad or oversized frame resets that stream
 * only; the serving loop of every other stream goes on.
 *
 * @module
 */
import type { Stream } from "@libp2p/interface";
import { z } from "zod";
import { DEFAULT_MAX_FRAME_BYTES } from "./constants.ts";
import { codeFromWire, errorToWire, MeshError } from "./errors.ts";
import { FrameReader, writeFrame } from "./frames.ts";
import type { StreamPool } from "./pool.ts";
import type { Logger, RequestHandler } from "./types.ts";

const STATUS_OK = new Uint8Array([0]);
const STATUS_ERROR = new Uint8Array([1]);

/** Bound on a relayed error message, so a remote cannot make us keep huge strings. */
const MAX_ERROR_MESSAGE = 8_192;

/** An error reply, as sent by the handler's peer. */
export const ErrorReply = z.object({
  code: z.string().min(1).max(128),
  message: z.string().max(MAX_ERROR_MESSAGE),
});

/** Encode a thrown value as the error-reply JSON body. */
export function encodeErrorReply(err: unknown): Uint8Array {
  const { code, message } = errorToWire(err);
  return new TextEncoder().encode(
    JSON.stringify({ code, message: message.slice(0, MAX_ERROR_MESSAGE) }),
  );
}

/** Parse an error-reply body into the `MeshError` the caller sees (`remote: true`). */
export function decodeErrorReply(body: Uint8Array): MeshError {
  let parsed: z.infer<typeof ErrorReply>;
  try {
    parsed = ErrorReply.parse(JSON.parse(new TextDecoder().decode(body)));
  } catch {
    return new MeshError("BAD_FRAME", "Bad frame: malformed error reply");
  }
  return new MeshError(codeFromWire(parsed.code), parsed.message, { remote: true });
}

/**
 * Serve one inbound request/response stream until the caller closes it.
 * Requests on one stream are answered in order (the caller sends the next
 * only after the reply), so there is no per-stream concurrency to manage.
 *
 * @example
 * ```ts
 * await node.handle(protocol, (stream, conn) => serveRpcStream(stream, conn.remotePeer.toString(), handler, 4 << 20, logger));
 * ```
 */
export async function serveRpcStream(
  stream: Stream,
  from: string,
  handler: RequestHandler,
  maxBytes: number,
  logger: Logger,
): Promise<void> {
  const reader = new FrameReader(stream);
  try {
    while (true) {
      const req = await reader.next(maxBytes);
      if (req === null) break;
      let reply: Uint8Array[];
      try {
        reply = [STATUS_OK, await handler(req, from)];
      } catch (err) {
        reply = [STATUS_ERROR, encodeErrorReply(err)];
      }
      await writeFrame(stream, reply);
    }
    await stream.close();
  } catch (err) {
    logger.debug({ err, from, protocol: stream.protocol }, "rpc stream reset");
    stream.abort(err instanceof Error ? err : new Error(String(err)));
  }
}

/** Options of {@link rpcCall}. */
export interface RpcCallOptions {
  signal?: AbortSignal;
  /** Largest accepted reply. @default DEFAULT_MAX_FRAME_BYTES */
  maxBytes?: number;
}

/**
 * One request/response exchange on a pooled stream. Throws `MeshError`:
 * the remote handler's code (with `remote: true`), `PEER_FAILED` when the
 * stream or connection failed, `FRAME_TOO_LARGE` when the reply exceeds
 * `maxBytes`; or the signal's reason when aborted.
 *
 * @example
 * ```ts
 * const reply = await rpcCall(pool, peerId, "/virgo/kv/1", bytes, { signal });
 * ```
 */
export async function rpcCall(
  pool: StreamPool,
  peerId: string,
  protocol: string,
  req: Uint8Array,
  opts: RpcCallOptions = {},
): Promise<Uint8Array> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_FRAME_BYTES;
  let ps;
  try {
    ps = await pool.acquire(peerId, protocol, opts.signal);
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    const e = err instanceof MeshError ? err : undefined;
    throw new MeshError(e?.code ?? "PEER_FAILED", (err as Error)?.message ?? String(err), {
      cause: err,
      unsent: true,
    });
  }
  let frame: Uint8Array | null;
  try {
    await writeFrame(ps.stream, [req], opts.signal);
    frame = await ps.reader.next(maxBytes + 1, opts.signal);
    if (frame === null) {
      throw new MeshError("PEER_FAILED", "Peer closed the stream without replying");
    }
    if (frame.byteLength === 0 || (frame[0] !== 0 && frame[0] !== 1)) {
      throw new MeshError("BAD_FRAME", "Bad frame: unknown reply status");
    }
  } catch (err) {
    pool.discard(ps, err);
    throw toMeshError(err, opts.signal);
  }
  pool.release(ps);
  if (frame[0] === 1) throw decodeErrorReply(frame.subarray(1));
  // A plain Uint8Array view (the muxer hands out Node Buffers).
  return new Uint8Array(frame.buffer, frame.byteOffset + 1, frame.byteLength - 1);
}

/** Map a transport failure to `MeshError` `PEER_FAILED`, keeping MeshErrors and abort reasons as they are. */
export function toMeshError(err: unknown, signal?: AbortSignal): unknown {
  if (signal?.aborted) return signal.reason;
  if (err instanceof MeshError) return err;
  return new MeshError("PEER_FAILED", `Peer failed: ${(err as Error)?.message ?? String(err)}`, {
    cause: err,
  });
}
