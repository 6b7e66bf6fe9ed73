/**
 * Secrets at rest: a function's secrets are stored sealed with AES-GCM under a key derived (HKDF)
 * from the swarm key, or, on a peer without one, from a random key file in its data folder
 * (`secret.key`, mode 0600). They travel between peers inside the catalogue over libp2p's Noise
 * channels, which only members of the mesh can open, and are never logged or returned by an API.
 * @module
 */
import { fromBase64Url, toBase64Url } from "./operator.ts";

/** Seals and opens secret maps with one key. */
export interface Sealer {
  /** Encrypts `secrets` to base64url(iv ‖ ciphertext). */
  seal(secrets: Record<string, string>): Promise<string>;
  /** Decrypts what {@linkcode Sealer.seal} made; throws if it was altered or sealed by another key. */
  open(sealed: string): Promise<Record<string, string>>;
}

const AES = { name: "AES-GCM", length: 256 } as const;
const INFO = new TextEncoder().encode("virgo secrets at rest v1");

/** Creates a sealer over raw key material (32+ random bytes). */
export async function createSealer(material: Uint8Array): Promise<Sealer> {
  const base = await crypto.subtle.importKey(
    "raw",
    material as Uint8Array<ArrayBuffer>,
    "HKDF",
    false,
    ["deriveKey"],
  );
  const key = await crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(32), info: INFO },
    base,
    AES,
    false,
    ["encrypt", "decrypt"],
  );
  return {
    async seal(secrets) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const plain = new TextEncoder().encode(JSON.stringify(secrets));
      const cipher = new Uint8Array(
        await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, plain),
      );
      const out = new Uint8Array(12 + cipher.byteLength);
      out.set(iv);
      out.set(cipher, 12);
      return toBase64Url(out);
    },
    async open(sealed) {
      const bytes = fromBase64Url(sealed);
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: bytes.subarray(0, 12) as Uint8Array<ArrayBuffer> },
        key,
        bytes.subarray(12) as Uint8Array<ArrayBuffer>,
      );
      return JSON.parse(new TextDecoder().decode(plain)) as Record<string, string>;
    },
  };
}

/**
 * The sealer of a peer: from its swarm key when it has one, else from `<dataDir>/secret.key`,
 * made on first use.
 *
 * @example
 * ```ts
 * const sealer = await loadSealer({ dataDir: ".virgo" });
 * ```
 */
export async function loadSealer(
  opts: { swarmKey?: Uint8Array | undefined; dataDir: string },
): Promise<Sealer> {
  if (opts.swarmKey !== undefined) return await createSealer(opts.swarmKey);
  const path = `${opts.dataDir}/secret.key`;
  let material: Uint8Array;
  try {
    material = await Deno.readFile(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    material = crypto.getRandomValues(new Uint8Array(32));
    await Deno.writeFile(path, material, { mode: 0o600, createNew: true });
  }
  return await createSealer(material);
}
