/**
 * The CLI's exit codes: scripts can tell a usage mistake from a missing function, a refused
 * token, a conflict, an unreachable peer and a mesh that is busy, without parsing messages.
 * Each error the peer answers with maps by its HTTP status (core/errors.ts's table), so a new
 * code lands in the right class on its own.
 *
 * | code | meaning |
 * |---|---|
 * | 0 | success |
 * | 1 | any other failure: the function or the peer failed (5xx), a peer did not start |
 * | 2 | usage: unknown command or option, bad argument, invalid config file, input the peer refused as invalid (400, 405, 413) |
 * | 3 | not found (404): no such function, key, version, peer |
 * | 4 | not allowed (401, 403): missing or wrong token |
 * | 5 | conflict (409, 412): e.g. `kv set --if-match` lost |
 * | 6 | the peer cannot be reached |
 * | 7 | unavailable, retry later (502, 503, 504, 507): no peer can serve, quorum failed, timeout, pool full |
 * @module
 */

/** Exit codes by name; see the module doc for what each means. */
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  NOT_FOUND: 3,
  NOT_ALLOWED: 4,
  CONFLICT: 5,
  UNREACHABLE: 6,
  UNAVAILABLE: 7,
} as const;

/**
 * The exit code for an HTTP status of a peer's answer (2xx and 3xx: 0).
 *
 * @example
 * ```ts
 * exitCodeForStatus(404); // 3
 * ```
 */
export function exitCodeForStatus(status: number): number {
  if (status < 400) return EXIT.OK;
  if (status === 400 || status === 405 || status === 413 || status === 422) return EXIT.USAGE;
  if (status === 404) return EXIT.NOT_FOUND;
  if (status === 401 || status === 403) return EXIT.NOT_ALLOWED;
  if (status === 409 || status === 412) return EXIT.CONFLICT;
  if (status === 408 || status === 502 || status === 503 || status === 504 || status === 507) {
    return EXIT.UNAVAILABLE;
  }
  return EXIT.FAILURE;
}
