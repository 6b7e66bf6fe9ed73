/**
 * The generic sandbox program, run as its own Deno process with no permission but net. It
 * connects once to its host's unix socket (path in `Deno.args[0]`) and revokes its permission on
 * that path before any function code runs, installs its network policy (`Deno.args[1]`, see
 * `_net_policy.ts`), hides its host (`hideHost`), checks that console output will be attributed
 * to the right request (`checkCurrent`; it refuses to start otherwise, saying why on stderr,
 * which the host logs), receives a bundle (LOAD), imports it from a
 * `data:` URL (needs no read permission), and serves calls multiplexed by id; see `_frame.ts`.
 * It exits when the socket closes, so it dies with its host.
 *
 * @module
 */
import {
  FrameReader,
  FrameWriter,
  json,
  parseJson,
  readU32,
  splitJson,
  T,
  u32,
  writeAllTo,
} from "./_frame.ts";
import { Inbound, sendBody, type Window } from "./_stream.ts";
import { captureConsole, checkCurrent, createCurrent, createKv, hideHost } from "./_child_env.ts";
import { installNetPolicy, type NetPolicy } from "./_net_policy.ts";
import { INLINE_BODY_MAX, MAX_LOG_CHARS, WAIT_UNTIL_GRACE_MS } from "./constants.ts";

type Handler = { fetch: (req: Request, env: unknown, ctx: unknown) => unknown };
/**
 * A call in flight: `cancelled` once the host cancelled it (its answer is then dropped), and its
 * Request (or, on a Deno without the hook `newRequest` uses, the controller of its signal).
 */
type Call = {
  cancelled: boolean;
  req?: Request;
  ac?: AbortController;
  body?: Inbound;
  win?: Window;
};

const sock = Deno.args[0]!;
// Without a policy argument, nothing beyond public addresses opens.
const policy: NetPolicy = { loopback: false, private: false, ...JSON.parse(Deno.args[1] ?? "{}") };
// Started for one function (not as a spare): its LOAD is already on the way.
const fresh = Deno.args[2] === "fresh";
const conn = await Deno.connect({ transport: "unix", path: sock });
Deno.permissions.revokeSync({ name: "read", path: sock });
Deno.permissions.revokeSync({ name: "write", path: sock });
installNetPolicy(policy);
const setMainModule = hideHost();
const write = writeAllTo(conn);
let lastWrite: Promise<void> = Promise.resolve();
const out = new FrameWriter((b) => lastWrite = write(b), () => Deno.exit(1));
const { kv, reply: kvReply } = createKv(out);
const calls = new Map<number, Call>();
const waiting = new Set<Promise<unknown>>();
let handler: Handler | undefined;
let env: unknown = { KV: kv, VARS: {} };
let peerId = "";

const current = await createCurrent();
// Checked before any function code runs, alongside the warm-up below.
const checked = checkCurrent(current).catch(async (e) => {
  // Refuse to start (70: EX_SOFTWARE): the host logs this stderr line and the start fails.
  await Deno.stderr.write(
    new TextEncoder().encode(`Sandbox refuses to start: ${(e as Error).message}\n`),
  );
  Deno.exit(70);
});
const log = captureConsole(out, MAX_LOG_CHARS, current);
globalThis.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  console.error("Unhandled rejection:", e.reason);
});
globalThis.addEventListener("error", (e) => {
  e.preventDefault();
  console.error("Uncaught error:", e.error);
});

const message = (e: unknown) =>
  e instanceof Error ? e.message : typeof e === "string" ? e : Deno.inspect(e);

