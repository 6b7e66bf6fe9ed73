/**
 * The one head-plus-bytes codec: a JSON head and raw bytes after it, as
 * `[u32 big-endian head length][head as UTF-8 JSON][bytes]`. The pool's messages between peers
 * (`kv/wire.ts`) and the frames between a peer and its function processes
 * (`runtime/sandbox/_frame.ts`) both use it; each validates the head against its own schema.
 * @module
 */
import { VirgoError } from "./errors.ts";

const te = new TextEncoder();
const td = new TextDecoder();

/**
 * The parts of a message: length, head, and `tail` when it is not empty — kept apart so a
 * writer can batch them without copying.
 *
 * @example
 * ```ts
 * const parts = headParts({ t: "get", k: "a" });
 * ```
 */
export function headParts(head: unknown, tail?: Uint8Array): Uint8Array[] {
  const json = te.encode(JSON.stringify(head));
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, json.length);
  return tail && tail.length > 0 ? [len, json, tail] : [len, json];
}

/**
 * One buffer holding `head` and `tail`.
 *
 * @example
 * ```ts
 * const bytes = encodeHead({ t: "get", k: "a" });
 * ```
 */
export function encodeHead(head: unknown, tail?: Uint8Array): Uint8Array {
  return concatBytes(headParts(head, tail));
}

/**
 * One buffer of `parts`, in order: the part itself when there is only one (no copy). Pass `size`
 * when the caller already summed the lengths.
 *
 * @example
 * ```ts
 * concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])]); // Uint8Array [1, 2, 3]
 * ```
 */
export function concatBytes(parts: readonly Uint8Array[], size?: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = size ?? 0;
  if (size === undefined) for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * Splits a message into its parsed (not validated) head and the bytes after it. Throws
 * `BAD_FRAME` when it is too short, its head overruns it, or the head is not JSON.
 *
 * @example
 * ```ts
 * const { head, tail } = decodeHead(encodeHead({ t: "get" }, bytes));
 * ```
 */
export function decodeHead(bytes: Uint8Array): { head: unknown; tail: Uint8Array } {
  if (bytes.length < 4) throw new VirgoError("BAD_FRAME", "Malformed message: too short");
  const n = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
  if (n > bytes.length - 4) {
    throw new VirgoError("BAD_FRAME", "Malformed message: head overruns it");
  }
  let head: unknown;
  try {
    head = JSON.parse(td.decode(bytes.subarray(4, 4 + n)));
  } catch {
    throw new VirgoError("BAD_FRAME", "Malformed message: head is not JSON");
  }
  return { head, tail: bytes.subarray(4 + n) };
}
