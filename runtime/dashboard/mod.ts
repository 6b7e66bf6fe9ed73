/**
 * `runtime/dashboard/` — the peer's dashboard: one page served by the peer itself (no build
 * step, no external CDN), updated live over server-sent events.
 *
 * Routes (all behind the token guard, which accepts the session cookie on them):
 * - `GET /` the page; `GET /signin`, `POST /signin` (public) take the token once and set the
 *   session cookie; `POST /signout` ends it.
 * - `GET /dashboard/state` one snapshot as JSON; `GET /dashboard/events` snapshots over SSE.
 * - `POST /dashboard/functions/:name/rollback` and `GET /dashboard/logs/:fn` pass to the API
 *   (`/v1/functions/:name/rollback`, `/v1/logs/:fn`) as the operator, so the browser never
 *   holds the token.
 *
 * @example
 * ```ts
 * const dash = createDashboard({ peerId, registry, net, metrics, check, api });
 * app.use("*", adminAuth(check, { sessions: dash.sessions }));
 * app.route("/", dash.routes);
 * ```
 * @module
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { TokenCheck } from "../auth.ts";
import { readLimited } from "../_body.ts";
import { VirgoError } from "../errors.ts";
import { createSessions, sessionCookie, type Sessions } from "./session.ts";
import { dashboardState, type StateSource } from "./state.ts";
import { dashboardPage } from "./page.ts";
import { signinPage } from "./signin.ts";

export { createSessions, SESSION_COOKIE, sessionCookie, type Sessions } from "./session.ts";
export { type DashboardState, dashboardState, type FunctionView, type PeerView } from "./state.ts";

/** How often `/dashboard/events` sends a snapshot. */
export const EVENT_INTERVAL_MS = 1000;
/** The header the page sends with its POSTs: a cross-site form cannot set it. */
export const DASHBOARD_HEADER = "x-virgo-dashboard";

/** What the dashboard is built from. */
export interface DashboardDeps extends StateSource {
  /** The admin token's check; without one the peer is open (loopback only) and needs no sign-in. */
  check?: TokenCheck | undefined;
  /** Calls this peer's own API as the operator (with the token). */
  api(path: string, init?: RequestInit): Promise<Response>;
  /** Snapshot interval. @default {EVENT_INTERVAL_MS} */
  intervalMs?: number;
}

/** The dashboard's routes and the sessions the token guard accepts. */
export interface Dashboard {
  routes: Hono;
  sessions: Sessions;
}

/** Whether the request reached us over https (directly, or through a TLS front that says so). */
function overHttps(req: Request): boolean {
  return new URL(req.url).protocol === "https:" ||
    req.headers.get("x-forwarded-proto")?.toLowerCase() === "https";
}

/**
 * Builds the dashboard.
 *
 * @example
 * ```ts
 * const dash = createDashboard({ peerId, registry, net, metrics, check, api: (p, i) => app.request(p, i) });
 * ```
 */
export function createDashboard(deps: DashboardDeps): Dashboard {
  const sessions = createSessions();
  const routes = new Hono();
  const interval = deps.intervalMs ?? EVENT_INTERVAL_MS;
  const html = (body: string, status: 200 | 400 | 401 = 200) =>
    new Response(body, {
      status,
      headers: {
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-store",
        "x-frame-options": "DENY",
        "content-security-policy":
          "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
      },
    });

  routes.get("/", () => html(dashboardPage(deps.peerId, deps.check !== undefined)));

  routes.get("/signin", (c) => deps.check ? html(signinPage()) : c.redirect("/", 303));
  routes.post("/signin", async (c) => {
    if (!deps.check) return c.redirect("/", 303);
    const form = new URLSearchParams(new TextDecoder().decode(await readLimited(c.req.raw, 4096)));
    const token = form.get("token") ?? "";
    if (token === "") return html(signinPage("Enter the token."), 400);
    if (!/^\S+$/.test(token) || !(await deps.check.verify(`Bearer ${token}`))) {
      return html(signinPage("That token is not this peer's."), 401);
    }
    c.header("set-cookie", sessionCookie(sessions.create(), { secure: overHttps(c.req.raw) }));
    return c.redirect("/", 303);
  });
  routes.post("/signout", (c) => {
    sessions.drop(c.req.header("cookie"));
    c.header("set-cookie", sessionCookie("", { secure: overHttps(c.req.raw) }));
    return c.redirect(deps.check ? "/signin" : "/", 303);
  });

  routes.get("/dashboard/state", (c) => c.json(dashboardState(deps)));
  routes.get("/dashboard/events", (c) =>
    streamSSE(c, async (stream) => {
      let id = 0;
      while (!stream.aborted && !stream.closed) {
        await stream.writeSSE({
          event: "state",
          id: String(++id),
          data: JSON.stringify(dashboardState(deps)),
        });
        await stream.sleep(interval);
      }
    }));

  routes.post("/dashboard/functions/:name/rollback", async (c) => {
    if (c.req.header(DASHBOARD_HEADER) !== "1") {
      throw new VirgoError("FORBIDDEN", `Send ${DASHBOARD_HEADER}: 1 with the dashboard's actions`);
    }
    const body = await readLimited(c.req.raw, 4096);
    return await deps.api(`/v1/functions/${encodeURIComponent(c.req.param("name"))}/rollback`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: body.byteLength > 0 ? body : null,
    });
  });
  routes.get("/dashboard/logs/:fn", async (c) => {
    const query = new URL(c.req.url).search;
    return await deps.api(`/v1/logs/${encodeURIComponent(c.req.param("fn"))}${query}`, {
      signal: c.req.raw.signal,
    });
  });
  return { routes, sessions };
}
