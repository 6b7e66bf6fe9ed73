/**
 * The HTTP face of a peer: one hono app with every route of the contract.
 * It only parses, checks and maps; the work is done by the components it is
 * given, so the app is tested through `app.request()` with real components.
 *
 * With a token, the whole app sits behind it; only the paths in
 * {@linkcode PUBLIC_PATHS} (`/healthz`, `/fn/*`) answer without it, and the
 * invoker guards functions deployed `public: false`.
 *
 * Any method reaches a function (`/fn/*`), as the HTTP server handed it over:
 * TRACE, TRACK, `get` in lower case or a method of its own. Elsewhere a
 * method a path does not have answers 405 with `Allow`, and an unknown path
 * 404, both as the contract's JSON error.
 *
 * Every route is declared with `route()` (runtime/openapi): its schemas
 * validate requests and make the OpenAPI document at `/v1/openapi.json`.
 * @module
 */
import { type Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { z } from "zod";
import { TrieRouter } from "hono/router/trie-router";
import { adminAuth, PUBLIC_PATHS, tokenCheck } from "./auth.ts";
import type { Pool } from "../kv/mod.ts";
import type { PeerInfo } from "../p2p/mod.ts";
import { type Code, errorResponse, VirgoError } from "./errors.ts";
import { functionNameSpan, type Invoker } from "./invoke.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { Registry } from "./catalog/mod.ts";
import { createDashboard } from "./dashboard/mod.ts";
import { functionRoutes } from "./routes/functions.ts";
import { kvRoutes } from "./routes/kv.ts";
import { logRoutes } from "./routes/logs.ts";
import type { MeshLogs } from "./logs/mod.ts";
import { memRoutes } from "./routes/mem.ts";
import { backupRoutes, type BackupSourceFn } from "./routes/backup.ts";
import { peerRoutes } from "./routes/peers.ts";
import { referenceRoutes } from "./routes/reference.ts";
import { route } from "./openapi/mod.ts";

/** What the app is built from. */
export interface AppDeps {
  peerId: string;
  registry: Registry;
  invoker: Invoker;
  pool: Pool;
  net: { peers(): PeerInfo[] };
  metrics: Metrics;
  logger: Logger;
  /** Function logs across the mesh, for `GET /v1/logs/:fn`. */
  logs: MeshLogs;
  /** What `GET /v1/status` reports about this peer. */
  status(): Promise<Record<string, unknown>>;
  /**
   * With a token, every route but `/healthz` and `/fn/*` needs
   * `Authorization: Bearer <token>`, and so does a function deployed `public: false`.
   */
  token?: string | undefined;
  /** Makes an online backup of this peer (`POST /v1/backup`); without it the route is absent. */
  backup?: BackupSourceFn;
  /** Largest value of a key. @default {1048576} */
  maxValueBytes?: number;
}

/** Codes for the statuses hono's own `HTTPException`s carry; any other becomes `INTERNAL`. */
const HTTP_CODES: Readonly<Record<number, Code>> = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  413: "PAYLOAD_TOO_LARGE",
};

