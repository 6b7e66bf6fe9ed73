import assert from "node:assert/strict";
import {
  asRequest,
  asResponse,
  MeshError,
  type OutgoingCall,
  type PeerInfo,
  type Router,
  type Strategy,
} from "../p2p/mod.ts";
import { type Code, STATUS } from "./errors.ts";
import {
  ADMIN_HEADER,
  callMethod,
  createInvoker,
  EXPECT_HEADER,
  FUNCTION_FAILURES,
  functionNameSpan,
  functionUrl,
  type InvokeNet,
  type Invoker,
  NEVER_RAN,
  parseRoute,
  PEER_HEADER,
  REQUEST_ID_HEADER,
} from "./invoke.ts";
import { replayable } from "./_body.ts";
import type { Logger } from "./log.ts";
import { createMetrics } from "./metrics.ts";
import type { FunctionMeta, Registry } from "./catalog/mod.ts";
import {
  type InvokeOptions,
  SandboxError,
  type SandboxErrorCode,
  type SandboxPool,
} from "./sandbox/mod.ts";

Deno.test("invoke: the function sees its URL without the /fn/<name> prefix", () => {
  assert.equal(functionUrl("http://h/fn/hello"), "http://h/");
  assert.equal(functionUrl("http://h/fn/hello/"), "http://h/");
  assert.equal(functionUrl("http://h/fn/hello/a/b?x=1#f"), "http://h/a/b?x=1#f");
  assert.equal(functionUrl("http://h/fn/hello?x=/y"), "http://h/?x=/y");
  // The name as the URL spells it, however hono decodes it.
  assert.equal(functionUrl("http://h/fn/h%65llo/a"), "http://h/a");
  assert.deepEqual(functionNameSpan("http://peer/fn/hello/a?b"), [15, 20]);
  assert.deepEqual(functionNameSpan("http://peer/fn/"), [15, 15]);
  assert.equal(functionNameSpan("http://peer/v1/fn/hello"), undefined);
});

Deno.test("invoke: x-virgo-route is validated", () => {
  assert.equal(parseRoute(null), undefined);
  assert.equal(parseRoute(""), undefined);
  for (const s of ["local", "random", "least-loaded", "p2c"]) assert.equal(parseRoute(s), s);
  const id = "12D3KooWGzh9HHjZ2wYVG3WvGrY6FvcXQ8LJkEEFHb7Nbf6E8kQ1";
  assert.deepEqual(parseRoute(id), { peerId: id });
  assert.throws(() => parseRoute("fastest"), /Invalid x-virgo-route/);
  assert.throws(() => parseRoute("12D3<script>"), /Invalid x-virgo-route/);
});

// ---------------------------------------------------------------------------
// Access and failures: an invoker over fakes of its parts, two of them joined
// by a fake mesh, so what crosses a hop is visible.

type Logged = { level: string; obj: Record<string, unknown>; msg: string | undefined };

function recordingLogger(into: Logged[]): Logger {
  const at = (level: string) => (obj: object, msg?: string) =>
    void into.push({ level, obj: obj as Record<string, unknown>, msg });
  const logger: Logger = {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: () => logger,
  };
  return logger;
}

const SECRET = "secret-detail-123";

/** A fake sandbox's answer with the headers the invoker asks for, as the real pool sets them. */
function answer(res: Response, opts: InvokeOptions): Response {
  for (const [name, value] of opts.headers ?? []) res.headers.set(name, value);
  return res;
}

