import assert from "node:assert/strict";
import { concatBytes, decodeHead, encodeHead, headParts } from "./codec.ts";
import { VirgoError } from "./errors.ts";

Deno.test("codec: head and bytes round-trip, in parts or in one buffer", () => {
  const tail = Uint8Array.from([0, 1, 2, 255]);
  const { head, tail: t } = decodeHead(encodeHead({ t: "x", n: 1 }, tail));
  assert.deepEqual(head, { t: "x", n: 1 });
  assert.deepEqual(t, tail);
  assert.equal(headParts({ a: 1 }).length, 2);
  assert.equal(headParts({ a: 1 }, new Uint8Array()).length, 2);
  assert.deepEqual(decodeHead(encodeHead("s")).tail.length, 0);
});

Deno.test("codec: malformed messages are refused with BAD_FRAME", () => {
  for (
    const bad of [
      new Uint8Array([1]),
      new Uint8Array([0, 0, 0, 9, 0x7b]),
      new Uint8Array([0, 0, 0, 1, 0x7b]),
    ]
  ) {
    assert.throws(() => decodeHead(bad), (e) => e instanceof VirgoError && e.code === "BAD_FRAME");
  }
});

Deno.test("concatBytes: parts in order, one part without a copy, a given size used", () => {
  const one = new Uint8Array([7]);
  assert.equal(concatBytes([one]), one);
  assert.deepEqual([...concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])])], [1, 2, 3]);
  assert.deepEqual([...concatBytes([new Uint8Array([4]), new Uint8Array([5])], 2)], [4, 5]);
  assert.equal(concatBytes([]).byteLength, 0);
});
