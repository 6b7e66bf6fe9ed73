/**
 * Invoking a function: pick the peer that should run the call (VIRGO's
 * `virgo_clone()` picking a machine), then run it in a local sandbox or hand
 * it to that peer over the mesh. A call that a peer refused before running it
 * (overloaded, stopping, not a member) goes once to another peer with room,
 * whatever its method; a failed remote hop of an idempotent call is retried
 * once on another peer.
 * @module
 */
import {
  type CallRequest,
  type CallResponse,
  SandboxError,
  type SandboxPool,
} from "./sandbox/mod.ts";
import {
  type IncomingCall,
  isPeerId,
  MeshError,
  type OutgoingCall,
  type OutgoingResponse,
  type PeerInfo,
  type Router,
  STRATEGIES,
  type Strategy,
} from "../p2p/mod.ts";
import { MAX_INVOKE_BYTES, REPLAY_MAX_BYTES, RETRY_AFTER_S } from "./constants.ts";
import { BEARER_CHALLENGE } from "./auth.ts";
import { errorCode, errorResponse, VirgoError } from "./errors.ts";
import type { FunctionMeta, Registry } from "./catalog/mod.ts";
import type { Routing } from "./config.ts";
import {
  checkDeclaredLength,
  limitStream,
  readLimited,
  type Replay,
  replayable,
  tooLarge,
} from "./_body.ts";
import type { Logger } from "./log.ts";
import { acceptRequestId, requestIds } from "./logs/mod.ts";
import type { Metrics } from "./metrics.ts";

/** Header with which a caller pins the route of one call. */
export const ROUTE_HEADER = "x-virgo-route";
/** Header naming the peer that ran a call. */
export const PEER_HEADER = "x-virgo-peer";
/** Header carrying the id of a call across hops and into logs. */
export const REQUEST_ID_HEADER = "x-virgo-request-id";
/**
 * The de-facto standard header of a caller's own request id: kept as the call's id when short
 * and plain (see `acceptRequestId`), and answered with the id the call had.
 */
export const CALLER_REQUEST_ID_HEADER = "x-request-id";
/**
 * Header with which the peer that received a call tells the peer it hands the
 * call to that the caller presented the admin token. Trusted only on calls
 * from the mesh; removed from every other call, and never seen by a function.
 */
export const ADMIN_HEADER = "x-virgo-admin";
/**
 * Header with which the peer that received a call tells the peer it hands the call to which
 * version it expects, as `<name>@<version>`: a peer that does not hold that version refuses
 * with `VERSION_UNAVAILABLE` before running anything, and the caller runs the call itself.
 * Trusted only on calls from the mesh; never seen by a function.
 */
export const EXPECT_HEADER = "x-virgo-expect";

/**
 * Codes of a function's own failure. Their messages come from the function or
 * describe it, so they go to the log of the peer that ran it; a caller without
 * the admin token gets the code and the request id only.
 */
export const FUNCTION_FAILURES: ReadonlySet<string> = new Set([
  "FUNCTION_ERROR",
  "FUNCTION_CRASHED",
  "FUNCTION_MEMORY_LIMIT",
  "FUNCTION_TIMEOUT",
  // A module that fails to load when a call starts it: the message is the function's exception.
  "INVALID_BUNDLE",
]);

/**
 * Codes with which a peer refuses a call before any function code saw it: the
 * call may go to another peer whatever its method, as it cannot run twice.
 */
export const NEVER_RAN: ReadonlySet<string> = new Set([
  "SHUTTING_DOWN",
  "SANDBOX_STOPPED",
  "OVERLOADED",
  "NOT_MEMBER",
  "VERSION_UNAVAILABLE",
]);

/** Codes of a refusal that will pass: the answer says when to try again. */
const RETRY_LATER = new Set([
  "OVERLOADED",
  "SHUTTING_DOWN",
  "SANDBOX_STOPPED",
  "VERSION_UNAVAILABLE",
]);

const STRATEGY_SET: ReadonlySet<string> = new Set(STRATEGIES);
const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);
/** Methods `new Request` refuses ("forbidden methods" of the Fetch standard, any case). */
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);
/** Methods the Fetch standard upper-cases whatever their case; any other passes as sent. */
const NORMALIZED_METHODS = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);

