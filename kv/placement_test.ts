import assert from "node:assert/strict";
import { owners, quorum, rank } from "./placement.ts";

Deno.test("placement: owners are stable, distinct and spread evenly", () => {
  const peers = ["a", "b", "c", "d", "e"];
  const counts = new Map(peers.map((p) => [p, 0]));
  for (let i = 0; i < 10_000; i++) {
    const o = owners(`key${i}`, peers, 3);
    assert.equal(new Set(o).size, 3);
    assert.deepEqual(o, owners(`key${i}`, [...peers].reverse(), 3));
    counts.set(o[0]!, counts.get(o[0]!)! + 1);
  }
  for (const n of counts.values()) assert.ok(n > 1700 && n < 2300, `primary share ${n}`);
});

Deno.test("placement: a join moves only keys the newcomer now owns", () => {
  const before = ["a", "b", "c", "d"];
  const after = [...before, "e"];
  let moved = 0;
  for (let i = 0; i < 5000; i++) {
    const o1 = owners(`k${i}`, before, 3);
    const o2 = owners(`k${i}`, after, 3);
    if (o1.join() !== o2.join()) {
      moved++;
      assert.ok(o2.includes("e"));
    }
  }
  assert.ok(moved / 5000 > 0.45 && moved / 5000 < 0.75, `moved ${moved}`);
});

Deno.test("placement: small meshes and quorum sizes", () => {
  assert.deepEqual(owners("k", ["only"], 3), ["only"]);
  assert.equal(rank("k", ["a", "b"]).length, 2);
  assert.deepEqual([1, 2, 3, 4, 5].map(quorum), [1, 2, 2, 3, 3]);
});
