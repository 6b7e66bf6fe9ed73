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
import { z } from "zod";
import type { TokenCheck } from "../auth.ts";
import { readLimited } from "../_body.ts";
import { VirgoError } from "../errors.ts";
import { route } from "../openapi/mod.ts";
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

  const page = { description: "The page", media: "text/html" };
  const redirect = { description: "On to the next page (`location`)" };
  route(routes, "get", "/", {
    summary: "The dashboard",
    tag: "dashboard",
    responses: { 200: page },
  }, () => html(dashboardPage(deps.peerId, deps.check !== undefined)));

  route(routes, "get", "/signin", {
    summary: "The sign-in page (public)",
    tag: "dashboard",
    responses: { 200: page, 303: redirect },
  }, (c) => deps.check ? html(signinPage()) : c.redirect("/", 303));
  route(routes, "post", "/signin", {
    summary: "Sign in with the token: sets the session cookie (HttpOnly, SameSite=Strict)",
    tag: "dashboard",
    body: { stream: "application/x-www-form-urlencoded", description: "`token=<the token>`" },
    responses: { 303: redirect, 400: page, 401: page },
  }, async (c) => {
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
  route(routes, "post", "/signout", {
    summary: "Sign out: ends the session",
    tag: "dashboard",
    responses: { 303: redirect },
  }, (c) => {
    sessions.drop(c.req.header("cookie"));
    c.header("set-cookie", sessionCookie("", { secure: overHttps(c.req.raw) }));
    return c.redirect(deps.check ? "/signin" : "/", 303);
  });

  route(routes, "get", "/dashboard/state", {
    summary: "What the dashboard shows, once",
    tag: "dashboard",
    responses: { 200: { description: "The state", json: z.record(z.string(), z.unknown()) } },
  }, (c) => c.json(dashboardState(deps)));
  route(routes, "get", "/dashboard/events", {
    summary: "What the dashboard shows, live",
    tag: "dashboard",
    responses: { 200: { description: "`state` events", media: "text/event-stream" } },
  }, (c) =>
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

  route(routes, "post", "/dashboard/functions/:name/rollback", {
    summary:
      "Roll a function back, as `POST /v1/functions/:name/rollback` (needs `x-virgo-dashboard: 1`)",
    tag: "dashboard",
    body: { stream: "application/json", description: "As the rollback's" },
    responses: { 200: { description: "As the rollback's", media: "application/json" } },
    errors: [403, 404, 409],
  }, async (c) => {
    if (c.req.header(DASHBOARD_HEADER) !== "1") {
      throw new VirgoError("FORBIDDEN", `Send ${DASHBOARD_HEADER}: 1 with the dashboard's actions`);
    }
    const body = await readLimited(c.req.raw, 4096);
    return await deps.api(
      `/v1/functions/${encodeURIComponent(c.req.param("name") ?? "")}/rollback`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: body.byteLength > 0 ? body : null,
      },
    );
  });
  route(routes, "get", "/dashboard/logs/:fn", {
    summary: "A function's logs, as `GET /v1/logs/:fn`",
    tag: "dashboard",
    responses: { 200: { description: "As the logs'", media: "application/json" } },
    errors: [404],
  }, async (c) => {
    const query = new URL(c.req.url).search;
    return await deps.api(`/v1/logs/${encodeURIComponent(c.req.param("fn") ?? "")}${query}`, {
      signal: c.req.raw.signal,
    });
  });
  return { routes, sessions };
}
