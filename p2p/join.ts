/**
 * The first contact with a mesh: dial each `--join` address once at start and tell a wrong
 * swarm key apart from a peer that is simply not up. A libp2p private network gives no error
 * of its own when keys differ — the dial is reset or hangs in the handshake — so the cause is
 * found by reaching the address over plain TCP first: if TCP connects and libp2p does not,
 * the handshake failed, which between Virgo peers means the swarm keys differ.
 *
 * @module
 */
import { multiaddr } from "@multiformats/multiaddr";
import { JOIN_PROBE_TIMEOUT_MS } from "./constants.ts";
import { tcpAddress } from "./addr.ts";
import { MeshError } from "./errors.ts";
import type { VirgoNode } from "./node.ts";
import type { Logger } from "./types.ts";

/** What one join address did. */
export type JoinOutcome = "joined" | "unreachable" | "handshake";

/** Opens and closes a TCP connection: whether anything listens at `host:port`. */
async function tcpReachable(host: string, port: number, signal: AbortSignal): Promise<boolean> {
  try {
    const conn = await Promise.race([
      Deno.connect({ hostname: host, port }),
      new Promise<never>((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      }),
    ]);
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** Dials one join address and classifies the result. */
export async function probeJoin(node: VirgoNode, addr: string): Promise<JoinOutcome> {
  const signal = AbortSignal.timeout(JOIN_PROBE_TIMEOUT_MS);
  try {
    await node.dial(multiaddr(addr), { signal });
    return "joined";
  } catch {
    const tcp = tcpAddress(addr);
    if (tcp === undefined) return "unreachable";
    return await tcpReachable(tcp.host, tcp.port, AbortSignal.timeout(JOIN_PROBE_TIMEOUT_MS))
      ? "handshake"
      : "unreachable";
  }
}

/**
 * Dials every join address; throws `JOIN_REFUSED` when none joined and at least one failed in
 * the handshake, so `virgo start` stops with the cause instead of running alone. Addresses
 * where nothing listens only warn: the dialer keeps trying them, so a peer can start before
 * the one it joins.
 *
 * @example
 * ```ts
 * await checkJoin(node, ["/ip4/10.0.0.1/tcp/7878/p2p/12D3…"], true, logger);
 * ```
 */
export async function checkJoin(
  node: VirgoNode,
  join: string[],
  hasSwarmKey: boolean,
  logger: Logger,
): Promise<void> {
  if (join.length === 0) return;
  const outcomes = await Promise.all(join.map((a) => probeJoin(node, a)));
  if (outcomes.includes("joined")) return;
  const refused = join.filter((_, i) => outcomes[i] === "handshake");
  const unreachable = join.filter((_, i) => outcomes[i] === "unreachable");
  if (unreachable.length > 0) {
    logger.warn({ join: unreachable }, "Nothing answers at the join address yet; retrying");
  }
  if (refused.length === 0) return;
  throw new MeshError(
    "JOIN_REFUSED",
    `Cannot join the mesh at ${refused.join(", ")}: the peer there dropped the connection ` +
      `during the handshake, so its swarm key differs from this peer's (this peer has ${
        hasSwarmKey ? "a swarm key" : "no swarm key"
      }). Every peer of a private mesh needs the same --swarm-key file (from \`virgo init\` or ` +
      "`virgo keygen`), and a peer without one can only join an open mesh on loopback",
  );
}
