/**
 * Dashboard sessions: a browser that signed in with the token gets a random session id in an
 * HttpOnly, SameSite=Strict cookie; the id maps, in this peer's memory, to an expiry. The token
 * itself never goes into a cookie, and a session ends when it expires, on sign-out, or when
 * the peer restarts.
 * @module
 */
import type { SessionCheck } from "../auth.ts";

/** The name of the session cookie. */
export const SESSION_COOKIE = "virgo_session";
/** How long a session lasts from sign-in. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** Sessions kept at once; the oldest is dropped past this. */
export const MAX_SESSIONS = 1024;

/** The sessions of one peer. */
export interface Sessions extends SessionCheck {
  /** Starts a session; returns its id (32 random bytes, base64url). */
  create(): string;
  /** Ends the session the `Cookie` header carries, if any. */
  drop(cookie: string | undefined): void;
  /** Live sessions now. */
  size(): number;
}

/** The value of cookie `name` in a `Cookie` header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/**
 * The `Set-Cookie` value for session `id`: HttpOnly, SameSite=Strict, Path=/, and Secure when
 * the page was served over https. An empty `id` clears the cookie.
 *
 * @example
 * ```ts
 * sessionCookie("abc", { secure: false }); // "virgo_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200"
 * ```
 */
export function sessionCookie(id: string, opts: { secure: boolean; ttlMs?: number }): string {
  const maxAge = id === "" ? 0 : Math.floor((opts.ttlMs ?? SESSION_TTL_MS) / 1000);
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}` +
    (opts.secure ? "; Secure" : "");
}

/**
 * Creates the session store.
 *
 * @example
 * ```ts
 * const sessions = createSessions();
 * const id = sessions.create();
 * sessions.valid(`virgo_session=${id}`); // true
 * ```
 */
export function createSessions(
  opts: { ttlMs?: number; max?: number; clock?: () => number } = {},
): Sessions {
  const ttl = opts.ttlMs ?? SESSION_TTL_MS;
  const max = opts.max ?? MAX_SESSIONS;
  const clock = opts.clock ?? Date.now;
  // Insertion order is creation order: the first entry is the oldest.
  const expiries = new Map<string, number>();
  const idOf = (cookie: string | undefined) => {
    const id = cookieValue(cookie, SESSION_COOKIE);
    return id && /^[A-Za-z0-9_-]{43}$/.test(id) ? id : undefined;
  };
  return {
    create() {
      const now = clock();
      for (const [id, expires] of expiries) {
        if (expires > now && expiries.size < max) break;
        expiries.delete(id);
      }
      const bytes = crypto.getRandomValues(new Uint8Array(32));
      const id = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
        .replace(/=+$/, "");
      expiries.set(id, now + ttl);
      return id;
    },
    valid(cookie) {
      const id = idOf(cookie);
      if (id === undefined) return false;
      const expires = expiries.get(id);
      if (expires === undefined) return false;
      if (expires <= clock()) {
        expiries.delete(id);
        return false;
      }
      return true;
    },
    drop(cookie) {
      const id = idOf(cookie);
      if (id !== undefined) expiries.delete(id);
    },
    size: () => expiries.size,
  };
}
