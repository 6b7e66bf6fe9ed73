/**
 * Hex sha256 of bytes, via Web Crypto.
 *
 * @example
 * ```ts
 * await sha256Hex(new TextEncoder().encode("abc")); // "ba7816bf…f20015ad"
 * ```
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  );
  let hex = "";
  for (const b of digest) hex += b.toString(16).padStart(2, "0");
  return hex;
}
