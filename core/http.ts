/**
 * What the Fetch standard's `Headers` and `Response` accept, checked by hand where a head arrives
 * from another process (a function process, a peer) and must be refused before it is built — the
 * same rules on both sides, so a header one lets through the other never turns into an error.
 *
 * @module
 */

/** A method or header name: a token (RFC 9110 §5.6.2), of any case. */
export const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A header value `Headers` accepts: bytes (code units up to 0xFF) without NUL, CR or LF. */
const HEADER_VALUE = /^[^\0\r\n\u0100-\uffff]*$/;

/**
 * Whether `Headers` would take this pair.
 *
 * @example
 * ```ts
 * isHeaderPair("content-type", "text/plain"); // true
 * isHeaderPair("bad name", "x");              // false
 * ```
 */
export function isHeaderPair(name: string, value: string): boolean {
  return HTTP_TOKEN.test(name) && HEADER_VALUE.test(value);
}

/** Statuses (of the 200–599 a `Response` may have) whose responses have no body, per Fetch. */
export const NULL_BODY_STATUS: ReadonlySet<number> = new Set([204, 205, 304]);
