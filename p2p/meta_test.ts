import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { MAX_LOAD_META_BYTES } from "./constants.ts";
import { decodeLoad, encodeLoad, fromLoadWire, toLoadWire } from "./meta.ts";
import { fakeLoad } from "./_testing.ts";

Deno.test("meta: a load round-trips within the bound, a digest and an address included", () => {
  const load = fakeLoad({
    inflight: 3,
    queued: 1,
    loopDelayMs: 1.25,
    poolTotalBytes: 1 << 30,
    poolFreeBytes: 123_456_789,
    catalog: { digest: "f".repeat(64), count: 10_000 },
    http: "http://127.0.0.1:54321",
  });
  const bytes = encodeLoad(load);
  assert(bytes.byteLength <= MAX_LOAD_META_BYTES, `${bytes.byteLength} bytes`);
  assertEquals(decodeLoad(bytes), { ...load, loopDelayMs: 1.3 });
  assertEquals(fromLoadWire(toLoadWire(load))?.catalog, load.catalog);
});

Deno.test("meta: the address is dropped rather than pass the bound", () => {
  const load = fakeLoad({
    catalog: { digest: "d".repeat(128), count: 1 },
    http: `http://${"h".repeat(120)}`,
  });
  const bytes = encodeLoad(load);
  assert(bytes.byteLength <= MAX_LOAD_META_BYTES, `${bytes.byteLength} bytes`);
  assertEquals(decodeLoad(bytes)?.http, undefined);
});

Deno.test("meta: anything malformed or oversized decodes to undefined", () => {
  const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  const good = toLoadWire(fakeLoad());
  assert(decodeLoad(enc(good)) !== undefined);
  for (
    const bad of [
      [2, ...good.slice(1)],
      good.slice(0, 9),
      [...good.slice(0, 3), 0, ...good.slice(4)], // zero cores
      [...good.slice(0, 1), -1, ...good.slice(2)],
      { v: 1 },
      "x",
    ]
  ) assertEquals(decodeLoad(enc(bad)), undefined, JSON.stringify(bad));
  assertEquals(decodeLoad(new TextEncoder().encode("[1,")), undefined);
  assertEquals(decodeLoad(new Uint8Array(MAX_LOAD_META_BYTES + 1)), undefined);
});