/** The part of the mesh the invoker uses. */
export interface InvokeNet {
  readonly peerId: string;
  peers(): PeerInfo[];
  invoke(
    peerId: string,
    req: Request | OutgoingCall,
    opts?: { signal?: AbortSignal },
  ): Promise<Response>;
}

/** How one call reached this peer. The HTTP layer, which holds the token, decides `admin`. */
export interface CallOptions {
  /** The caller presented this peer's admin token. @default {false} */
  admin?: boolean;
  /** Whether a function deployed `public: false` needs `admin` (the peer has a token). @default {true} */
  guarded?: boolean;
}

/** Runs calls for the HTTP layer and for calls arriving from other peers. */
export interface Invoker {
  /**
   * Runs `/fn/<name><rest>` as this peer received it: routed here or to another peer. A failure answers the contract's
   * JSON error; for a function's own failure (see {@linkcode FUNCTION_FAILURES})
   * the message is the real one only for an admin caller.
   */
  handle(req: Request, name: string, opts?: CallOptions): Promise<Response>;
  /**
   * Runs a call another peer routed and admitted (so it runs here, no `public: false` check is
   * repeated, and {@linkcode ADMIN_HEADER} says whether its caller presented the admin token),
   * from the parts it crossed the mesh as, and answered as parts but for errors: no `Request` nor `Response`
   * is built on this peer. `call.url` must be parsed
   * already (an absolute URL's `href`); `name` is the function's, from its path.
   */
  serve(call: IncomingCall, name: string): Promise<Response | OutgoingResponse>;
  /** Calls running in this peer's sandboxes now. */
  inflight(): number;
}

/** What the invoker is built from. */
export interface InvokerInit {
  registry: Registry;
  sandbox: SandboxPool;
  net: InvokeNet;
  router: Router;
  routing: Routing;
  logger: Logger;
  metrics: Metrics;
  /** Largest request body of a call. @default {MAX_INVOKE_BYTES} */
  maxBodyBytes?: number;
}

/** Parses `x-virgo-route`; undefined when absent. */
export function parseRoute(value: string | null): Strategy | { peerId: string } | undefined {
  if (value === null || value === "") return undefined;
  if (STRATEGY_SET.has(value)) return value as Strategy;
  if (isPeerId(value)) return { peerId: value };
  throw new VirgoError(
    "BAD_REQUEST",
    `Invalid ${ROUTE_HEADER}: expected local, random, least-loaded, p2c or a peer id: ${
      value.slice(0, 80)
    }`,
  );
}

/**
 * The method a function sees: the Fetch API's spelling of the one sent (`get`
 * becomes `GET`, `patch` stays `patch`). One the Fetch API cannot carry
 * (`CONNECT`, `TRACE`, `TRACK`) is refused with `METHOD_NOT_ALLOWED`.
 *
 * @example
 * ```ts
 * callMethod("Get");   // "GET"
 * callMethod("TRACE"); // throws METHOD_NOT_ALLOWED
 * ```
 */
export function callMethod(method: string): string {
  const upper = method.toUpperCase();
  if (FORBIDDEN_METHODS.has(upper)) {
    throw new VirgoError(
      "METHOD_NOT_ALLOWED",
      `Method ${method.slice(0, 32)} cannot be passed to a function`,
    );
  }
  return NORMALIZED_METHODS.has(upper) ? upper : method;
}

/**
 * Where the `<name>` of a `/fn/<name>` or `/fn/<name>/…` URL sits, as the URL spells it:
 * `[start, end)`, or undefined for a URL whose path does not start so. The one scan of a call's
 * URL for its function: {@linkcode functionUrl} and the app's `functionName` both use it, so the
 * name and the path a function sees are cut at the same place.
 *
 * @example
 * ```ts
 * functionNameSpan("http://peer/fn/hello/a?b"); // [15, 20]
 * ```
 */
