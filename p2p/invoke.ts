/**
 * Remote invoke: send an HTTP `Request` to a peer, get its `Response`,
 * bodies streamed both ways with backpressure, over pooled streams.
 *
 * Wire (every frame length-prefixed, first byte its type; frames ready
 * together — a head and a small body — go out in one write):
 * - caller → server: `HEAD` JSON `{ method, url, headers }`, `BODY` chunks, `END`
 * - server → caller: `HEAD` JSON `{ status, statusText, headers, load }` (`load`: the server's
 *   own load, `p2p/meta.ts`), `BODY` chunks, `END`;
 *   or `ERROR` JSON `{ code, message }` instead of `HEAD` when the handler threw.
 *
 * A stream goes back to the pool only when both bodies are fully done; on any
 * error, cancel or abort it is reset instead. The server drains an unread
 * request body after responding so the stream stays usable.
 *
 * @module
 */
import type { Stream } from "@libp2p/interface";
import {
  INVOKE_PROTOCOL,
  MAX_INVOKE_BODY_FRAME_BYTES,
  MAX_INVOKE_HEAD_BYTES,
} from "./constants.ts";
import { MeshError } from "./errors.ts";
import { NULL_BODY_STATUS } from "../core/mod.ts";
import { FrameReader, writeFrame } from "./frames.ts";
import { receiveBody, sendMessage, T_BODY, T_END, T_ERROR, T_HEAD } from "./_invoke_body.ts";
import {
  bodiless,
  decodeRequestHead,
  decodeResponseHead,
  encodeHead,
  hasBody,
  requestFromHead,
  type RequestHead,
} from "./_invoke_head.ts";
import type { PooledStream, StreamPool } from "./pool.ts";
import { decodeErrorReply, encodeErrorReply, toMeshError } from "./rpc.ts";
import type {
  IncomingCall,
  InvokeHandler,
  Logger,
  OutgoingCall,
  OutgoingResponse,
} from "./types.ts";

export {
  decodeRequestHead,
  decodeResponseHead,
  requestFromHead,
  type RequestHead,
  type ResponseHead,
} from "./_invoke_head.ts";

const HEAD = new Uint8Array([T_HEAD]);
const ERROR = new Uint8Array([T_ERROR]);

/**
 * The `Request` an {@link OutgoingCall} describes (`req` itself if it is one).
 *
 * @example
 * ```ts
 * const req = asRequest({ method: "GET", url: "http://fn/", headers: [], body: null });
 * ```
 */
export function asRequest(req: Request | OutgoingCall): Request {
  if (req instanceof Request) return req;
  return new Request(req.url, {
    method: req.method,
    headers: req.headers,
    body: req.body as BodyInit | null,
    duplex: "half",
  } as RequestInit);
}

/**
 * The {@link IncomingCall} a call to this very peer makes (no bytes cross the mesh).
 *
 * @example
 * ```ts
 * const call = asIncoming(new Request("http://fn/hello"));
 * ```
 */
export function asIncoming(req: Request | OutgoingCall): IncomingCall {
  const { method, url } = req;
  const headers = req instanceof Request ? [...req.headers] : req.headers;
  const b = bodiless(method) ? null : req.body;
  const body = b instanceof Uint8Array
    ? new ReadableStream<Uint8Array>({
      start(ctrl) {
        ctrl.enqueue(b);
        ctrl.close();
      },
    })
    : b;
  return { method, url, headers, body };
}

/**
 * The `Response` an answer is (`res` itself if it is one).
 *
 * @example
 * ```ts
 * const res = asResponse({ status: 204, headers: [], body: null });
 * ```
 */
export function asResponse(res: Response | OutgoingResponse): Response {
  if (res instanceof Response) return res;
  return new Response(res.body as BodyInit | null, { status: res.status, headers: res.headers });
}

/**
 * Send `req` to `peerId` over a pooled invoke stream and return its response,
 * whose body streams in as it is read. Throws `MeshError` `PEER_FAILED` when
 * the peer fails before the response head (safe to retry idempotent methods
 * elsewhere), or the remote handler's code when it threw. `onHeadSent` is
 * called once the request head is handed to the stream, `onLoad` with the
 * load the response head carried (unchecked: see `fromLoadWire`).
 *
 * @example
 * ```ts
 * const res = await invokeCall(pool, peerId, new Request("http://fn/hello"), { signal });
 * ```
 */
