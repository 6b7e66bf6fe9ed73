/**
 * The admin token: one check of `Authorization: Bearer <token>`, in constant
 * time, and the middleware that puts every route behind it except the few
 * listed as public. Guarding by default means a route added later is guarded
 * without anyone remembering to.
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { errorResponse, VirgoError } from "./errors.ts";

/** Routes that answer without the token: liveness and function calls (which check `public: false` themselves). */
export const PUBLIC_PATHS: readonly string[] = ["/healthz", "/fn/*"];

/** The header that tells a client how to authenticate, sent with every 401. */
export const BEARER_CHALLENGE: Readonly<Record<string, string>> = {
  "www-authenticate": 'Bearer realm="virgo"',
};

/**
 * The challenge of the dashboard: browsers cannot add a Bearer header to a page load, but they
 * prompt for Basic credentials and then send them with the page's own API calls, so the token
 * is also accepted as the password of HTTP Basic (any user name).
 */
export const BASIC_CHALLENGE: Readonly<Record<string, string>> = {
  "www-authenticate": 'Basic realm="virgo", charset="UTF-8"',
};

/** The token presented in `Authorization`: `Bearer <token>` or Basic with the token as password. */
function presented(authorization: string): string | undefined {
  const bearer = /^Bearer +(\S+) *$/i.exec(authorization);
  if (bearer) return bearer[1];
  const basic = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(authorization);
  if (!basic) return undefined;
  try {
    const pair = new TextDecoder().decode(Uint8Array.from(atob(basic[1]!), (c) => c.charCodeAt(0)));
    const i = pair.indexOf(":");
    return i < 0 ? undefined : pair.slice(i + 1);
  } catch {
    return undefined;
  }
}

/** Checks `Authorization` headers against one admin token. */
export interface TokenCheck {
  /** True when `authorization` presents the token (Bearer, or Basic password); false otherwise. */
  verify(authorization: string | null | undefined): Promise<boolean>;
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
  return async function adminAuth(c, next) {
    if (isPublic(c.req.path)) return await next();
    const header = c.req.header("authorization");
    if (await check.verify(header)) return await next();
    return errorResponse(
      new VirgoError(
        "UNAUTHORIZED",
        header ? "Invalid token" : "Missing Authorization: Bearer <token>",
      ),
      c.req.path === "/" ? BASIC_CHALLENGE : BEARER_CHALLENGE,
    );
  };
}