/**
 * Builds the peer's hono app.
 *
 * @example
 * ```ts
 * const app = createApp(deps);
 * const res = await app.request("/healthz");
 * ```
 */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  const maxValue = deps.maxValueBytes ?? 1024 * 1024;
  const check = deps.token ? tokenCheck(deps.token) : undefined;

  const dash = createDashboard({
    peerId: deps.peerId,
    registry: deps.registry,
    net: deps.net,
    metrics: deps.metrics,
    check,
    // The dashboard's actions go through the API as the operator: the browser holds no token.
    api: (path, init = {}) => {
      const headers = new Headers(init.headers);
      if (deps.token) headers.set("authorization", `Bearer ${deps.token}`);
      return Promise.resolve(app.fetch(new Request(`http://peer${path}`, { ...init, headers })));
    },
  });

  // Guarded by default: the check comes before every route, and only the
  // public paths it lists pass without the token (the dashboard's with its session cookie).
  if (check) {
    app.use("*", adminAuth(check, { publicPaths: PUBLIC_PATHS, sessions: dash.sessions }));
  }

  // The hot path: nothing but the token check above between it and the invoker.
  const call = async (req: Request, name: string) =>
    deps.invoker.handle(req, name, {
      guarded: check !== undefined,
      admin: check !== undefined && await check.verify(req.headers.get("authorization")),
    });
  const invoke = (c: Context) => call(c.req.raw, c.req.param("name") ?? "");
  const callSpec = {
    summary: "Call a function",
    description:
      "Any method; the function sees the path with `/fn/<name>` stripped. Header `x-virgo-route: local|random|least-loaded|p2c|<peerId>` pins where it runs. A function deployed `public: false` needs the token.",
    tag: "calls",
    body: { stream: "*/*", description: "Handed to the function as it is" },
    responses: {
      200: {
        description: "The function's own response (any status)",
        media: "*/*",
        headers: {
          "x-virgo-peer": { description: "The peer that ran it" },
          "x-virgo-request-id": {
            description: "The call's request id (it also tags the function's log lines)",
          },
        },
      },
    },
    errors: [400, 401, 403, 404, 413, 500, 502, 503, 504],
  } as const;
  route(app, "all", "/fn/:name", callSpec, invoke);
  route(app, "all", "/fn/:name/*", callSpec, invoke);

  route(app, "get", "/healthz", {
    summary: "Liveness",
    tag: "peer",
    responses: {
      200: {
        description: "Up",
        json: z.object({ ok: z.literal(true), peerId: z.string() }),
      },
    },
  }, (c) => c.json({ ok: true, peerId: deps.peerId }));
  route(
    app,
    "get",
    "/metrics",
    {
      summary: "Metrics in Prometheus text format",
      tag: "peer",
      responses: { 200: { description: "The metrics", media: deps.metrics.contentType } },
    },
    async (c) =>
      c.body(await deps.metrics.render(), 200, { "content-type": deps.metrics.contentType }),
  );
  app.route("/", dash.routes);

  const v1 = new Hono();
  v1.use("*", async (c, next) => {
    await next();
    deps.metrics.httpRequest(c.req.routePath, c.res.status);
  });
  v1.route("/functions", functionRoutes(deps.registry));
  v1.route("/kv", kvRoutes(deps.pool, maxValue));
  v1.route("/mem", memRoutes(deps.pool, maxValue));
  if (deps.backup) v1.route("/backup", backupRoutes(deps.backup));
  v1.route("/logs", logRoutes(deps.logs, deps.registry));
  v1.route("/", peerRoutes(deps));
  const reference = referenceRoutes(app);
  v1.route("/", reference);
  app.route("/v1", v1);
  // The reference again where a dashboard session reaches it: a browser cannot send the token.
  app.route("/dashboard", reference);

  const allowed = allowedMethods(app);
  app.notFound((c) => {
    const path = new URL(c.req.url).pathname;
    // Method names are the client's: keep what is echoed short.
    const method = c.req.method.slice(0, 32);
    const allow = allowed(path);
    if (allow.length > 0) {
      return errorResponse(
        new VirgoError(
          "METHOD_NOT_ALLOWED",
          `${method} is not allowed on ${path.slice(0, 200)}: use ${allow.join(", ")}`,
        ),
        { allow: allow.join(", ") },
      );
    }
    return errorResponse(new VirgoError("NOT_FOUND", `No route ${method} ${path.slice(0, 200)}`));
  });
  const failed = (err: unknown, url: string): Response => {
    // hono's own exceptions get the contract's shape too; their text is hono's, never a host path.
    const code = err instanceof HTTPException ? HTTP_CODES[err.status] : undefined;
    if (code) return errorResponse(new VirgoError(code, (err as Error).message || code));
    const res = errorResponse(err);
    if (res.status >= 500 && res.status !== 503 && res.status !== 507) {
      deps.logger.error({ err: String(err), path: new URL(url).pathname }, "Request failed");
    }
    return res;
  };
  app.onError((err, c) => failed(err, c.req.url));

  // A function call skips hono's dispatch: the routes above send `/fn/<name>` and
  // `/fn/<name>/…` straight to `invoke`, and the token check lets them pass, so this is the same
  // path minus the router, the middleware chain and a Context per call. A name hono would decode
  // (`%`), and HEAD (which hono answers as GET without the body), take the routes.
  const dispatch = app.fetch;
  app.fetch = (req, env, ctx) => {
    const name = req.method === "HEAD" ? undefined : functionName(req.url);
    if (name === undefined) return dispatch(req, env, ctx);
    return call(req, name).catch((err) => failed(err, req.url));
  };
  return app;
}

/**
 * The `<name>` of a URL whose path is `/fn/<name>` or `/fn/<name>/…`, when it is plain (no `%`);
 * undefined for any other URL.
 *
 * @example
 * ```ts
 * functionName("http://peer/fn/hello/a?b"); // "hello"
 * functionName("http://peer/v1/status");    // undefined
 * ```
 */
export function functionName(url: string): string | undefined {
  const span = functionNameSpan(url);
  if (span === undefined || span[1] === span[0]) return undefined;
  const pct = url.indexOf("%", span[0]);
  return pct >= 0 && pct < span[1] ? undefined : url.slice(span[0], span[1]);
}

/**
 * The methods each path has, from the app's routes (those of one method:
 * `all` routes and middleware match any). Rebuilt when routes were added;
 * HEAD comes with GET, as hono answers it.
 */
function allowedMethods(app: Hono): (path: string) => string[] {
  let built = -1;
  let router = new TrieRouter<string>();
  let methods: string[] = [];
  return (path) => {
    if (built !== app.routes.length) {
      built = app.routes.length;
      router = new TrieRouter<string>();
      const seen = new Set<string>();
      for (const r of app.routes) {
        if (r.method === "ALL") continue;
        router.add(r.method, r.path, r.method);
        seen.add(r.method);
      }
      methods = [...seen];
    }
    const allow = methods.filter((m) => router.match(m, path)[0].length > 0);
    if (allow.includes("GET") && !allow.includes("HEAD")) allow.push("HEAD");
    return allow.sort();
  };
}