export function functionNameSpan(url: string): [number, number] | undefined {
  const path = url.indexOf("/", url.indexOf("//") + 2);
  if (path < 0 || !url.startsWith("/fn/", path)) return undefined;
  const start = path + 4;
  let end = start;
  for (; end < url.length; end++) {
    const ch = url.charCodeAt(end);
    if (ch === 47 /* / */ || ch === 63 /* ? */ || ch === 35 /* # */) break;
  }
  return [start, end];
}

/**
 * The URL a function sees: `/fn/<name>` stripped from the path, the name as the URL spells it
 * (`/fn/%65cho/a` sees `/a`, as `/fn/echo/a` does). Plain string work, as it runs on every call.
 */
export function functionUrl(url: string): string {
  const span = functionNameSpan(url);
  if (span === undefined) return url;
  const rest = url.slice(span[1]);
  return url.slice(0, span[0] - 4) + (rest.startsWith("/") ? rest : `/${rest}`);
}

/** Whether a request of `method` carries no body in Fetch (GET and HEAD): one is dropped. */
function bodiless(method: string): boolean {
  return method === "GET" || method === "HEAD";
}

/**
 * Creates the invoker.
 *
 * @example
 * ```ts
 * const invoker = createInvoker({ registry, sandbox, net: mesh, router, routing: "p2c", logger, metrics });
 * const res = await invoker.handle(new Request("http://x/fn/hello"), "hello");
 * ```
 */