async function load(id: number, payload: Uint8Array): Promise<void> {
  const m = parseJson(payload) as {
    code: string;
    vars: Record<string, string>;
    secrets: Record<string, string>;
    peerId: string;
    name?: string;
  };
  const url = "data:application/javascript," + encodeURIComponent(m.code);
  // Stacks and load errors name the module `<name>.js`, not its URL (the whole source).
  const file = `${m.name ?? "function"}.js`;
  try {
    setMainModule(url, file);
    const mod = await import(url);
    const h = mod.default as Handler | undefined;
    if (!h || typeof h.fetch !== "function") {
      throw new Error("Default export has no fetch method");
    }
    handler = h;
    // Each var and secret as env.<NAME>, as Workers do; KV and VARS cannot be shadowed.
    env = Object.freeze({
      ...m.vars,
      ...m.secrets,
      KV: kv,
      VARS: Object.freeze({ ...m.vars }),
    });
    peerId = m.peerId;
    out.send(T.LOADED, id, json({ ok: true }));
    if (!warmed) {
      // A fresh process warms up now, while its host stores the deploy and the first call is on
      // its way — once LOADED has left (the flush runs in the next microtask; the write needs the
      // event loop, which the warm-up's synchronous first half would hold for ~4 ms).
      await null;
      await lastWrite.catch(() => {});
      warmed = warmUp();
    }
  } catch (e) {
    out.send(T.LOADED, id, json({ ok: false, message: message(e).replaceAll(url, file) }));
  }
}

async function serve(id: number, payload: Uint8Array): Promise<void> {
  const { json: head, tail } = splitJson(payload);
  const h = head as {
    m: string;
    u: string;
    h: [string, string][];
    b: number;
    r: string;
    t: number;
  };
  // How long the call waited for this process since the host sent it: the host hands a busy
  // process fewer calls at once.
  const waited = Math.max(0, Date.now() - (Number(h.t) || Date.now()));
  const call: Call = { cancelled: false };
  calls.set(id, call);
  let body: BodyInit | null = null;
  if (h.b === 1) body = tail.slice();
  else if (h.b === 2) {
    call.body = new Inbound((n) => out.send(T.REQ_CREDIT, id, u32(n)), () => {});
    body = call.body.readable;
  }
  try {
    const req = newRequest(h.u, h.m, h.h, body, call);
    const ctx = {
      peerId,
      requestId: h.r,
      waitUntil(p: Promise<unknown>) {
        const w = Promise.resolve(p).catch((e) => console.error("waitUntil rejected:", e));
        waiting.add(w);
        w.finally(() => waiting.delete(w));
      },
    };
    const res = await current.run(h.r, async () => {
      // No module yet: this is the host's warm-up call, answered like a trivial function.
      const r = handler ? await handler.fetch(req, env, ctx) : new Response(await req.text());
      if (!(r instanceof Response)) throw new TypeError("fetch() did not return a Response");
      return r;
    });
    if (call.cancelled) return;
    // Before the headers: reading them makes Deno turn a string body into a stream.
    const text = textBody(res);
    let headers = text === undefined ? undefined : keptHeaders(res);
    if (headers === undefined) {
      // forEach, not the iterator: ~0.5 µs and ~0.8 KB less a call, the same sorted, combined
      // pairs.
      const list: [string, string][] = headers = [];
      res.headers.forEach((value, name) => {
        list.push([name, value]);
      });
    }
    if (text !== undefined) {
      // At most 3 bytes a UTF-16 unit: a text that surely fits is encoded straight into the frame.
      const body = text.length * 3 <= INLINE_BODY_MAX ? text : te.encode(text);
      if (body.length <= INLINE_BODY_MAX) {
        // `t`: the host may make its Response from the string again (no ArrayBuffer for it).
        out.sendJson(T.RES, id, { s: res.status, h: headers, b: 1, w: waited, t: 1 }, body);
        return;
      }
    }
    await sendBody(
      res.body,
      {
        head: (b, inline) =>
          out.sendJson(T.RES, id, { s: res.status, h: headers, b, w: waited }, inline),
        chunk: (c) => out.send(T.RES_CHUNK, id, [c]),
        end: () => out.send(T.RES_END, id),
      },
      () => !call.cancelled,
      (win) => call.win = win,
    );
  } catch (e) {
    if (!call.cancelled) {
      // The stack goes to the log only: the caller's answer carries the message at most.
      log("error", ["Uncaught exception:", e], h.r);
      out.send(T.RES_ERROR, id, json({ message: message(e) }));
    }
  } finally {
    calls.delete(id);
  }
}

