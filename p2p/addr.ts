/**
 * Listen and join addresses as users write them, checked by the multiaddr library rather than
 * a pattern of ours.
 * @module
 */
import { multiaddr } from "@multiformats/multiaddr";

const HOSTS = new Set(["ip4", "ip6", "dns", "dns4", "dns6"]);

/**
 * The host and TCP port of a multiaddr such as `/ip4/127.0.0.1/tcp/7878[/p2p/…]`, or undefined
 * when it is not a well-formed TCP address.
 *
 * @example
 * ```ts
 * tcpAddress("/ip4/127.0.0.1/tcp/7878"); // { host: "127.0.0.1", port: 7878 }
 * tcpAddress("/ip4/1.2.3.4/udp/1");      // undefined
 * ```
 */
export function tcpAddress(value: string): { host: string; port: number } | undefined {
  try {
    const parts = multiaddr(value).getComponents();
    const [host, tcp] = parts;
    if (!host || !HOSTS.has(host.name) || host.value === undefined) return undefined;
    if (!tcp || tcp.name !== "tcp" || tcp.value === undefined) return undefined;
    return { host: host.value, port: Number(tcp.value) };
  } catch {
    return undefined;
  }
}
