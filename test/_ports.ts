/**
 * Loopback ports for tests that stay theirs, also across a kill and a restart.
 *
 * A port the kernel hands out for `port: 0` comes from its ephemeral range, the same range it
 * takes the local ports of outgoing connections from. Once a peer that listened on such a port is
 * killed, any connection made meanwhile (by another test running in parallel, say) may take it,
 * and the peer cannot come back at its address: CI saw `ADDRESS_IN_USE` on a restart that way.
 * So a test port comes from below the ephemeral range, where the kernel never hands one out, and
 * is reserved across processes by a file created exclusively, so two test files running at once
 * never get the same one.
 *
 * @module
 */

import { join } from "node:path";

const DIR = join(Deno.env.get("TMPDIR") ?? "/tmp", "virgo-test-ports");
/** Lowest port handed out: above the registered services most machines run. */
const LOW = 10_000;
/** A reservation this old belongs to a run long over and may be taken again. */
const STALE_MS = 2 * 60 * 60 * 1000;

/** The first port of the kernel's ephemeral range; Linux's default when it cannot be read. */
function ephemeralLow(): number {
  try {
    const low = Number(
      Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").split(/\s+/)[0],
    );
    return Number.isInteger(low) && low > LOW + 1000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/** Reserves `port` for this run unless another run holds it; true when it is now ours. */
function reserve(port: number): boolean {
  const file = join(DIR, String(port));
  try {
    Deno.openSync(file, { createNew: true, write: true }).close();
    return true;
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
  }
  const age = Date.now() - (Deno.statSync(file).mtime?.getTime() ?? 0);
  if (age < STALE_MS) return false;
  Deno.utimeSync(file, new Date(), new Date());
  return true;
}

/** True when nothing listens on `port` at 127.0.0.1 right now. */
function bindable(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

/**
 * A loopback TCP port free now and reserved for the caller for the next two hours: never one the
 * kernel gives to an outgoing connection, never one another test was given. For a peer that may be
 * killed and started again at the same address.
 */
export function freePort(): number {
  Deno.mkdirSync(DIR, { recursive: true });
  const span = ephemeralLow() - LOW;
  for (let i = 0; i < 10_000; i++) {
    const port = LOW + Math.floor(Math.random() * span);
    if (reserve(port) && bindable(port)) return port;
  }
  throw new Error(`No free test port below ${LOW + span} (reservations in ${DIR})`);
}
