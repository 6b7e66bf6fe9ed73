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
import { MAX_INVOKE_HEAD_BYTES, MAX_INVOKE_HEADERS } from "./constants.ts";
import { MeshError } from "./errors.ts";
import { HTTP_TOKEN, isHeaderPair } from "../core/mod.ts";

/** A reason phrase: what the Response constructor accepts. */
const REASON = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Request head on the wire. */
export interface RequestHead {
  method: string;
  /** Not parsed here: building the Request parses it (and fails as BAD_FRAME). */
  url: string;
  headers: [string, string][];
  /** `false` when the request has no body at all (a POST without one), unlike an empty body. */
  body?: false;
}

/** Response head on the wire. */
export interface ResponseHead {
  status: number;
  statusText: string;
  headers: [string, string][];
  /** The serving peer's load (`p2p/meta.ts` wire array), so its caller's routing sample stays fresh; checked by the caller. */
  load?: unknown;
}

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

/** The JSON object in `bytes`; throws BAD_FRAME for anything else. */
function parseObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    throw new MeshError("BAD_FRAME", `Bad frame: ${what} is not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw malformed(what);
  return value as Record<string, unknown>;
}

function malformed(what: string): MeshError {
  return new MeshError("BAD_FRAME", `Bad frame: malformed ${what}`);
}

/** `[name, value]` pairs `Headers` accepts, at most MAX_INVOKE_HEADERS of them. */
function isHeaderList(v: unknown): v is [string, string][] {
  if (!Array.isArray(v) || v.length > MAX_INVOKE_HEADERS) return false;
  for (const h of v) {
    if (!Array.isArray(h) || h.length !== 2) return false;
    const name: unknown = h[0];
    const value: unknown = h[1];
    if (typeof name !== "string" || typeof value !== "string") return false;
    if (!isHeaderPair(name, value)) return false;
  }
  return true;
}

/**
 * Parse a request head; throws `MeshError` `BAD_FRAME` for anything else.
 * Checked by hand, not by a schema library: this runs on every remote call.
 *
 * @example
 * ```ts
 * const head = decodeRequestHead(frame.subarray(1));
 * ```
 */
export function decodeRequestHead(bytes: Uint8Array): RequestHead {
  const what = "request head";
  const o = parseObject(bytes, what);
  const { method, url, headers, body } = o;
  if (typeof method !== "string" || !HTTP_TOKEN.test(method)) throw malformed(what);
  if (typeof url !== "string" || url.length === 0) throw malformed(what);
  if (!isHeaderList(headers)) throw malformed(what);
  if (body !== undefined && body !== false) throw malformed(what);
  return body === false ? { method, url, headers, body } : { method, url, headers };
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
  const what = "response head";
  const o = parseObject(bytes, what);
  const { status, statusText, headers, load } = o;
  if (typeof status !== "number" || !Number.isInteger(status) || status < 200 || status > 599) {
    throw malformed(what);
  }
  if (typeof statusText !== "string" || !REASON.test(statusText)) throw malformed(what);
  if (!isHeaderList(headers)) throw malformed(what);
  return load === undefined
    ? { status, statusText, headers }
    : { status, statusText, headers, load };
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
 * `body` null: no body at all. Throws `BAD_FRAME` when the head cannot be a
 * request (an invalid header).
 *
 * @example
 * ```ts
 * const req = requestFromHead({ method: "TRACE", url: "http://fn/x", headers: [] }, null);
 * req.method; // "TRACE"
 * ```
 */
export function requestFromHead(
  head: Pick<RequestHead, "method" | "url" | "headers">,
  body: ReadableStream<Uint8Array> | null,
): Request {
  const noBody = body === null || bodiless(head.method);
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