/** One fake peer: its functions fail with the code in the path, or echo the headers they see. */
function fakePeer(
  peerId: string,
  fns: Record<string, { public: boolean }>,
  opts: { maxBodyBytes?: number } = {},
) {
  const logs: Logged[] = [];
  const seen: Request[] = [];
  const info = { peerId, self: true } as unknown as PeerInfo;
  const registry = {
    get: (name: string) =>
      fns[name] ? { name, version: "0123456789abcdef", public: fns[name].public } : undefined,
    spec: (meta: FunctionMeta) => Promise.resolve({ name: meta.name }),
  } as unknown as Registry;
  const sandbox = {
    invoke(_spec: unknown, req: Request, opts: InvokeOptions) {
      seen.push(req);
      const path = new URL(opts.url ?? req.url).pathname.slice(1);
      if (FUNCTION_FAILURES.has(path)) {
        return Promise.reject(new SandboxError(path as SandboxErrorCode, SECRET));
      }
      if (path === "read") {
        // Reads the whole body, as a function may; a body cut off at its bound fails the read.
        return new Response(req.body).arrayBuffer().then(
          (b) => answer(new Response(`read ${b.byteLength}`), opts),
          () => answer(new Response("cut off"), opts),
        );
      }
      return Promise.resolve(answer(Response.json(Object.fromEntries(req.headers)), opts));
    },
  } as unknown as SandboxPool;
  const mesh = {
    remote: undefined as ((req: Request) => Promise<Response>) | undefined,
    sent: [] as Request[],
  };
  const net: InvokeNet = {
    peerId,
    peers: () => [info],
    invoke(_to, call) {
      const req = asRequest(call);
      mesh.sent.push(req);
      return mesh.remote!(req);
    },
  };
  const router = { pick: () => info, begin: () => () => {}, score: () => 0 } as Router;
  const invoker = createInvoker({
    registry,
    sandbox,
    net,
    router,
    routing: "local",
    logger: recordingLogger(logs),
    metrics: createMetrics(),
    ...opts,
  });
  return { invoker, logs, seen, info, mesh, router };
}

/** Peer `a` hands every call to peer `b` over a fake mesh. */
function twoPeers(fns: Record<string, { public: boolean }>) {
  const a = fakePeer("peer-a", fns);
  const b = fakePeer("peer-b", fns);
  const bInfo = { ...b.info, self: false } as PeerInfo;
  a.router.pick = () => bInfo;
  a.mesh.remote = (req) => fromMesh(b.invoker, req, new URL(req.url).pathname.split("/")[2]!);
  return { a, b, route: { "x-virgo-route": "random" } };
}

/** `req` run as another peer hands a call over (its parts, no Request), answered as a Response. */
async function fromMesh(invoker: Invoker, req: Request, name: string): Promise<Response> {
  const parts = { method: req.method, url: req.url, headers: [...req.headers], body: req.body };
  return asResponse(await invoker.serve(parts, name));
}

const call = (path: string, headers: Record<string, string> = {}) =>
  new Request(`http://peer${path}`, { headers });

Deno.test("invoke: a function's failure shows the public its code and request id only", async () => {
  const { invoker, logs } = fakePeer("peer-a", { f: { public: true } });
  for (const code of FUNCTION_FAILURES) {
    const res = await invoker.handle(call(`/fn/f/${code}`), "f");
    const id = res.headers.get(REQUEST_ID_HEADER)!;
    assert.ok(id);
    assert.equal(res.headers.get(PEER_HEADER), "peer-a");
    const text = await res.text();
    assert.ok(!text.includes(SECRET), text);
    assert.deepEqual(JSON.parse(text), {
      error: { code, message: `The function failed; see the peer's log for request ${id}` },
    });
    assert.equal(res.status, STATUS[code as Code]);
    const line = logs.find((l) => l.obj.requestId === id);
    assert.equal(line?.level, "error");
    assert.deepEqual(line?.obj, { fn: "f", requestId: id, code, message: SECRET });
  }
});

Deno.test("invoke: an admin caller gets a failing function's real message", async () => {
  const { invoker } = fakePeer("peer-a", { f: { public: true } });
  for (const code of FUNCTION_FAILURES) {
    const res = await invoker.handle(call(`/fn/f/${code}`), "f", { admin: true });
    assert.deepEqual(await res.json(), { error: { code, message: SECRET } });
  }
});