export function createInvoker(init: InvokerInit): Invoker {
  const { registry, sandbox, net, router, logger, metrics } = init;
  const maxBody = init.maxBodyBytes ?? MAX_INVOKE_BYTES;
  let running = 0;
  const nextRequestId = requestIds(net.peerId);

  /**
   * The call as the sandbox gets it: a body stream passed through its bound
   * (bytes were read within it already). Until the sandbox starts the call,
   * `req.body` is unread, so a refused call can still go elsewhere.
   */
  function bounded(req: Request, body: BodyInit | null = req.body): LocalCall {
    const limited = body instanceof ReadableStream ? limitStream(body, maxBody) : undefined;
    const inner = body === req.body && !limited ? req : new Request(req.url, {
      method: req.method,
      headers: req.headers,
      body: limited?.stream ?? body,
      duplex: "half",
    } as RequestInit);
    return { req: inner, exceeded: () => limited?.exceeded() ?? false };
  }

  function runLocal(
    meta: FunctionMeta,
    requestId: string,
    arrivedAt: number,
    call: LocalCall<CallRequest>,
    signal: undefined,
    parts: true,
  ): Promise<CallResponse>;
  function runLocal(
    meta: FunctionMeta,
    requestId: string,
    arrivedAt: number,
    call: LocalCall<CallRequest>,
    signal?: AbortSignal,
  ): Promise<Response>;
  async function runLocal(
    meta: FunctionMeta,
    requestId: string,
    arrivedAt: number,
    call: LocalCall<CallRequest>,
    signal?: AbortSignal,
    parts?: true,
  ): Promise<Response | CallResponse> {
    const name = meta.name;
    const spec = await registry.spec(meta);
    // A body cut off at its bound fails the call as 413, whatever the function made of it.
    running++;
    const end = metrics.invokeTimer(name, "local", requestId);
    try {
      const res = await sandbox.invoke(spec, call.req, {
        requestId,
        signal,
        url: functionUrl(call.req.url),
        arrivedAt,
        headers: [
          [PEER_HEADER, net.peerId],
          [REQUEST_ID_HEADER, requestId],
          [CALLER_REQUEST_ID_HEADER, requestId],
        ],
        parts,
      }) as Response | CallResponse;
      if (call.exceeded()) {
        if (res.body instanceof ReadableStream) await res.body.cancel();
        throw tooLarge(maxBody);
      }
      end("ok", { status: res.status });
      return res;
    } catch (err) {
      const failure = call.exceeded() ? tooLarge(maxBody) : err;
      end(errorCode(failure) ?? "INTERNAL", { message: (failure as Error)?.message });
      throw failure;
    } finally {
      running--;
    }
  }

  async function runRemote(
    req: Request,
    meta: FunctionMeta,
    peer: PeerInfo,
    requestId: string,
    body: BodyInit | null,
    admin: boolean,
  ): Promise<Response> {
    // The call as the mesh sends it, not a new Request: that would copy and check every header again.
    const headers: [string, string][] = [];
    // forEach, not the iterator: the same sorted, combined pairs for less (as the sandbox lists them).
    req.headers.forEach((value, name) => {
      if (!MESH_HEADERS.has(name)) headers.push([name, value]);
    });
    headers.push(
      [ROUTE_HEADER, "local"],
      [REQUEST_ID_HEADER, requestId],
      [EXPECT_HEADER, `${meta.name}@${meta.version}`],
    );
    if (admin) headers.push([ADMIN_HEADER, "1"]);
    const call: OutgoingCall = { method: req.method, url: req.url, headers, body: callBody(body) };
    const done = router.begin(peer.peerId);
    const end = metrics.invokeTimer(meta.name, "remote", requestId, peer.peerId);
    try {
      const res = await net.invoke(peer.peerId, call, { signal: req.signal });
      end("ok", { status: res.status });
      return res;
    } catch (err) {
      end(errorCode(err) ?? "INTERNAL", { message: (err as Error)?.message });
      throw err;
    } finally {
      done();
    }
  }

  /**
   * Refuses, before anything runs, a call from the mesh for a version this peer does not hold:
   * another current version (a deploy not yet here, or one this peer saw first), or a bundle it
   * cannot get. The caller, which holds that version, runs the call itself.
   */
  async function expected(expect: string, name: string, meta: FunctionMeta | undefined) {
    const refuse = (why: string) =>
      new VirgoError("VERSION_UNAVAILABLE", `Peer ${net.peerId} ${why}: run ${expect} elsewhere`);
    if (!meta || `${name}@${meta.version}` !== expect) {
      throw refuse(meta ? `serves ${name}@${meta.version}` : `does not know ${name}`);
    }
    try {
      await registry.spec(meta);
    } catch (err) {
      throw refuse(`cannot get the bundle (${(err as Error).message})`);
    }
  }

  return {
    inflight: () => running,

    async handle(req, name, opts = {}) {
      // The function's timeout runs from here: time spent finding its code or queueing counts.
      const arrivedAt = performance.now();
      // Ours from the peer that routed the call; a caller's own when it is plain; else a fresh one.
      const requestId = acceptRequestId(req.headers.get(REQUEST_ID_HEADER)) ??
        acceptRequestId(req.headers.get(CALLER_REQUEST_ID_HEADER)) ?? nextRequestId();
      const admin = opts.admin === true;
      try {
        // A method no function can be handed is refused first, whatever the name.
        req = forFunction(req, admin, callMethod(req.method));
        checkDeclaredLength(req.headers.get("content-length"), maxBody);
        const meta = registry.get(name);
        if (!meta) throw new VirgoError("FUNCTION_NOT_FOUND", `No function named ${name}`);
        if (!meta.public && !admin && opts.guarded !== false) {
          throw new VirgoError(
            "UNAUTHORIZED",
            `Function ${name} is private: send Authorization: Bearer <token>`,
          );
        }
        const route = parseRoute(req.headers.get(ROUTE_HEADER)) ?? init.routing;
        if (route === "local" || (typeof route === "object" && route.peerId === net.peerId)) {
          return await runLocal(meta, requestId, arrivedAt, bounded(req), req.signal);
        }
        // Any member can run any version: one that does not hold it says so before running it.
        let peer: PeerInfo | undefined;
        if (typeof route === "object") {
          peer = net.peers().find((p) => p.peerId === route.peerId);
          if (!peer) {
            throw new VirgoError("NO_PEER_AVAILABLE", `Peer ${route.peerId} is not in this mesh`);
          }
        } else {
          peer = router.pick(route);
        }
        if (!peer) throw new VirgoError("NO_PEER_AVAILABLE", `No peer can run ${name}`);
        if (typeof route === "object") {
          return await (peer.self
            ? runLocal(meta, requestId, arrivedAt, bounded(req), req.signal)
            : runRemote(req, meta, peer, requestId, req.body, admin));
        }

        // Placed by the router: a peer that refuses the call before running it
        // hands it to another with room, once.
        const moveOn = async (err: unknown, from: string, body: BodyInit | null) => {
          // This peer holds the version the other lacked: it runs the call rather than guess again.
          const next = errorCode(err) === "VERSION_UNAVAILABLE"
            ? router.pick("local")
            : router.pick(route, new Set([from]));
          if (!next) throw err;
          const code = errorCode(err) ?? "INTERNAL";
          logger.warn(
            { fn: name, failed: from, code, retry: next.peerId, requestId },
            "Retrying call on another peer",
          );
          metrics.moved(name, code);
          if (next.self) {
            return await runLocal(meta, requestId, arrivedAt, bounded(req, body), req.signal);
          }
          return await runRemote(req, meta, next, requestId, body, admin);
        };

        if (peer.self) {
          const call = bounded(req);
          try {
            return await runLocal(meta, requestId, arrivedAt, call, req.signal);
          } catch (err) {
            const untouched = !call.req.bodyUsed && !call.req.body?.locked;
            if (!(err instanceof SandboxError && err.refused) || !untouched) throw err;
            return await moveOn(err, net.peerId, call.req.body);
          }
        }

        const idempotent = IDEMPOTENT.has(req.method);
        // A second try needs the body again: idempotent calls buffer it (bounded); any call
        // keeps what was sent until the peer answers (bounded), for a refusal.
        let body: BodyInit | null = req.body;
        let replay: Replay | undefined;
        if (req.body && idempotent) body = await readLimited(req, maxBody);
        else if (req.body) body = (replay = replayable(req.body, REPLAY_MAX_BYTES)).again()!;
        try {
          return await runRemote(req, meta, peer, requestId, body, admin);
        } catch (err) {
          const failed = idempotent && errorCode(err) === "PEER_FAILED";
          if (!refusedThere(err) && !failed) throw err;
          const again = replay ? replay.again() : body;
          if (again === undefined) throw err; // too much of the body went to the first peer
          return await moveOn(err, peer.peerId, again);
        }
      } catch (err) {
        return answer(err, name, requestId, admin, false, req.signal.aborted);
      }
    },

    async serve(call, name) {
      const arrivedAt = performance.now();
      // One pass over the pairs: the headers this peer reads (as `Headers.get` would: any case,
      // repeats joined), and the rest for the function, without ours.
      let id: string | null = null;
      let callerId: string | null = null;
      let adminValue: string | null = null;
      let expect: string | null = null;
      let length: string | null = null;
      const headers: [string, string][] = [];
      for (const h of call.headers) {
        const lower = h[0].toLowerCase();
        if (lower === ADMIN_HEADER) adminValue = joined(adminValue, h[1]);
        else if (lower === EXPECT_HEADER) expect = joined(expect, h[1]);
        else {
          if (lower === REQUEST_ID_HEADER) id = joined(id, h[1]);
          else if (lower === CALLER_REQUEST_ID_HEADER) callerId = joined(callerId, h[1]);
          else if (lower === "content-length") length = joined(length, h[1]);
          headers.push(h);
        }
      }
      const requestId = acceptRequestId(id) ?? acceptRequestId(callerId) ?? nextRequestId();
      const admin = adminValue === "1";
      try {
        const method = callMethod(call.method);
        checkDeclaredLength(length, maxBody);
        const meta = registry.get(name);
        if (expect !== null) await expected(expect, name, meta);
        if (!meta) throw new VirgoError("FUNCTION_NOT_FOUND", `No function named ${name}`);
        const body = bodiless(method) ? null : call.body;
        const limited = body ? limitStream(body, maxBody) : undefined;
        // Answered as parts too: the mesh sends them on without a Response built here.
        return await runLocal(
          meta,
          requestId,
          arrivedAt,
          {
            req: { method, url: call.url, headers, body: limited?.stream ?? body },
            exceeded: () => limited?.exceeded() ?? false,
          },
          undefined,
          true,
        );
      } catch (err) {
        return answer(err, name, requestId, admin, true, false);
      }
    },
  };

  /** The answer to a call that failed here (a refusal of a call from the mesh is thrown on). */
  function answer(
    err: unknown,
    name: string,
    requestId: string,
    admin: boolean,
    fromMesh: boolean,
    abandoned: boolean,
  ): Response {
    const code = errorCode(err);
    const failed = code !== undefined && FUNCTION_FAILURES.has(code);
    if (abandoned) {
      // The caller went away: nobody reads this answer, and it is no fault of ours.
      logger.debug({ fn: name, requestId }, "Call abandoned by its caller");
    } else if (failed) {
      // This peer ran the call (a remote hop's failure arrives as a response, not here).
      logger.error(
        { fn: name, requestId, code, message: (err as Error).message },
        "Function failed",
      );
    } else if (!code) {
      logger.error({ fn: name, requestId, err: String(err) }, "Call failed");
    }
    // Refused here before it ran: thrown, so it crosses the mesh as an error with its code
    // and the peer that routed the call sends it elsewhere.
    if (fromMesh && err instanceof SandboxError && err.refused) throw err;
    if (fromMesh && code === "VERSION_UNAVAILABLE") throw err;
    const headers: Record<string, string> = {
      [REQUEST_ID_HEADER]: requestId,
      [CALLER_REQUEST_ID_HEADER]: requestId,
      [PEER_HEADER]: net.peerId,
      ...(code === "UNAUTHORIZED" ? BEARER_CHALLENGE : {}),
    };
    if (code !== undefined && RETRY_LATER.has(code)) {
      const after = (err as { retryAfter?: unknown }).retryAfter;
      headers["retry-after"] = String(typeof after === "number" ? after : RETRY_AFTER_S);
    }
    if (failed && !admin) {
      return errorResponse(
        new VirgoError(
          code,
          `The function failed; see the peer's log for request ${requestId}`,
        ),
        headers,
      );
    }
    return errorResponse(err, headers);
  }
}

