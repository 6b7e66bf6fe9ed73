import assert from "node:assert/strict";
import { decodeReply, decodeRequest, encodeMessage, packRecords, unpackRecords } from "./wire.ts";
import type { PoolRecord } from "./records.ts";

Deno.test("wire: records round-trip with binary values", () => {
  const records: PoolRecord[] = [
    {
      key: "a",
      version: "000000001-0000-p",
      value: new Uint8Array([0, 255, 1]),
      tombstone: false,
      expiresAt: 0,
    },
    {
      key: "b",
      version: "000000002-0000-p",
      value: new Uint8Array(),
      tombstone: true,
      expiresAt: 0,
    },
    {
      key: "é",
      version: "000000003-0000-p",
      value: new Uint8Array([7]),
      tombstone: false,
      expiresAt: 123,
    },
  ];
  const { metas, payload } = packRecords(records);
  const msg = decodeRequest(encodeMessage({ t: "apply", r: metas }, payload));
  assert.equal(msg.head.t, "apply");
  if (msg.head.t !== "apply") return;
  assert.deepEqual(unpackRecords(msg.head.r, msg.payload), records);
});

Deno.test("wire: malformed messages are rejected", () => {
  const bad = [
    new Uint8Array(),
    new Uint8Array([0, 0, 0, 50]),
    new Uint8Array([0, 0, 0, 1, 0x7b]),
    encodeMessage({ t: "nope" } as never),
    encodeMessage({ t: "get", k: "" }),
    encodeMessage({ t: "list", p: "", l: 5000 }),
    encodeMessage({ t: "alloc", s: -1 }),
  ];
  for (const b of bad) assert.throws(() => decodeRequest(b));
  assert.throws(() => decodeReply(encodeMessage({ t: "get", k: "a" })));
  const { metas } = packRecords([
    { key: "a", version: "v", value: new Uint8Array(4), tombstone: false, expiresAt: 0 },
  ]);
  assert.throws(() => unpackRecords(metas, new Uint8Array(3)));
  assert.throws(() => unpackRecords(metas, new Uint8Array(5)));
});