export async function invokeCall(
  pool: StreamPool,
  peerId: string,
  req: Request | OutgoingCall,
  opts: { signal?: AbortSignal; onHeadSent?: () => void; onLoad?: (load: unknown) => void } = {},
): Promise<Response> {
  const { signal } = opts;
  // A GET or HEAD request has no body whatever the method's case (as the Request constructor has it).
  const reqBody = bodiless(req.method) ? null : req.body;
  // Before taking a stream: a head too large to send fails here, unsent.
  let headBytes: Uint8Array;
  try {
    headBytes = encodeHead({
      method: req.method,
      url: req.url,
      headers: req instanceof Request ? [...req.headers] : req.headers,
      // A request without a body arrives without one, not with an empty one.
      ...(reqBody === null && !bodiless(req.method) ? { body: false as const } : {}),
    });
  } catch (err) {
    const e = err as MeshError;
    throw new MeshError(e.code, e.message, { unsent: true });
  }
  let ps: PooledStream;
  try {
    ps = await pool.acquire(peerId, INVOKE_PROTOCOL, signal);
  } catch (err) {
    throw toMeshError(err, signal);
  }
  const { stream, reader } = ps;
  let failed = false;
  let reqDone = false;
  let resDone = false;
  const onAbort = () => fail(signal?.reason);
  const fail = (err: unknown) => {
    if (failed) return;
    failed = true;
    signal?.removeEventListener("abort", onAbort);
    pool.discard(ps, err);
  };
  const maybeRelease = () => {
    if (failed || !reqDone || !resDone) return;
    signal?.removeEventListener("abort", onAbort);
    pool.release(ps);
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const sending = sendMessage(stream, [HEAD, headBytes], reqBody, signal);
    sending.done.then(() => {
      reqDone = true;
      maybeRelease();
    }, fail);
    await sending.headSent;
    opts.onHeadSent?.();
    const f = await reader.next(MAX_INVOKE_HEAD_BYTES, signal);
    if (f === null) throw new MeshError("PEER_FAILED", "Peer closed the stream before responding");
    if (f[0] === T_ERROR) throw decodeErrorReply(f.subarray(1));
    if (f[0] !== T_HEAD) throw new MeshError("BAD_FRAME", "Bad frame: expected a response head");
    const { status, statusText, headers, load } = decodeResponseHead(f.subarray(1));
    if (load !== undefined) opts.onLoad?.(load);
    const onEnd = () => {
      resDone = true;
      maybeRelease();
    };
    let body: ReadableStream<Uint8Array> | Uint8Array | null = null;
    if (NULL_BODY_STATUS.has(status)) {
      const end = await reader.next(MAX_INVOKE_BODY_FRAME_BYTES, signal);
      if (end === null || end[0] !== T_END) {
        throw new MeshError("BAD_FRAME", "Bad frame: body on a null-body status");
      }
      onEnd();
    } else {
      body = receiveBody(reader, onEnd, fail, signal);
    }
    return new Response(body as BodyInit | null, { status, statusText, headers });
  } catch (err) {
    fail(err);
    throw toMeshError(err, signal);
  }
}

/**
 * An {@link InvokeHandler} from a handler of `Request`s (built as `Deno.serve` would hand the
 * call over: see `requestFromHead`; a head that cannot be a Request answers `BAD_FRAME`).
 *
 * @example
 * ```ts
 * await mesh.serveInvoke(requestHandler((req) => Promise.resolve(new Response(req.url))));
 * ```
 */
export function requestHandler(
  handler: (req: Request, from: string) => Promise<Response>,
): InvokeHandler {
  return (call: IncomingCall, from: string) => handler(requestFromHead(call, call.body), from);
}

/** Options of {@link serveInvokeStream}. */
export interface ServeInvokeOptions {
  /**
   * Called when an exchange starts — its head is read, or, for a stream's first
   * one, as soon as the stream is served (a caller opens an invoke stream only
   * to send a call, whose head may not be read yet) — and the returned function
   * when it ends (response sent, request body drained, or failed; or the stream
   * ended with no call). Lets the mesh wait for the calls it serves before it stops.
   */
  track?: () => () => void;
  /** This peer's load, sent on every response head (`p2p/meta.ts` wire array). */
  load?: () => unknown;
}