/** A call as handed to the local sandbox. */
interface LocalCall<R extends CallRequest = Request> {
  req: R;
  /** Whether the body passed its bound. */
  exceeded(): boolean;
}

/** A header's value as `Headers.get` gives it: repeats joined, ends trimmed of blanks. */
function joined(prev: string | null, value: string): string {
  const v = value.replace(BLANK_ENDS, "");
  return prev === null ? v : `${prev}, ${v}`;
}
const BLANK_ENDS = /^[\t ]+|[\t ]+$/g;

/** Refused by the remote peer before it ran there, or never sent. */
function refusedThere(err: unknown): boolean {
  if (!(err instanceof MeshError)) return false;
  return (err.remote && NEVER_RAN.has(err.code)) || (err.unsent && err.code === "PEER_FAILED");
}

/**
 * The call as the function may see it: with the Fetch API's spelling of its
 * method (a GET or HEAD carries no body), without {@linkcode ADMIN_HEADER}
 * (ours, and from a public caller a forgery), and without the admin token,
 * which is meant for this peer. Copied only when there is something to change,
 * as headers of a served request are immutable.
 */
function forFunction(req: Request, dropAuthorization: boolean, method: string): Request {
  const dropAuth = dropAuthorization && req.headers.has("authorization");
  const noBody = bodiless(method);
  const reshape = method !== req.method || (noBody && req.body !== null);
  if (!dropAuth && !reshape && !req.headers.has(ADMIN_HEADER) && !req.headers.has(EXPECT_HEADER)) {
    return req;
  }
  const headers = new Headers(req.headers);
  headers.delete(ADMIN_HEADER);
  headers.delete(EXPECT_HEADER);
  if (dropAuth) headers.delete("authorization");
  return new Request(req.url, {
    method,
    headers,
    body: noBody ? null : req.body,
    signal: req.signal,
    duplex: "half",
  } as RequestInit);
}

/** Headers a remote call carries with this peer's values (the caller's own are dropped). */
const MESH_HEADERS: ReadonlySet<string> = new Set([
  ROUTE_HEADER,
  REQUEST_ID_HEADER,
  EXPECT_HEADER,
  ADMIN_HEADER,
]);

/** A call's body as the mesh sends it: a stream or bytes. */
function callBody(body: BodyInit | null): OutgoingCall["body"] {
  if (body === null || body instanceof ReadableStream) return body;
  if (body instanceof Uint8Array) return body;
  return new Response(body).body;
}