Deno.test("invoke: errors of our own making keep their messages", async () => {
  const { invoker, router } = fakePeer("peer-a", { f: { public: true } });
  const cases: Array<[Request, string, RegExp]> = [
    [call("/fn/nope"), "FUNCTION_NOT_FOUND", /No function named nope/],
    [call("/fn/f", { "x-virgo-route": "sideways" }), "BAD_REQUEST", /Invalid x-virgo-route/],
    [
      new Request("http://peer/fn/f", {
        method: "POST",
        body: "x",
        headers: { "content-length": String(64 * 1024 * 1024) },
      }),
      "PAYLOAD_TOO_LARGE",
      /exceeds/,
    ],
    [call("/fn/f", { "x-virgo-route": "random" }), "NO_PEER_AVAILABLE", /No peer can run f/],
  ];
  router.pick = () => undefined;
  for (const [req, code, message] of cases) {
    const name = new URL(req.url).pathname.split("/")[2]!;
    const body = await (await invoker.handle(req, name)).json();
    assert.equal(body.error.code, code);
    assert.match(body.error.message, message);
  }
});

Deno.test("invoke: a call from the mesh past the body limit is 413, declared or streamed; GET drops its body", async () => {
  const { invoker } = fakePeer("peer-b", { f: { public: true } }, { maxBodyBytes: 1024 });
  const served = async (method: string, headers: [string, string][], size: number) => {
    const chunk = new Uint8Array(256);
    const body = ReadableStream.from(Array.from({ length: size / 256 }, () => chunk));
    const res = asResponse(
      await invoker.serve({ method, url: "http://peer/fn/f/read", headers, body }, "f"),
    );
    return { status: res.status, text: await res.text() };
  };
  assert.deepEqual(await served("POST", [], 1024), { status: 200, text: "read 1024" });
  for (
    const [headers, size] of [
      [[["content-length", "1025"]], 0],
      [[["Content-Length", "999999"]], 1024],
      [[], 2048],
    ] as Array<[[string, string][], number]>
  ) {
    const { status, text } = await served("POST", headers, size);
    assert.equal(status, 413, JSON.stringify(headers));
    assert.equal(JSON.parse(text).error.code, "PAYLOAD_TOO_LARGE");
  }
  assert.deepEqual(await served("GET", [], 2048), { status: 200, text: "read 0" });
});

Deno.test("invoke: across a hop, the peer that ran the call logs it and the caller's token decides", async () => {
  const { a, b, route } = twoPeers({ f: { public: true } });

  const pub = await a.invoker.handle(call("/fn/f/FUNCTION_ERROR", route), "f");
  const id = pub.headers.get(REQUEST_ID_HEADER)!;
  assert.equal(pub.headers.get(PEER_HEADER), "peer-b");
  const body = await pub.text();
  assert.ok(!body.includes(SECRET), body);
  assert.match(body, new RegExp(`request ${id}`));
  assert.ok(b.logs.some((l) => l.level === "error" && l.obj.message === SECRET));
  assert.ok(!a.logs.some((l) => JSON.stringify(l).includes(SECRET)));
  assert.equal(a.mesh.sent[0]!.headers.get(ADMIN_HEADER), null);

  const admin = await a.invoker.handle(
    call("/fn/f/FUNCTION_ERROR", { ...route, authorization: "Bearer the-admin-token" }),
    "f",
    { admin: true },
  );
  assert.deepEqual(await admin.json(), { error: { code: "FUNCTION_ERROR", message: SECRET } });
  // The admin token stays on the peer that checked it; a flag crosses the mesh instead.
  const sent = a.mesh.sent[1]!;
  assert.equal(sent.headers.get(ADMIN_HEADER), "1");
  assert.equal(sent.headers.get("authorization"), null);
});

