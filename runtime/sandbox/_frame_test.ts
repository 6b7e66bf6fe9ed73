import assert from "node:assert/strict";
import { FrameReader, FrameWriter, jsonPart, splitJson, T } from "./_frame.ts";

/** Frames written in one batch and read back split at every possible byte boundary. */
Deno.test("frames survive any chunking, zero-copy or buffered", async () => {
  const written: Uint8Array[] = [];
  const w = new FrameWriter((b) => {
    written.push(b);
    return Promise.resolve();
  }, () => {});
  w.send(T.RES, 7, jsonPart({ s: 200 }, new Uint8Array([1, 2, 3])));
  w.send(T.RES_CHUNK, 7, [new Uint8Array(100_000).fill(9)]);
  w.send(T.RES_END, 7);
  await Promise.resolve();
  assert.equal(written.length, 1, "one write per tick");
  const all = written[0]!;
  for (const cut of [1, 5, 9, 20, 1000, 99_999, all.length]) {
    const got: Array<[number, number, number]> = [];
    const r = new FrameReader(1 << 20, (type, id, p) => got.push([type, id, p.length]));
    for (let i = 0; i < all.length; i += cut) r.push(all.subarray(i, i + cut));
    assert.deepEqual(got, [[T.RES, 7, 4 + 9 + 3], [T.RES_CHUNK, 7, 100_000], [T.RES_END, 7, 0]]);
  }
  const { json, tail } = splitJson(
    jsonPart({ s: 200 }, new Uint8Array([1, 2, 3])).reduce((a, b) => new Uint8Array([...a, ...b])),
  );
  assert.deepEqual([json, [...tail]], [{ s: 200 }, [1, 2, 3]]);
});

Deno.test("an oversized frame length is rejected", () => {
  const r = new FrameReader(1024, () => {});
  assert.throws(
    () => r.push(new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 1])),
    /Bad frame length/,
  );
});

Deno.test("sendJson lays a frame out as jsonPart does, non-ASCII JSON and tail included", async () => {
  const written: Uint8Array[] = [];
  const w = new FrameWriter((b) => {
    written.push(b.slice());
    return Promise.resolve();
  }, () => {});
  const head = { s: 200, h: [["x-name", "é😀 ü"]], b: 1 };
  const tail = new Uint8Array([7, 8, 9]);
  w.sendJson(T.RES, 3, head, tail);
  w.send(T.RES_END, 3);
  w.sendJson(T.REQ, 4, { m: "GET" });
  await Promise.resolve();
  const got: Array<[number, number, Uint8Array]> = [];
  const r = new FrameReader(1 << 20, (type, id, p) => got.push([type, id, p.slice()]));
  for (const b of written) r.push(b);
  assert.equal(got.length, 3);
  const flat = (parts: Uint8Array[]) => parts.reduce((a, b) => new Uint8Array([...a, ...b]));
  assert.deepEqual(got[0]![2], flat(jsonPart(head, tail)));
  assert.deepEqual([got[1]![0], got[1]![1], got[1]![2].length], [T.RES_END, 3, 0]);
  const { json, tail: none } = splitJson(got[2]![2]);
  assert.deepEqual([json, none.length], [{ m: "GET" }, 0]);
});

Deno.test("sendJson with a string tail sends its UTF-8, as with the encoded bytes", async () => {
  const written: Uint8Array[] = [];
  const w = new FrameWriter((b) => {
    written.push(b.slice());
    return Promise.resolve();
  }, () => {});
  const head = { s: 200, h: [["x-name", "é ü"]], b: 1 };
  for (const text of ["hello é😀\n", ""]) w.sendJson(T.RES, 5, head, text);
  await Promise.resolve();
  const got: Uint8Array[] = [];
  const r = new FrameReader(1 << 20, (_type, _id, p) => got.push(p.slice()));
  for (const b of written) r.push(b);
  const flat = (parts: Uint8Array[]) => parts.reduce((a, b) => new Uint8Array([...a, ...b]));
  assert.deepEqual(got, [
    flat(jsonPart(head, new TextEncoder().encode("hello é😀\n"))),
    flat(jsonPart(head)),
  ]);
});
