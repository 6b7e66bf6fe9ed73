/**
 * The operator's signing key: who may deploy. Holding the swarm key admits a peer to the mesh;
 * it does not let it deploy. Every catalogue entry (deploy, delete, secret change) is signed
 * with the operator's Ed25519 key, and every peer is given the public half and checks each
 * entry it receives before it stores or acts on it — as NATS servers hold only the operator's
 * public key and check every claim offline. A peer started with the private half
 * (`--operator-key`) signs the entries its token-holding users make; a peer with only the public
 * half (`--operator`) runs what the operator signed and can forward it, but not forge it.
 *
 * Keys are Web Crypto Ed25519: the private key is a JWK file (`virgo init` writes it), the public
 * key a 43-character base64url string (the JWK's `x`).
 * @module
 */
import { VirgoError } from "../errors.ts";

/** The operator's key as one peer holds it. */
export interface Operator {
  /** The public key, base64url (32 bytes). */
  readonly publicKey: string;
  /** Signs `bytes`; absent on a peer that holds only the public key. */
  sign?(bytes: Uint8Array): Promise<string>;
  /** Whether `sig` (base64url) is the operator's signature of `bytes`. */
  verify(bytes: Uint8Array, sig: string): Promise<boolean>;
}

const ED25519 = { name: "Ed25519" } as const;
const PUBLIC_KEY = /^[A-Za-z0-9_-]{43}$/;

/** Base64url without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Decodes base64url (padding optional); throws on anything else. */
export function fromBase64Url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error("not base64url");
  const bin = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/**
 * A new operator key pair: the private JWK to keep (file mode 0600) and the public key to give
 * every peer.
 *
 * @example
 * ```ts
 * const { privateJwk, publicKey } = await generateOperatorKey();
 * ```
 */
export async function generateOperatorKey(): Promise<
  { privateJwk: JsonWebKey; publicKey: string }
> {
  const pair = await crypto.subtle.generateKey(ED25519, true, ["sign", "verify"]) as CryptoKeyPair;
  const privateJwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  return { privateJwk, publicKey: privateJwk.x! };
}

/**
 * The operator as this peer knows it, from `--operator <public key>` and/or
 * `--operator-key <file>`; undefined when neither is given (an open mesh on loopback, where any
 * member's entries are accepted). Throws `BAD_REQUEST` naming the flag at fault.
 *
 * @example
 * ```ts
 * const op = await loadOperator({ publicKey: "Q2x…" });
 * await op?.verify(bytes, sig);
 * ```
 */
export async function loadOperator(
  opts: { publicKey?: string | undefined; keyFile?: string | undefined },
): Promise<Operator | undefined> {
  let signKey: CryptoKey | undefined;
  let publicKey = opts.publicKey;
  if (opts.keyFile !== undefined) {
    let jwk: JsonWebKey;
    try {
      jwk = JSON.parse(await Deno.readTextFile(opts.keyFile));
      if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || !jwk.d || !jwk.x) throw new Error();
      signKey = await crypto.subtle.importKey("jwk", jwk, ED25519, false, ["sign"]);
    } catch (err) {
      const why = err instanceof Deno.errors.NotFound ? "no such file" : "not an Ed25519 JWK";
      throw new VirgoError(
        "BAD_REQUEST",
        `Invalid --operator-key ${opts.keyFile}: ${why} (make one with virgo init)`,
      );
    }
    if (publicKey !== undefined && publicKey !== jwk.x) {
      throw new VirgoError(
        "BAD_REQUEST",
        "--operator does not match the public half of --operator-key",
      );
    }
    publicKey = jwk.x;
  }
  if (publicKey === undefined) return undefined;
  if (!PUBLIC_KEY.test(publicKey)) {
    // Also a path to the operator.pub file virgo init writes.
    publicKey = await Deno.readTextFile(publicKey).then((t) => t.trim(), () => publicKey!);
  }
  if (!PUBLIC_KEY.test(publicKey)) {
    throw new VirgoError(
      "BAD_REQUEST",
      "Invalid --operator: expected the operator's 43-character public key, or the operator.pub " +
        "file, that virgo init makes",
    );
  }
  const verifyKey = await crypto.subtle.importKey(
    "raw",
    fromBase64Url(publicKey) as Uint8Array<ArrayBuffer>,
    ED25519,
    false,
    ["verify"],
  );
  const operator: Operator = {
    publicKey,
    async verify(bytes, sig) {
      let raw: Uint8Array;
      try {
        raw = fromBase64Url(sig);
      } catch {
        return false;
      }
      if (raw.byteLength !== 64) return false;
      return await crypto.subtle.verify(
        ED25519,
        verifyKey,
        raw as Uint8Array<ArrayBuffer>,
        bytes as Uint8Array<ArrayBuffer>,
      );
    },
  };
  if (signKey !== undefined) {
    const key = signKey;
    operator.sign = async (bytes) =>
      toBase64Url(
        new Uint8Array(await crypto.subtle.sign(ED25519, key, bytes as Uint8Array<ArrayBuffer>)),
      );
  }
  return operator;
}

/**
 * The bytes a catalogue entry's signature covers: the entry without `sig`, as JSON with keys
 * sorted at every level, so signer and verifier agree whatever order the fields arrived in.
 *
 * @example
 * ```ts
 * const bytes = signedBytes({ name: "hello", stamp: "…" });
 * ```
 */
export function signedBytes(entry: Record<string, unknown>): Uint8Array {
  const { sig: _sig, ...rest } = entry;
  return new TextEncoder().encode(canonical(rest));
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