Deno.test("invoke: a private function needs the admin token on the peer that receives the call", async () => {
  const { invoker, seen } = fakePeer("peer-a", { p: { public: false } });
  const denied = await invoker.handle(call("/fn/p"), "p");
  assert.equal(denied.status, 401);
  assert.equal((await denied.json()).error.code, "UNAUTHORIZED");
  assert.match(denied.headers.get("www-authenticate") ?? "", /^Bearer/);
  // A forged flag from a public caller is no token.
  const forged = await invoker.handle(call("/fn/p", { [ADMIN_HEADER]: "1" }), "p");
  assert.equal(forged.status, 401);
  assert.equal(seen.length, 0);

  assert.equal((await invoker.handle(call("/fn/p"), "p", { admin: true })).status, 200);
  assert.equal((await invoker.handle(call("/fn/p"), "p", { guarded: false })).status, 200);
  assert.equal((await fromMesh(invoker, call("/fn/p"), "p")).status, 200);

  const { a, b, route } = twoPeers({ p: { public: false } });
  assert.equal((await a.invoker.handle(call("/fn/p", route), "p")).status, 401);
  assert.equal(a.mesh.sent.length, 0);
  const ok = await a.invoker.handle(call("/fn/p", route), "p", { admin: true });
  assert.equal(ok.status, 200);
  assert.equal(b.seen.length, 1);
});

Deno.test("invoke: a function never sees the admin token or the admin flag", async () => {
  const { invoker } = fakePeer("peer-a", { f: { public: true } });
  const headersSeen = async (req: Request, opts?: { admin?: boolean }) =>
    await (await invoker.handle(req, "f", opts)).json() as Record<string, string>;

  const admin = await headersSeen(
    call("/fn/f", { authorization: "Bearer the-admin-token", "x-custom": "1" }),
    { admin: true },
  );
  assert.equal(admin.authorization, undefined);
  assert.equal(admin["x-custom"], "1");
  // Another Authorization is the function's own business.
  const own = await headersSeen(call("/fn/f", { authorization: "Bearer app-user" }));
  assert.equal(own.authorization, "Bearer app-user");
  const forged = await headersSeen(call("/fn/f", { [ADMIN_HEADER]: "1", [EXPECT_HEADER]: "x" }));
  assert.equal(forged[ADMIN_HEADER], undefined);
  assert.equal(forged[EXPECT_HEADER], undefined);
  const relayed = await (await fromMesh(
    invoker,
    call("/fn/f", { [ADMIN_HEADER]: "1", [EXPECT_HEADER]: "f@0123456789abcdef" }),
    "f",
  )).json() as Record<string, string>;
  assert.equal(relayed[ADMIN_HEADER], undefined);
  assert.equal(relayed[EXPECT_HEADER], undefined);
  // From the mesh as parts: ours are dropped in any case, and read as Headers would read them.
  const served = await asResponse(
    await invoker.serve({
      method: "GET",
      url: "http://peer/fn/f",
      headers: [
        ["X-Virgo-Admin", "1"],
        ["X-VIRGO-EXPECT", " f@0123456789abcdef\t"],
        ["x-virgo-request-id", "id-1"],
        ["x-custom", "2"],
      ],
      body: null,
    }, "f"),
  ).json() as Record<string, string>;
  // (The fake sandbox lists the pairs as they came: names keep their case.)
  const names = Object.keys(served).map((k) => k.toLowerCase());
  assert.ok(!names.includes(ADMIN_HEADER) && !names.includes(EXPECT_HEADER), names.join());
  assert.equal(served["x-custom"], "2");
  assert.equal(served["x-virgo-request-id"], "id-1");
  // A second expect header joins the first, as in Headers: no version matches, so it is refused.
  await assert.rejects(
    invoker.serve({
      method: "GET",
      url: "http://peer/fn/f",
      headers: [[EXPECT_HEADER, "f@0123456789abcdef"], [EXPECT_HEADER, "f@0123456789abcdef"]],
      body: null,
    }, "f"),
    /VERSION_UNAVAILABLE|run f@/,
  );
});