/**
 * Serve invoke exchanges on one inbound stream until the caller closes it.
 * A handler's throw answers an ERROR frame with its code; malformed frames
 * reset this stream only.
 *
 * @example
 * ```ts
 * await node.handle(INVOKE_PROTOCOL, (s, c) => serveInvokeStream(s, c.remotePeer.toString(), handler, logger));
 * ```
 */
export async function serveInvokeStream(
  stream: Stream,
  from: string,
  handler: InvokeHandler,
  logger: Logger,
  opts: ServeInvokeOptions = {},
): Promise<void> {
  const reader = new FrameReader(stream);
  let end = opts.track?.();
  try {
    while (true) {
      const f = await reader.next(MAX_INVOKE_HEAD_BYTES);
      if (f === null) break;
      if (f[0] !== T_HEAD) throw new MeshError("BAD_FRAME", "Bad frame: expected a request head");
      const head = decodeRequestHead(f.subarray(1));
      end ??= opts.track?.();
      try {
        await serveOne(stream, reader, head, from, handler, opts.load);
      } finally {
        end?.();
        end = undefined;
      }
    }
    await stream.close();
  } catch (err) {
    logger.debug({ err, from }, "invoke stream reset");
    stream.abort(err instanceof Error ? err : new Error(String(err)));
  } finally {
    end?.();
  }
}

async function serveOne(
  stream: Stream,
  reader: FrameReader,
  head: RequestHead,
  from: string,
  handler: InvokeHandler,
  load: (() => unknown) | undefined,
): Promise<void> {
  let reqDone = false;
  let finished = false;
  // One reader, two possible consumers (the handler's body, our drain): serialise them.
  let pending: Promise<unknown> = Promise.resolve();
  const body = !hasBody(head) ? null : new ReadableStream<Uint8Array>({
    pull(ctrl) {
      const p = pending.then(async () => {
        if (finished) return ctrl.error(new Error("Request finished"));
        const b = await reader.next(MAX_INVOKE_BODY_FRAME_BYTES);
        if (b === null) throw new MeshError("BAD_FRAME", "Bad frame: stream ended inside a body");
        if (b[0] === T_BODY) ctrl.enqueue(b.subarray(1));
        else if (b[0] === T_END && b.byteLength === 1) {
          reqDone = true;
          ctrl.close();
        } else throw new MeshError("BAD_FRAME", "Bad frame: expected a body frame");
      });
      pending = p.catch(() => {});
      return p;
    },
  }, { highWaterMark: 0 });

  let res: Response | OutgoingResponse;
  let resHead: Uint8Array;
  try {
    res = await handler({ method: head.method, url: head.url, headers: head.headers, body }, from);
    try {
      resHead = encodeHead({
        status: res.status,
        statusText: res instanceof Response ? res.statusText : "",
        headers: res instanceof Response ? [...res.headers] : res.headers,
        ...(load === undefined ? {} : { load: load() }),
      });
    } catch (err) {
      if (res.body instanceof ReadableStream) await res.body.cancel().catch(() => {});
      throw new MeshError(
        "FUNCTION_ERROR",
        `The response's head is too large to cross the mesh: ${(err as Error).message}`,
      );
    }
  } catch (err) {
    await writeFrame(stream, [ERROR, encodeErrorReply(err)]);
    // Drain the request body so the stream can be reused.
    return await drain();
  }
  await sendMessage(stream, [HEAD, resHead], res.body).done;
  await drain();

  async function drain(): Promise<void> {
    await pending;
    finished = true;
    while (!reqDone) {
      const b = await reader.next(MAX_INVOKE_BODY_FRAME_BYTES);
      if (b === null) throw new MeshError("BAD_FRAME", "Bad frame: stream ended inside a body");
      if (b[0] === T_END && b.byteLength === 1) reqDone = true;
      else if (b[0] !== T_BODY) {
        throw new MeshError("BAD_FRAME", "Bad frame: expected a body frame");
      }
    }
  }
}
