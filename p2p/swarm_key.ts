/**
 * Validation of libp2p private-network swarm keys.
 *
 * @module
 */

const HEADER = "/key/swarm/psk/1.0.0/";
const CODEC = "/base16/";

/**
 * Check that `bytes` is a standard libp2p `swarm.key` file
 * (`/key/swarm/psk/1.0.0/\n/base16/\n<64 hex>`) and return it normalised
 * (LF line ends, lower-case hex, no trailing whitespace) for `@libp2p/pnet`.
 * Throws an `Error` saying what is wrong, so a typo fails at start rather
 * than as silent connection failures.
 *
 * @example
 * ```ts
 * const psk = parseSwarmKey(await Deno.readFile("swarm.key"));
 * ```
 */
export function parseSwarmKey(bytes: Uint8Array): Uint8Array {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new Error("Invalid swarm key: not UTF-8 text");
  }
  const lines = text.trim().split(/\r\n|\r|\n/);
  if (lines.length !== 3) {
    throw new Error(
      `Invalid swarm key: expected 3 lines (${HEADER}, ${CODEC}, 64 hex digits), got ${lines.length}`,
    );
  }
  const [header, codec, hex] = lines.map((l) => l.trim()) as [string, string, string];
  if (header !== HEADER) throw new Error(`Invalid swarm key: first line must be ${HEADER}`);
  if (codec !== CODEC) throw new Error(`Invalid swarm key: second line must be ${CODEC}`);
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new Error("Invalid swarm key: third line must be 64 hex digits (32 bytes)");
  }
  return new TextEncoder().encode(`${HEADER}\n${CODEC}\n${hex.toLowerCase()}`);
}

/**
 * Create a new random swarm key file's contents, for tests and `virgo keygen`-like tools.
 *
 * @example
 * ```ts
 * await Deno.writeFile("swarm.key", generateSwarmKey());
 * ```
 */
export function generateSwarmKey(): Uint8Array {
  const hex = Array.from(
    crypto.getRandomValues(new Uint8Array(32)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  return new TextEncoder().encode(`${HEADER}\n${CODEC}\n${hex}\n`);
}