// ---------------------------------------------------------------------------
// Refusals and retries: a small mesh of invokers over fake sandboxes, where a
// refusal thrown by a peer crosses as the mesh carries it (MeshError, remote).

type Behaviour =
  | "run"
  | "OVERLOADED"
  | "SANDBOX_STOPPED"
  | "SHUTTING_DOWN"
  | "NOT_MEMBER"
  // Holds another version of f (a deploy not yet there).
  | "VERSION_UNAVAILABLE"
  // Holds f's version but cannot get its bundle.
  | "NO_BUNDLE";

function fakeMesh(ids: string[]) {
  const behaviour = new Map<string, Behaviour>(ids.map((id) => [id, "run"]));
  const failHop = new Map<string, Code>();
  /** Peers whose hop fails before anything of the call was sent. */
  const unsentHop = new Set<string>();
  /** Every peer a call was sent to over the mesh, in order. */
  const hops: string[] = [];
  const ran: Array<{ peer: string; method: string; body: string }> = [];
  const invokers = new Map<string, ReturnType<typeof createInvoker>>();
  const order = [...ids];
  const infos = (self: string) =>
    ids.map((id) => ({ peerId: id, self: id === self }) as unknown as PeerInfo);
  for (const id of ids) {
    const registry = {
      get: (name: string) =>
        name === "f"
          ? {
            name,
            version: behaviour.get(id) === "VERSION_UNAVAILABLE"
              ? "fedcba9876543210"
              : "0123456789abcdef",
            public: true,
          }
          : undefined,
      spec: (meta: FunctionMeta) =>
        behaviour.get(id) === "NO_BUNDLE"
          ? Promise.reject(new Error("No peer could supply the bundle"))
          : Promise.resolve({ name: meta.name }),
    } as unknown as Registry;
    const sandbox = {
      async invoke(_spec: unknown, req: Request | OutgoingCall, opts: InvokeOptions) {
        const b = behaviour.get(id)!;
        if (b === "OVERLOADED") {
          throw new SandboxError("OVERLOADED", "Too many calls", { refused: true, retryAfter: 3 });
        }
        if (b === "SANDBOX_STOPPED") {
          throw new SandboxError("SANDBOX_STOPPED", "Stopping", { refused: true });
        }
        // A call from the mesh arrives as parts (see `Invoker.serve`).
        const r = req instanceof Request ? req : asRequest(req);
        const body = await r.text();
        ran.push({ peer: id, method: r.method, body });
        return answer(new Response(`${r.method} ${body}`), opts);
      },
    } as unknown as SandboxPool;
    const net: InvokeNet = {
      peerId: id,
      peers: () => infos(id),
      async invoke(to, call) {
        const req = asRequest(call);
        hops.push(to);
        if (unsentHop.has(to)) {
          throw new MeshError("PEER_FAILED", `Cannot open a stream to ${to}`, { unsent: true });
        }
        const hop = failHop.get(to);
        if (hop) {
          await req.body?.cancel();
          throw new MeshError(hop, `Stream to ${to} reset`);
        }
        const b = behaviour.get(to)!;
        // The remote reads the whole request (its drain) whatever it answers.
        const bytes = new Uint8Array(await req.arrayBuffer());
        if (b === "NOT_MEMBER" || b === "SHUTTING_DOWN") {
          throw new MeshError(b, `Refused by ${to}`, { remote: true });
        }
        const hasBody = req.method !== "GET" && req.method !== "HEAD";
        const crossed = new Request(req.url, {
          method: req.method,
          headers: req.headers,
          body: hasBody ? bytes : null,
        });
        const name = new URL(req.url).pathname.split("/")[2]!;
        try {
          return await fromMesh(invokers.get(to)!, crossed, name);
        } catch (err) {
          const code = (err as { code?: Code }).code ?? "PEER_FAILED";
          throw new MeshError(code, (err as Error).message, { remote: true });
        }
      },
    };
    const router = {
      pick: (s: Strategy, exclude?: Set<string>) =>
        infos(id).sort((x, y) => order.indexOf(x.peerId) - order.indexOf(y.peerId))
          .find((p) => (s !== "local" || p.self) && !exclude?.has(p.peerId)),
      begin: () => () => {},
      score: () => 0,
    } as Router;
    invokers.set(
      id,
      createInvoker({
        registry,
        sandbox,
        net,
        router,
        routing: "p2c",
        logger: recordingLogger([]),
        metrics: createMetrics(),
      }),
    );
  }
  return { invokers, behaviour, failHop, unsentHop, hops, ran, order };
}

