/**
 * The peer's persistent identity.
 *
 * @module
 */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";

/** File name of the protobuf-encoded private key inside the data dir. */
export const PEER_KEY_FILE = "peer.key";

/**
 * Load `<dataDir>/peer.key`, or create an Ed25519 key there on first start,
 * so a restarted peer keeps its peer id (others' bootstrap addresses stay valid).
 *
 * @example
 * ```ts
 * const key = await loadOrCreatePeerKey(".virgo/a");
 * ```
 */
export async function loadOrCreatePeerKey(dataDir: string): Promise<PrivateKey> {
  const path = `${dataDir.replace(/\/+$/, "")}/${PEER_KEY_FILE}`;
  try {
    return privateKeyFromProtobuf(await Deno.readFile(path));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      throw new Error(`Cannot read peer key: ${path}: ${(err as Error).message}`, { cause: err });
    }
  }
  await Deno.mkdir(dataDir, { recursive: true });
  const key = await generateKeyPair("Ed25519");
  // Write to a temp file and rename, so a crash never leaves a truncated key.
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeFile(tmp, privateKeyToProtobuf(key), { mode: 0o600 });
  await Deno.rename(tmp, path);
  return key;
}