/** A Request's inner request, where Deno's signal getter finds the hook that aborts it. */
type Inner = { onCancel?: (abort: () => void) => void; abort?: () => void };
/**
 * Deno's key of a Request's inner request; false when this Deno has none, or its `onCancel` hook
 * does not make an abortable signal (looked up and checked once).
 */
let innerKey: symbol | false | undefined;

/** Keeps the function with which Deno aborts a Request's signal, when it makes the signal. */
function keepAbort(this: Inner, abort: () => void): void {
  this.abort = abort;
}

/**
 * A Request for a call, to be aborted by {@linkcode abortCall}. A signal handed to `new Request`
 * costs ~3 µs a call (Deno makes a dependent signal held by weak references: 5.3 → 2.2 µs a
 * Request in a loop); without one, Deno makes the Request's signal only when something reads it,
 * and asks the inner request's `onCancel` hook how to abort it, as for a request of `Deno.serve`
 * (whose reason a cancelled call's signal then gives). On a Deno where that hook does not work,
 * the call takes an AbortController's signal as before.
 */
function newRequest(
  url: string,
  method: string,
  headers: [string, string][],
  body: BodyInit | null,
  call: Call,
): Request {
  innerKey ??= hookWorks();
  let req: Request;
  if (innerKey === false) {
    call.ac = new AbortController();
    req = new Request(url, { method, body, signal: call.ac.signal });
  } else {
    // A GET without a body needs no init: converting one costs ~0.3 µs.
    req = method === "GET" && body === null ? new Request(url) : new Request(url, { method, body });
    (req as unknown as Record<symbol, Inner>)[innerKey]!.onCancel = keepAbort;
    call.req = req;
  }
  // Appended, not handed over in the init: its conversion as a sequence cost ~0.6 µs and ~1.7 KB
  // for two headers. The same checks, and a body's content type is never added by Deno here (its
  // body is bytes or a stream).
  const list = req.headers;
  for (let i = 0; i < headers.length; i++) list.append(headers[i]![0], headers[i]![1]);
  return req;
}

/** Aborts the signal of a call's Request: made now if nobody read it yet, then aborted. */
function abortCall(call: Call): void {
  if (call.ac) call.ac.abort(new DOMException("The call was cancelled", "AbortError"));
  else if (call.req && innerKey) {
    call.req.signal;
    (call.req as unknown as Record<symbol, Inner>)[innerKey]!.abort?.();
  }
}

/** The inner request's key when its `onCancel` hook makes an abortable signal, else false. */
function hookWorks(): symbol | false {
  try {
    const req = new Request("http://check/");
    const key = Object.getOwnPropertySymbols(req).find((s) => s.description === "request");
    const inner = key && (req as unknown as Record<symbol, Inner | undefined>)[key];
    if (!key || typeof inner !== "object" || inner === null) return false;
    inner.onCancel = keepAbort;
    const signal = req.signal;
    if (signal.aborted || typeof inner.abort !== "function") return false;
    inner.abort();
    return signal.aborted ? key : false;
  } catch {
    return false;
  }
}

const te = new TextEncoder();
/** Deno's key of a string body kept aside; false when this Deno has none (looked up once). */
let lazyBody: symbol | false | undefined;

/**
 * The text of a body made from a string (`new Response(text)`, `Response.json()`), which Deno
 * keeps aside until something reads the body: sent as it is, it needs no stream, reader and two
 * reads (readHead and the stream were ~8% of the child's profile under wrk). Undefined for any
 * other body, or when this Deno keeps no such field: the stream path serves those.
 */
function textBody(res: Response): string | undefined {
  lazyBody ??=
    Object.getOwnPropertySymbols(new Response("x")).find((s) =>
      s.description === "lazy static body"
    ) ?? false;
  if (lazyBody === false) return undefined;
  // Read first, touching nothing else of the Response: most of its getters (even `bodyUsed`)
  // turn the kept string into a stream. A kept body is an unread one.
  const v = (res as unknown as Record<symbol, unknown>)[lazyBody];
  return typeof v === "string" ? v : undefined;
}

/**
 * Deno's keys of a Response's inner response and of the content type it keeps beside a string
 * body; false when this Deno has none, or they do not give a Response's headers (checked once).
 */
