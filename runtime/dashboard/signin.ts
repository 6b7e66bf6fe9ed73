/**
 * The sign-in page: a form that takes the admin token once; the peer answers with a session
 * cookie, so the browser never holds the token afterwards.
 * @module
 */
import { STYLE } from "./style.ts";

/** Escapes text for HTML. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The sign-in page, with `error` shown above the form when set.
 *
 * @example
 * ```ts
 * routes.get("/signin", (c) => c.html(signinPage()));
 * ```
 */
export function signinPage(error?: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Virgo · sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}</style></head>
<body class="signin"><form method="post" action="/signin" class="card">
<h1>Virgo</h1>
<p class="muted">Enter this peer's admin token (<code>--token</code>). It is checked once; the
browser keeps only a session cookie.</p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ""}
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form></body></html>`;
}
