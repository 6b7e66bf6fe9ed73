import assert from "node:assert/strict";
import { startCluster } from "./_testing.ts";
import { parseAddress } from "./mem.ts";

Deno.test("mem: alloc, set, get, free across peers", async () => {
  const c = await startCluster(3, { poolBytes: 1000 });
  try {
    const addr = await c.pools[0]!.alloc(100);
    assert.match(addr, /^p\d:[0-9a-f]{16}$/);
    assert.equal(encodeURIComponent(addr).replaceAll("%3A", ":"), addr);
    assert.deepEqual(await c.pools[1]!.memGet(addr), new Uint8Array(100));
    await c.pools[2]!.memSet(addr, new Uint8Array([1, 2, 3]), 10);
    await c.pools[1]!.memSet(addr, new Uint8Array([9]), 99);
    const got = await c.pools[0]!.memGet(addr);
    assert.equal(got.length, 100);
    assert.deepEqual([...got.subarray(9, 14)], [0, 1, 2, 3, 0]);
    assert.equal(got[99], 9);
    await assert.rejects(c.pools[0]!.memSet(addr, new Uint8Array(2), 99), {
      code: "OUT_OF_BOUNDS",
    });
    await assert.rejects(c.pools[0]!.memSet(addr, new Uint8Array(1), -1), {
      code: "OUT_OF_BOUNDS",
    });
    await c.pools[2]!.free(addr);
    await assert.rejects(c.pools[0]!.memGet(addr), { code: "NOT_FOUND" });
    await assert.rejects(c.pools[0]!.free(addr), { code: "NOT_FOUND" });
    await assert.rejects(c.pools[0]!.memSet(addr, new Uint8Array(1)), { code: "NOT_FOUND" });
  } finally {
    await c.stop();
  }
});

Deno.test("mem: blocks land on the member with the most free bytes; capacity accounts them", async () => {
  const c = await startCluster(3, { poolBytes: 1000 });
  try {
    const a1 = await c.pools[0]!.alloc(600);
    const owner1 = parseAddress(a1).peerId;
    const i1 = c.ids.indexOf(owner1);
    assert.deepEqual(c.pools[i1]!.capacity(), { totalBytes: 1000, freeBytes: 400 });
    const a2 = await c.pools[0]!.alloc(600);
    assert.notEqual(parseAddress(a2).peerId, owner1);
    const a3 = await c.pools[0]!.alloc(600);
    const used = new Set([a1, a2, a3].map((a) => parseAddress(a).peerId));
    assert.equal(used.size, 3);
    // Every member has 400 left: no room for 500 anywhere.
    await assert.rejects(c.pools[1]!.alloc(500), { code: "POOL_FULL" });
    await c.pools[1]!.free(a1);
    assert.deepEqual(c.pools[i1]!.capacity(), { totalBytes: 1000, freeBytes: 1000 });
    const a4 = await c.pools[2]!.alloc(500);
    assert.equal(parseAddress(a4).peerId, owner1);
  } finally {
    await c.stop();
  }
});

Deno.test("mem: concurrent sets to one block all land", async () => {
  const c = await startCluster(3);
  try {
    const addr = await c.pools[0]!.alloc(30);
    await Promise.all(
      Array.from(
        { length: 30 },
        (_, i) => c.pools[i % 3]!.memSet(addr, new Uint8Array([i + 1]), i),
      ),
    );
    assert.deepEqual(
      [...await c.pools[1]!.memGet(addr)],
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
  } finally {
    await c.stop();
  }
});

Deno.test("mem: addresses are validated", () => {
  for (
    const bad of [
      "",
      "p1",
      "p1:",
      ":0000000000000000",
      "p/1:0000000000000000",
      "p1:ABCDEF0000000000",
      7,
    ]
  ) {
    assert.throws(() => parseAddress(bad), { code: "INVALID_ADDRESS" });
  }
  assert.deepEqual(parseAddress("12D3KooWabc:0123456789abcdef"), {
    peerId: "12D3KooWabc",
    blockId: "0123456789abcdef",
  });
});

Deno.test("mem: memory blocks stay out of user listings", async () => {
  const c = await startCluster(2);
  try {
    await c.pools[0]!.alloc(10);
    await c.pools[0]!.put("user", new Uint8Array([1]));
    assert.deepEqual((await c.pools[1]!.list({})).keys, ["user"]);
  } finally {
    await c.stop();
  }
});