let keptKeys: { inner: symbol; type: symbol } | false | undefined;

/**
 * The headers of a Response whose body is a kept string ({@linkcode textBody}), without reading
 * `res.headers`, which turns the string into a stream (~1.4 KB and ~0.5 µs a call): Deno keeps a
 * string only for a Response made without init (`new Response(text)`, `Response.json(v)`), whose
 * one header is the content type kept beside it (text/plain for a text). Undefined when the
 * Response has headers of its own, or on a Deno that keeps them otherwise.
 */
function keptHeaders(res: Response): [string, string][] | undefined {
  keptKeys ??= keysGiveHeaders();
  if (keptKeys === false) return undefined;
  const r = res as unknown as Record<symbol, unknown>;
  const inner = r[keptKeys.inner] as { headerList?: unknown } | undefined;
  if (!Array.isArray(inner?.headerList) || inner.headerList.length !== 0) return undefined;
  const type = r[keptKeys.type];
  return [["content-type", typeof type === "string" ? type : "text/plain;charset=UTF-8"]];
}

/** The keys {@linkcode keptHeaders} reads, when they give what `headers` lists for the same Responses. */
function keysGiveHeaders(): { inner: symbol; type: symbol } | false {
  try {
    const keys = Object.getOwnPropertySymbols(new Response("x"));
    const inner = keys.find((k) => k.description === "response");
    const type = keys.find((k) => k.description === "lazy static content type");
    if (!inner || !type) return false;
    keptKeys = { inner, type };
    for (const make of [() => new Response("x"), () => Response.json({ a: 1 })]) {
      const probe = make();
      if (textBody(probe) === undefined) return false;
      const got = keptHeaders(probe);
      const want: [string, string][] = [];
      make().headers.forEach((value, name) => want.push([name, value]));
      if (JSON.stringify(got) !== JSON.stringify(want)) return false;
    }
    return keptKeys;
  } catch {
    return false;
  }
}

function onFrame(type: number, id: number, payload: Uint8Array): void {
  switch (type) {
    case T.REQ:
      serve(id, payload);
      return;
    case T.REQ_CHUNK:
      calls.get(id)?.body?.push(payload.slice());
      return;
    case T.REQ_END:
      calls.get(id)?.body?.end();
      return;
    case T.RES_CREDIT:
      calls.get(id)?.win?.credit(readU32(payload));
      return;
    case T.CANCEL: {
      const c = calls.get(id);
      if (c) {
        c.cancelled = true;
        abortCall(c);
        c.body?.fail(new DOMException("The call was cancelled", "AbortError"));
        c.win?.cancel();
        calls.delete(id);
      }
      out.send(T.CANCEL_ACK, id);
      return;
    }
    case T.KV_REPLY: {
      const { json: msg, tail } = splitJson(payload);
      kvReply(id, msg, tail.slice());
      return;
    }
    case T.LOAD:
      load(id, payload);
      return;
  }
}

async function warmUp(): Promise<void> {
  // One Request/Response round trip makes the first real call ~3 ms faster (measured: a fresh V8 spends ~3 ms on its first Request/Response).
  const r = new Response(new Request("http://warm/", { method: "POST", body: "x" }).body);
  await r.text();
  // The one-time look-ups of a call, done here rather than in the first call of a fresh process.
  innerKey ??= hookWorks();
  textBody(new Response(""));
}

/**
 * Set once the warm-up has begun: before READY in a spare, which has time for it; after LOADED
 * in a fresh process, where it would otherwise hold up the load (~5 ms of a ~30 ms start).
 */
let warmed: Promise<void> | undefined = fresh ? undefined : warmUp();
await Promise.all([warmed, checked]);
out.send(T.READY, 0);
await new FrameReader(0xffff_ffff, onFrame).readAll(conn).catch(() => {});
// The socket closed: the host is gone or retired us. Let waitUntil work finish, briefly.
await Promise.race([
  Promise.allSettled([...waiting]),
  new Promise((r) => setTimeout(r, WAIT_UNTIL_GRACE_MS)),
]);
Deno.exit(0);
