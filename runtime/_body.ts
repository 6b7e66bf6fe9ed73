/**
 * Request bodies read with a bound, so an oversized body is refused with 413
 * as soon as it passes the limit instead of being buffered whole.
 */
import { VirgoError } from "./errors.ts";

function tooLarge(max: number): VirgoError {
  return new VirgoError("PAYLOAD_TOO_LARGE", `Body exceeds the limit of ${max} bytes`);
}

/** Refuses at once when the declared length is past `max`. */
export function checkDeclaredLength(req: Request, max: number): void {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > max) throw tooLarge(max);
}

/** Reads the whole body, failing with `PAYLOAD_TOO_LARGE` past `max` bytes. */
export async function readLimited(req: Request, max: number): Promise<Uint8Array<ArrayBuffer>> {
  checkDeclaredLength(req, max);
  if (!req.body) return new Uint8Array(0);
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge(max);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * Passes a body stream through, erroring with `PAYLOAD_TOO_LARGE` past `max` bytes; `exceeded()`
 * tells afterwards whether it did, so the caller can answer 413 whatever its reader made of it.
 */
export function limitStream(
  body: ReadableStream<Uint8Array>,
  max: number,
): { stream: ReadableStream<Uint8Array>; exceeded(): boolean } {
  let size = 0;
  const stream = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        size += chunk.byteLength;
        if (size > max) controller.error(tooLarge(max));
        else controller.enqueue(chunk);
      },
    }),
  );
  return { stream, exceeded: () => size > max };
}
