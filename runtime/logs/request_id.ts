/**
 * Request ids: made unique across restarts (a random boot prefix and a counter), or taken from
 * the caller's `x-request-id` when it is short and plain enough to print and log as it is.
 *
 * @module
 */

/** Longest request id kept from a caller. */
export const MAX_REQUEST_ID = 128;

const PLAIN = /^[A-Za-z0-9._:-]+$/;

/**
 * The caller's id when it is at most {@linkcode MAX_REQUEST_ID} characters of
 * `[A-Za-z0-9._:-]`, else undefined (the call gets a fresh one).
 *
 * @example
 * ```ts
 * acceptRequestId("trace-42"); // "trace-42"
 * acceptRequestId("a b");      // undefined
 * ```
 */
export function acceptRequestId(value: string | null | undefined): string | undefined {
  if (!value || value.length > MAX_REQUEST_ID || !PLAIN.test(value)) return undefined;
  return value;
}

/**
 * A maker of fresh ids, `<peer suffix>-<boot>-<counter>`: the boot part is 8 random base-36
 * characters (~41 bits) drawn when the peer starts, so a restarted peer never repeats an id of
 * its last run, and the counter keeps ids of one run distinct and in order.
 *
 * @example
 * ```ts
 * const next = requestIds("12D3KooW…hJ7k2a");
 * next(); // "hJ7k2a-q3v9x0bm-1"
 * ```
 */
export function requestIds(peerId: string): () => string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  const boot = [...bytes].map((b) => (b % 36).toString(36)).join("");
  const prefix = `${peerId.slice(-6)}-${boot}`;
  let seq = 0;
  return () => `${prefix}-${(++seq).toString(36)}`;
}