const post = (headers: Record<string, string> = {}, method = "POST") =>
  new Request("http://peer/fn/f", { method, body: "payload", headers });

Deno.test("invoke: a call this peer refuses as overloaded runs on a peer with room", async () => {
  const { invokers, behaviour, ran } = fakeMesh(["a", "b"]);
  behaviour.set("a", "OVERLOADED");
  const a = invokers.get("a")!;
  const res = await a.handle(post(), "f");
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "POST payload");
  assert.deepEqual(ran.map((r) => r.peer), ["b"]);

  // Pinned here, it is refused: fast, with the contract's error and when to retry.
  const pinned = await a.handle(post({ "x-virgo-route": "local" }), "f");
  assert.equal(pinned.status, 503);
  assert.equal(pinned.headers.get("retry-after"), "3");
  assert.equal((await pinned.json()).error.code, "OVERLOADED");
  // Nowhere with room: the refusal is the answer.
  behaviour.set("b", "OVERLOADED");
  const full = await a.handle(post(), "f");
  assert.equal(full.status, 503);
  assert.match(full.headers.get("retry-after") ?? "", /^\d+$/);
  assert.equal((await full.json()).error.code, "OVERLOADED");
  assert.equal(ran.length, 1);
});

Deno.test("invoke: a peer that refused a call before it ran passes it on, whatever the method", async () => {
  for (const code of NEVER_RAN) {
    const { invokers, behaviour, ran, order } = fakeMesh(["a", "b", "c"]);
    order.splice(0, 3, "b", "c", "a"); // a routes to b first
    behaviour.set("b", code as Behaviour);
    const res = await invokers.get("a")!.handle(post(), "f");
    assert.equal(res.status, 200, code);
    assert.equal(await res.text(), "POST payload", code);
    // A peer without the version: the caller, which has it, runs the call.
    assert.deepEqual(ran.map((r) => r.peer), [code === "VERSION_UNAVAILABLE" ? "a" : "c"], code);
  }
});

Deno.test("invoke: a peer without the expected version refuses before running, and the caller runs the call without a failed call", async () => {
  for (const lack of ["VERSION_UNAVAILABLE", "NO_BUNDLE"] as const) {
    const { invokers, behaviour, ran, order, hops } = fakeMesh(["a", "b", "c"]);
    order.splice(0, 3, "b", "c", "a");
    behaviour.set("b", lack);
    const res = await invokers.get("a")!.handle(post(), "f");
    assert.equal(res.status, 200, lack);
    assert.equal(res.headers.get(PEER_HEADER), "a", lack);
    assert.equal(await res.text(), "POST payload", lack);
    assert.deepEqual(hops, ["b"], lack);
    assert.deepEqual(ran.map((r) => r.peer), ["a"], lack);
  }
  // Called straight from the mesh, such a peer answers the refusal with its code, so it crosses.
  const { invokers, behaviour } = fakeMesh(["a", "b"]);
  behaviour.set("b", "VERSION_UNAVAILABLE");
  const req = new Request("http://peer/fn/f", {
    headers: { [EXPECT_HEADER]: "f@0123456789abcdef" },
  });
  await assert.rejects(
    fromMesh(invokers.get("b")!, req, "f"),
    (err: { code?: string }) => err.code === "VERSION_UNAVAILABLE",
  );
  // A peer that holds the expected version runs the call.
  const ok = await fromMesh(
    invokers.get("a")!,
    new Request("http://peer/fn/f", { headers: { [EXPECT_HEADER]: "f@0123456789abcdef" } }),
    "f",
  );
  assert.equal(ok.status, 200);
});

