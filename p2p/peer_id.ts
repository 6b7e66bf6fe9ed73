/**
 * Peer ids as users write them (`x-virgo-route: <peerId>`, `virgo peers remove <id>`), checked
 * by libp2p's own parser rather than a pattern of ours.
 * @module
 */
import { peerIdFromString } from "@libp2p/peer-id";

/**
 * Whether `value` is a well-formed libp2p peer id.
 *
 * @example
 * ```ts
 * isPeerId("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"); // true
 * isPeerId("p2c"); // false
 * ```
 */
export function isPeerId(value: string): boolean {
  if (value.length > 128) return false;
  if (known.has(value)) return true;
  try {
    peerIdFromString(value);
  } catch {
    return false;
  }
  if (known.size >= MAX_KNOWN) known.clear();
  known.add(value);
  return true;
}

/**
 * Ids found well-formed lately: parsing one (base58, then the key inside) cost ~3% of a
 * peer's CPU when every call it routed named its peer. Bounded; cleared when full.
 */
const known = new Set<string>();
const MAX_KNOWN = 1024;
