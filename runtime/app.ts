/**
 * The HTTP face of a peer: one hono app with every route of the contract.
 * It only parses, checks and maps; the work is done by the components it is
 * given, so the app is tested through `app.request()` with real components.
 * @module
 */
import { Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { HTTPException } from "hono/http-exception";
import type { Pool } from "../kv/mod.ts";
import type { PeerInfo } from "../p2p/mod.ts";
import { errorResponse, VirgoError } from "./errors.ts";
import type { Invoker } from "./invoke.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { Registry } from "./registry.ts";
import { dashboard } from "./dashboard.ts";
import { functionRoutes } from "./routes/functions.ts";
import { kvRoutes } from "./routes/kv.ts";
import { memRoutes } from "./routes/mem.ts";

/** What the app is built from. */
export interface AppDeps {
  peerId: string;
  registry: Registry;
  invoker: Invoker;
  pool: Pool;
  net: { peers(): PeerInfo[] };
  metrics: Metrics;
  logger: Logger;
  /** What `GET /v1/status` reports about this peer. */
  status(): Promise<Record<string, unknown>>;
  /** With a token, every `/v1/*` mutation needs `Authorization: Bearer <token>`. */
  token?: string | undefined;
  /** Largest value of a key. @default {1048576} */
  maxValueBytes?: number;
}

const MUTATIONS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

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

  // The hot path first and on its own: no middleware between it and the invoker.
  const invoke = (c: { req: { raw: Request; param(k: "name"): string } }) =>
    deps.invoker.handle(c.req.raw, c.req.param("name"));
  app.all("/fn/:name", invoke);
  app.all("/fn/:name/*", invoke);

  app.get("/healthz", (c) => c.json({ ok: true, peerId: deps.peerId }));
  app.get(
    "/metrics",
    async (c) =>
      c.body(await deps.metrics.render(), 200, { "content-type": deps.metrics.contentType }),
  );
  app.get("/", (c) => c.html(dashboard(deps.peerId)));

  const v1 = new Hono();
  v1.use("*", async (c, next) => {
    await next();
    deps.metrics.httpRequest(c.req.routePath, c.res.status);
  });
  if (deps.token) {
    const auth = bearerAuth({
      token: deps.token,
      noAuthenticationHeader: {
        message: {
          error: { code: "UNAUTHORIZED", message: "Missing Authorization: Bearer <token>" },
        },
      },
      invalidAuthenticationHeader: {
        message: { error: { code: "UNAUTHORIZED", message: "Malformed Authorization header" } },
      },
      invalidToken: { message: { error: { code: "UNAUTHORIZED", message: "Invalid token" } } },
    });
    v1.use("*", (c, next) => MUTATIONS.has(c.req.method) ? auth(c, next) : next());
  }
  v1.route("/functions", functionRoutes(deps.registry));
  v1.route("/kv", kvRoutes(deps.pool, maxValue));
  v1.route("/mem", memRoutes(deps.pool, maxValue));
  v1.get("/peers", (c) => {
    const peers = deps.net.peers();
    return c.json({ self: deps.peerId, count: peers.length, peers });
  });
  v1.get("/status", async (c) => c.json(await deps.status()));
  app.route("/v1", v1);

  app.notFound((c) =>
    errorResponse(
      new VirgoError("NOT_FOUND", `No route ${c.req.method} ${new URL(c.req.url).pathname}`),
    )
  );
  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    const res = errorResponse(err);
    if (res.status >= 500 && res.status !== 503 && res.status !== 507) {
      deps.logger.error({ err: String(err), path: new URL(c.req.url).pathname }, "Request failed");
    }
    return res;
  });
  return app;
}
