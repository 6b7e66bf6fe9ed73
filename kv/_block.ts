/**
 * The stored form of a memory block: `[u32 size][data]`, where data may be
 * shorter than `size` (the rest reads as zeros), and the patch applied by `memSet`.
 *
 * @module
 */
import { KvError } from "./errors.ts";

/** Encodes a block of `size` bytes holding `data` at its start. */
export function encodeBlock(size: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + data.length);
  new DataView(out.buffer).setUint32(0, size);
  out.set(data, 4);
  return out;
}

/** Decodes {@link encodeBlock}'s output. */
export function decodeBlock(value: Uint8Array): { size: number; data: Uint8Array } {
  if (value.length < 4) return { size: 0, data: new Uint8Array() };
  const size = new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(0);
  return { size, data: value.subarray(4) };
}

/** The block `stored` with `data` written at `offset`; OUT_OF_BOUNDS past its size. */
export function patchBlock(stored: Uint8Array, data: Uint8Array, offset: number): Uint8Array {
  const { size, data: cur } = decodeBlock(stored);
  if (offset + data.length > size) {
    throw new KvError(
      "OUT_OF_BOUNDS",
      `Write of ${data.length} bytes at ${offset} passes block size ${size}`,
    );
  }
  const next = new Uint8Array(Math.max(cur.length, offset + data.length));
  next.set(cur);
  next.set(data, offset);
  return encodeBlock(size, next);
}
