import { deepStrictEqual as assertEquals } from "node:assert/strict";
import type { Stream } from "@libp2p/interface";
import { encodeVarint, FrameBatch } from "./frames.ts";

/** A stream that records what is sent and never needs draining. */
function recorder(): { stream: Stream; sent: Uint8Array[] } {
  const sent: Uint8Array[] = [];
  const stream = {
    send: (b: Uint8Array) => (sent.push(b.slice()), true),
    writableNeedsDrain: false,
  } as unknown as Stream;
  return { stream, sent };
}

const concat = (parts: Uint8Array[]) => new Uint8Array(parts.flatMap((p) => [...p]));

Deno.test("FrameBatch: frames may follow a large part; bytes go out in order", async () => {
  const { stream, sent } = recorder();
  const big = new Uint8Array(70_000).fill(7);
  const batch = new FrameBatch();
  batch.add([new Uint8Array([1]), big]);
  batch.add([new Uint8Array([2]), new Uint8Array([9, 9])]);
  batch.add([new Uint8Array([3])]);
  assertEquals(batch.sealed, true);
  assertEquals(batch.byteLength, encodeVarint(70_001).byteLength + 70_001 + 4 + 2);
  await batch.flush(stream);
  assertEquals(batch.byteLength, 0);
  assertEquals(batch.sealed, false);
  // The large part goes as it is, between the copied runs around it.
  assertEquals(sent.length, 3);
  assertEquals(sent[1]!.byteLength, 70_000);
  assertEquals(
    concat(sent),
    concat([encodeVarint(70_001), new Uint8Array([1]), big, new Uint8Array([3, 2, 9, 9, 1, 3])]),
  );
});

Deno.test("FrameBatch: small frames go in one send; an empty flush sends nothing", async () => {
  const { stream, sent } = recorder();
  const batch = new FrameBatch();
  await batch.flush(stream);
  assertEquals(sent.length, 0);
  batch.add([new Uint8Array([1]), new Uint8Array(4_000)]);
  batch.add([new Uint8Array([3])]);
  await batch.flush(stream);
  assertEquals(sent.length, 1);
  assertEquals(sent[0]!.byteLength, 2 + 4_001 + 2);
});
