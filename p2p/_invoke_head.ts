/**
 * Private: the heads of invoke messages — their wire schema, their codecs,
 * and building a `Request` for any method an HTTP server hands us.
 *
 * Sizes are bounded by the head frame (`MAX_INVOKE_HEAD_BYTES`) alone, never
 * per field: `Deno.serve` accepts a method, a URL or one header of up to the
 * whole 64 KiB head, and the mesh must carry whatever it accepts.
 *
 * @module
 */
import { z } from "zod";
import { MAX_INVOKE_HEAD_BYTES, MAX_INVOKE_HEADERS } from "./constants.ts";
import { MeshError } from "./errors.ts";

/** A method or header name: a token (RFC 9110 §5.6.2), of any case. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A header value `Headers` accepts: bytes (code units up to 0xFF) without NUL, CR or LF. */
const HEADER_VALUE = /^[^\0\r\n\u0100-\uffff]*$/;

const HeaderList = z.array(z.tuple([z.string().regex(TOKEN), z.string().regex(HEADER_VALUE)]))
  .max(MAX_INVOKE_HEADERS);

/** Request head on the wire. */
export const RequestHead = z.object({
  method: z.string().regex(TOKEN),
  // Not parsed here: building the Request parses it (and fails as BAD_FRAME).
  url: z.string().min(1),
  headers: HeaderList,
  /** `false` when the request has no body at all (a POST without one), unlike an empty body. */
  body: z.literal(false).optional(),
});
export type RequestHead = z.infer<typeof RequestHead>;

/** Response head on the wire. */
export const ResponseHead = z.object({
  status: z.number().int().min(200).max(599),
  // A reason phrase: what the Response constructor accepts.
  statusText: z.string().regex(/^[\t\x20-\x7e\x80-\xff]*$/),
  headers: HeaderList,
  /** The serving peer's load (`p2p/meta.ts` wire array), so its caller's routing sample stays fresh; checked by the caller. */
  load: z.unknown().optional(),
});
export type ResponseHead = z.infer<typeof ResponseHead>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** JSON bytes of a head; throws `FRAME_TOO_LARGE` past the head bound. */
export function encodeHead(head: RequestHead | ResponseHead): Uint8Array {
  const bytes = encoder.encode(JSON.stringify(head));
  if (bytes.byteLength > MAX_INVOKE_HEAD_BYTES) {
    throw new MeshError(
      "FRAME_TOO_LARGE",
      `Frame too large: a head of ${bytes.byteLength} > ${MAX_INVOKE_HEAD_BYTES} bytes`,
    );
  }
  return bytes;
}

function decode<S extends z.ZodType>(schema: S, bytes: Uint8Array, what: string): z.infer<S> {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    throw new MeshError("BAD_FRAME", `Bad frame: ${what} is not JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new MeshError("BAD_FRAME", `Bad frame: malformed ${what}`);
  return parsed.data;
}

/**
 * Parse a request head; throws `MeshError` `BAD_FRAME` for anything else.
 *
 * @example
 * ```ts
 * const head = decodeRequestHead(frame.subarray(1));
 * ```
 */
export function decodeRequestHead(bytes: Uint8Array): RequestHead {
  return decode(RequestHead, bytes, "request head");
}

/**
 * Parse a response head; throws `MeshError` `BAD_FRAME` for anything else.
 *
 * @example
 * ```ts
 * const head = decodeResponseHead(frame.subarray(1));
 * ```
 */
export function decodeResponseHead(bytes: Uint8Array): ResponseHead {
  return decode(ResponseHead, bytes, "response head");
}

/** Methods the Fetch standard forbids in `new Request()`; `Deno.serve` hands them over all the same. */
const FORBIDDEN = new Set(["CONNECT", "TRACE", "TRACK"]);

/**
 * True when a request with this method carries no body as a `Request`
 * (GET and HEAD in any case, which `new Request()` normalises).
 */
export function bodiless(method: string): boolean {
  const upper = method.toUpperCase();
  return upper === "GET" || upper === "HEAD";
}

/** True when the request of `head` has a body (maybe empty), as the caller's had. */
export function hasBody(head: RequestHead): boolean {
  return head.body !== false && !bodiless(head.method);
}

/**
 * A `Request` with exactly the method of `head`, as `Deno.serve` would hand
 * it over: a forbidden method (CONNECT, TRACE, TRACK) or one that the
 * constructor normalises (`get` → `GET`) is built on a stand-in and then
 * named as it came, so a function sees over the mesh what it sees locally.
 * Throws `BAD_FRAME` when the head cannot be a request (an invalid header).
 *
 * @example
 * ```ts
 * const req = requestFromHead({ method: "TRACE", url: "http://fn/x", headers: [] }, null);
 * req.method; // "TRACE"
 * ```
 */
export function requestFromHead(
  head: RequestHead,
  body: ReadableStream<Uint8Array> | null,
): Request {
  const noBody = !hasBody(head);
  const standIn = FORBIDDEN.has(head.method.toUpperCase()) ? (noBody ? "GET" : "POST") : undefined;
  let req: Request;
  try {
    req = new Request(head.url, {
      method: standIn ?? head.method,
      headers: head.headers,
      body: noBody ? null : body,
      duplex: "half",
    } as RequestInit);
  } catch (err) {
    throw new MeshError("BAD_FRAME", `Bad frame: not a request: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (req.method !== head.method) {
    Object.defineProperty(req, "method", { value: head.method, enumerable: true });
  }
  return req;
}
