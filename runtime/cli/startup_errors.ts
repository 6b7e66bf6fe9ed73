/**
 * Start-up failures that name what is at fault: the data folder another peer holds, or the
 * HTTP or libp2p address that is taken. Anything else passes through as it is.
 * @module
 */
import type { StartConfig } from "../config.ts";
import { CliError } from "./client.ts";

/** The error codes along an error's `cause` chain (LevelDB wraps its lock error). */
function codesOf(err: unknown): string[] {
  const out: string[] = [];
  for (let e = err, i = 0; e && i < 8; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") out.push(code);
    const name = (e as { name?: unknown }).name;
    if (typeof name === "string") out.push(name);
    const message = (e as { message?: unknown }).message;
    if (typeof message === "string" && /EADDRINUSE|address already in use/i.test(message)) {
      out.push("EADDRINUSE");
    }
  }
  return out;
}

/**
 * Turns an error thrown while a peer starts into one that says what to do, or returns it.
 *
 * @example
 * ```ts
 * try { await startPeer(cfg, logger); } catch (err) { throw startupError(err, cfg); }
 * ```
 */
export function startupError(err: unknown, cfg: StartConfig): unknown {
  const codes = codesOf(err);
  if (codes.includes("LEVEL_LOCKED") || codes.includes("LEVEL_DATABASE_NOT_OPEN")) {
    const locked = codes.includes("LEVEL_LOCKED");
    return new CliError(
      locked ? "DATA_LOCKED" : "DATA_NOT_OPEN",
      locked
        ? `Data folder ${cfg.data} is in use by another peer (its LevelDB lock is held): stop ` +
          "that peer, or give this one its own folder with --data <dir>"
        : `Cannot open the data folder ${cfg.data}: ${messageChain(err)}`,
      1,
    );
  }
  if (codes.includes("AddrInUse") || codes.includes("EADDRINUSE")) {
    // Deno.serve's error is Deno.errors.AddrInUse; libp2p's (node:net) only has the code.
    const http = codes.includes("AddrInUse");
    return new CliError(
      "ADDRESS_IN_USE",
      http
        ? `HTTP address ${cfg.http} is already in use: stop what listens there, or choose ` +
          "another with --http <host:port>"
        : `libp2p address ${cfg.p2p} is already in use: stop what listens there, or choose ` +
          "another with --p2p <multiaddr>",
      1,
    );
  }
  return err;
}

/** An error's message followed by its causes'. */
function messageChain(err: unknown): string {
  const parts: string[] = [];
  for (let e = err, i = 0; e && i < 8; e = (e as { cause?: unknown }).cause, i++) {
    const m = (e as { message?: unknown }).message;
    if (typeof m === "string" && m && !parts.includes(m)) parts.push(m);
  }
  return parts.join(": ");
}