/** A call with `method`, carrying "payload" where the Fetch API lets it have a body. */
const withMethod = (method: string, headers: Record<string, string> = {}) =>
  new Request("http://peer/fn/f", {
    method,
    headers,
    body: method === "GET" || method === "HEAD" ? null : "payload",
  });

Deno.test("invoke: when the chosen peer fails before answering, GET, HEAD, PUT, DELETE and OPTIONS are retried once on another peer; other methods answer 502", async () => {
  for (const method of ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]) {
    const { invokers, failHop, hops, ran, order } = fakeMesh(["a", "b", "c"]);
    order.splice(0, 3, "b", "c", "a"); // a routes to b first, then c
    failHop.set("b", "PEER_FAILED");
    const res = await invokers.get("a")!.handle(withMethod(method), "f");
    assert.equal(res.status, 200, method);
    assert.equal(res.headers.get(PEER_HEADER), "c", method);
    await res.body?.cancel();
    assert.deepEqual(hops, ["b", "c"], method);
    // The body is sent again whole.
    const body = method === "GET" || method === "HEAD" ? "" : "payload";
    assert.deepEqual(ran, [{ peer: "c", method, body }], method);
  }
  for (const method of ["POST", "PATCH", "M-SEARCH"]) {
    const { invokers, failHop, hops, ran, order } = fakeMesh(["a", "b", "c"]);
    order.splice(0, 3, "b", "c", "a");
    failHop.set("b", "PEER_FAILED");
    const res = await invokers.get("a")!.handle(withMethod(method), "f");
    assert.equal(res.status, 502, method);
    assert.equal((await res.json()).error.code, "PEER_FAILED", method);
    // It may have run on b: it is not run again anywhere.
    assert.deepEqual(hops, ["b"], method);
    assert.deepEqual(ran, [], method);
  }
});

Deno.test("invoke: the retry is once: a second failed peer answers 502, though a third could run it", async () => {
  const { invokers, failHop, hops, ran, order } = fakeMesh(["a", "b", "c", "d"]);
  order.splice(0, 4, "b", "c", "d", "a");
  failHop.set("b", "PEER_FAILED");
  failHop.set("c", "PEER_FAILED");
  const res = await invokers.get("a")!.handle(withMethod("PUT"), "f");
  assert.equal(res.status, 502);
  assert.equal((await res.json()).error.code, "PEER_FAILED");
  assert.deepEqual(hops, ["b", "c"]);
  assert.deepEqual(ran, []);
});

Deno.test("invoke: a call that never left goes to another peer whatever its method; a pinned call stays put", async () => {
  const { invokers, unsentHop, hops, ran, order } = fakeMesh(["a", "b", "c"]);
  order.splice(0, 3, "b", "c", "a");
  unsentHop.add("b");
  const res = await invokers.get("a")!.handle(withMethod("POST"), "f");
  assert.equal(await res.text(), "POST payload");
  assert.deepEqual(hops, ["b", "c"]);
  assert.deepEqual(ran.map((r) => r.peer), ["c"]);

  // Pinned by the caller: the peer it named, or the error, even for a GET.
  const [a, b, c] = [
    "12D3KooWSVeMK7ZwSCuxMycVSeMXfoBfJbYzrqR47naYPYfzoLGe",
    "12D3KooWQmumqq4YY6kGxmyd5QmrTvZPznd3yVteD1d3xoxX2CZj",
    "12D3KooWFW2Et5hH8RoCBDUb4xpTddsT4AMXAva4yTeeTkxNZKs2",
  ];
  const pinned = fakeMesh([a, b, c]);
  pinned.failHop.set(b, "PEER_FAILED");
  const res2 = await pinned.invokers.get(a)!.handle(withMethod("GET", { "x-virgo-route": b }), "f");
  assert.equal(res2.status, 502);
  assert.equal((await res2.json()).error.code, "PEER_FAILED");
  assert.deepEqual(pinned.hops, [b]);
  assert.deepEqual(pinned.ran, []);
});

