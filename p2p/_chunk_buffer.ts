/**
 * Private byte queue for the frame reader.
 *
 * @module
 */

/**
 * A queue of received chunks: appends without copying, copies only when a
 * frame spans chunks (the MEASURED notes warn against concatenating buffers).
 */
export class ChunkBuffer {
  #chunks: Uint8Array[] = [];
  byteLength = 0;

  append(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.#chunks.push(chunk);
    this.byteLength += chunk.byteLength;
  }

  /** The byte at `index` (must be < byteLength). */
  get(index: number): number {
    for (const c of this.#chunks) {
      if (index < c.byteLength) return c[index]!;
      index -= c.byteLength;
    }
    throw new RangeError("Index out of range");
  }

  /** Remove and return the bytes [skip, skip + n) after dropping the first `skip` bytes. */
  take(skip: number, n: number): Uint8Array {
    this.#drop(skip);
    const first = this.#chunks[0];
    let out: Uint8Array;
    if (first !== undefined && first.byteLength >= n) {
      out = first.subarray(0, n);
    } else {
      out = new Uint8Array(n);
      let off = 0;
      for (const c of this.#chunks) {
        if (off >= n) break;
        const part = c.subarray(0, n - off);
        out.set(part, off);
        off += part.byteLength;
      }
    }
    this.#drop(n);
    return out;
  }

  #drop(n: number): void {
    this.byteLength -= n;
    while (n > 0) {
      const c = this.#chunks[0]!;
      if (c.byteLength <= n) {
        this.#chunks.shift();
        n -= c.byteLength;
      } else {
        this.#chunks[0] = c.subarray(n);
        n = 0;
      }
    }
  }
}
