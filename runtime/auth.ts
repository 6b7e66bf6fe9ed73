/**
 * The admin token: one check of `Authorization: Bearer <token>`, in constant
 * time, and the middleware that puts every route behind it except the few
 * listed as public. Guarding by default means a route added later is guarded
 * without anyone remembering to.
 *
 * A browser signs in to the dashboard once (`/signin` takes the token) and then
 * carries a session cookie instead of a header; that cookie is accepted on the
 * dashboard's own paths ({@linkcode SESSION_PATHS}) only, never on `/v1`. The
 * former HTTP Basic form of the token is gone: the sign-in replaces it.
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { errorResponse, VirgoError } from "./errors.ts";

/**
 * Routes that answer without the token: liveness, function calls (which check `public: false`
 * themselves) and the dashboard's sign-in page.
 */
export const PUBLIC_PATHS: readonly string[] = ["/healthz", "/fn/*", "/signin"];

/** Routes on which a dashboard session (cookie) stands for the token: the page and its data. */
export const SESSION_PATHS: readonly string[] = ["/", "/signout", "/dashboard/*"];

/** The header that tells a client how to authenticate, sent with every 401. */
export const BEARER_CHALLENGE: Readonly<Record<string, string>> = {
  "www-authenticate": 'Bearer realm="virgo"',
};

/** The token presented in `Authorization: Bearer <token>`. */
function presented(authorization: string): string | undefined {
  return /^Bearer +(\S+) *$/i.exec(authorization)?.[1];
}

/** Checks `Authorization` headers against one admin token. */
export interface TokenCheck {
  /** True when `authorization` presents the token as `Bearer <token>`; false otherwise. */
  verify(authorization: string | null | undefined): Promise<boolean>;
}

/** Checks the dashboard's session cookie (see `runtime/dashboard/session.ts`). */
export interface SessionCheck {
  /** True when the request's `Cookie` header carries a live session. */
  valid(cookie: string | undefined): boolean;
}

const encoder = new TextEncoder();

/**
 * Creates the check for `token`. Each presented token is compared with it
 * over the token's whole length without an early exit (a length mismatch
 * folded in), so the time taken says nothing about how much of a guess was
 * right. Synchronous work: no digest per call on the `/fn/*` path.
 *
 * @example
 * ```ts
 * const check = tokenCheck("s3cret-token");
 * await check.verify("Bearer s3cret-token"); // true
 * await check.verify("Bearer guess"); // false
 * ```
 */
export function tokenCheck(token: string): TokenCheck {
  const want = encoder.encode(token);
  return {
    verify(authorization) {
      if (!authorization) return Promise.resolve(false);
      const token = presented(authorization);
      if (token === undefined) return Promise.resolve(false);
      const got = encoder.encode(token);
      let diff = want.length ^ got.length;
      for (let i = 0; i < want.length; i++) diff |= want[i]! ^ (got[i] ?? 0);
      return Promise.resolve(diff === 0);
    },
  };
}

/** The test of {@linkcode isPublicPath} for `patterns`, split once into exact paths and prefixes. */
function publicPathTest(patterns: readonly string[]): (path: string) => boolean {
  const exact = new Set(patterns.filter((p) => !p.endsWith("/*")));
  const prefixes = patterns.filter((p) => p.endsWith("/*")).map((p) => p.slice(0, -1));
  return (path) => exact.has(path) || prefixes.some((p) => path.startsWith(p));
}

const isDefaultPublic = publicPathTest(PUBLIC_PATHS);

/** Whether `path` is one of `patterns`: exact, or under a `prefix/*`. */
export function isPublicPath(path: string, patterns: readonly string[] = PUBLIC_PATHS): boolean {
  return (patterns === PUBLIC_PATHS ? isDefaultPublic : publicPathTest(patterns))(path);
}

/** Options of {@linkcode adminAuth}. */
export interface AdminAuthOptions {
  /** Paths that answer without the token, exact or `prefix/*`. @default {PUBLIC_PATHS} */
  publicPaths?: readonly string[];
  /** Dashboard sessions, accepted on {@linkcode SESSION_PATHS} in place of the token. */
  sessions?: SessionCheck;
}

/**
 * Middleware that answers 401 `UNAUTHORIZED` (the contract's JSON error) to
 * any request without the admin token, except on the public paths. Mount it
 * first, on `*`, so nothing registered after it can be reached without the token.
 *
 * @example
 * ```ts
 * const app = new Hono();
 * app.use("*", adminAuth(tokenCheck("s3cret-token")));
 * app.get("/v1/status", (c) => c.json({ ok: true })); // 401 without the token
 * ```
 */
export function adminAuth(check: TokenCheck, opts: AdminAuthOptions = {}): MiddlewareHandler {
  // Split once: this runs before every request of a peer with a token.
  const isPublic = publicPathTest(opts.publicPaths ?? PUBLIC_PATHS);
  const isSessionPath = publicPathTest(SESSION_PATHS);
  const sessions = opts.sessions;
  return async function adminAuth(c, next) {
    const path = c.req.path;
    if (isPublic(path)) return await next();
    const header = c.req.header("authorization");
    if (await check.verify(header)) return await next();
    if (sessions && isSessionPath(path)) {
      if (sessions.valid(c.req.header("cookie"))) return await next();
      // A browser opening the page is sent to sign in; anything else gets the JSON error.
      if (path === "/" && !header && (c.req.header("accept") ?? "").includes("text/html")) {
        return c.redirect("/signin", 303);
      }
    }
    return errorResponse(
      new VirgoError(
        "UNAUTHORIZED",
        header ? "Invalid token" : "Missing Authorization: Bearer <token>",
      ),
      BEARER_CHALLENGE,
    );
  };
}