Deno.test("invoke: a call from the mesh refused here is thrown, so its code crosses back", async () => {
  const { invokers, behaviour } = fakeMesh(["a"]);
  behaviour.set("a", "OVERLOADED");
  await assert.rejects(
    fromMesh(invokers.get("a")!, post(), "f"),
    (e: SandboxError) => e.code === "OVERLOADED",
  );
  behaviour.set("a", "SANDBOX_STOPPED");
  await assert.rejects(
    fromMesh(invokers.get("a")!, post(), "f"),
    (e: SandboxError) => e.code === "SANDBOX_STOPPED",
  );
});

/** A request as Deno.serve hands it over: any method, as sent, with a body stream. */
function served(method: string, body: string | null = ""): Request {
  const req = body === null
    ? new Request("http://peer/fn/f")
    : new Request("http://peer/fn/f", { method: "POST", body });
  Object.defineProperty(req, "method", { value: method });
  return req;
}

Deno.test("invoke: any method answers: the Fetch API's spelling reaches the function, or 405", async () => {
  assert.equal(callMethod("get"), "GET");
  assert.equal(callMethod("Delete"), "DELETE");
  assert.equal(callMethod("patch"), "patch");
  for (const m of ["TRACE", "track", "Connect"]) {
    assert.throws(() => callMethod(m), /cannot be passed to a function/);
  }
  const { invokers, ran, order } = fakeMesh(["a", "b"]);
  const a = invokers.get("a")!;
  for (const method of ["TRACE", "TRACK", "trace", "CONNECT"]) {
    const res = await a.handle(served(method, null), "f");
    assert.equal(res.status, 405, method);
    assert.match(res.headers.get("content-type") ?? "", /application\/json/);
    assert.equal((await res.json()).error.code, "METHOD_NOT_ALLOWED");
  }
  const seen = async (method: string, body: string | null, headers = {}) => {
    const req = served(method, body);
    for (const [k, v] of Object.entries(headers)) req.headers.set(k, v as string);
    const res = await a.handle(req, "f");
    assert.equal(res.status, 200, `${method}: ${res.status}`);
    return await res.text();
  };
  assert.equal(await seen("get", ""), "GET ");
  assert.equal(await seen("Get", "ignored"), "GET ");
  assert.equal(await seen("HEAD", ""), "HEAD ");
  assert.equal(await seen("patch", "x"), "patch x");
  assert.equal(await seen("PROPFIND", "y"), "PROPFIND y");
  assert.equal(await seen("post", "z"), "POST z");
  // Across a hop too.
  order.splice(0, 2, "b", "a");
  assert.equal(await seen("get", ""), "GET ");
  assert.equal(await seen("patch", "x"), "patch x");
  assert.deepEqual(new Set(ran.map((r) => r.peer)), new Set(["a", "b"]));
});

Deno.test("invoke: a body kept for a second try is replayed whole, until it passes its bound", async () => {
  const source = (...parts: string[]) =>
    ReadableStream.from(parts.map((p) => new TextEncoder().encode(p)));
  const replay = replayable(source("ab", "cd", "ef"), 4);
  const first = replay.again()!.getReader();
  assert.equal(new TextDecoder().decode((await first.read()).value), "ab");
  // A second reading starts over and ends the first.
  assert.equal(await new Response(replay.again()).text(), "abcdef");
  assert.equal((await first.read()).done, true);

  const big = replayable(source("ab", "cd", "ef"), 3);
  assert.equal(await new Response(big.again()).text(), "abcdef");
  assert.equal(big.again(), undefined);
});
