import assert from "node:assert/strict";
import { formatVersion, Hlc } from "../../kv/mod.ts";
import { asVersion, compareStamps, isStamp, parseStamp, stampWall } from "./stamp.ts";

const WALL = 1_795_784_701_015;
/** A stamp as the release before kv's clock wrote it (its runtime/stamp.ts). */
const legacy = (wall: number, counter: number, peerId: string) =>
  `${String(wall).padStart(15, "0")}.${String(counter).padStart(6, "0")}.${peerId}`;
const hlc = (wall: number, counter: number, peerId: string) =>
  formatVersion({ wall, counter, peerId });

Deno.test("stamp: both forms parse to their parts; anything else is not a stamp", () => {
  assert.deepEqual(parseStamp(legacy(WALL, 3, "12D3KooWp")), {
    wall: WALL,
    counter: 3,
    peerId: "12D3KooWp",
  });
  assert.deepEqual(parseStamp(hlc(WALL, 3, "p1")), { wall: WALL, counter: 3, peerId: "p1" });
  assert.equal(asVersion(legacy(WALL, 3, "p1")), hlc(WALL, 3, "p1"));
  assert.equal(stampWall(legacy(WALL, 0, "p1")), WALL);
  for (
    const bad of [
      "",
      "0",
      "s1",
      "1795784701015.000000.p1",
      `${legacy(WALL, 0, "")}`,
      "9".repeat(15) + ".000000.p1",
    ]
  ) {
    assert.equal(isStamp(bad), false, bad);
  }
});

Deno.test("stamp: old and new stamps order by wall time, counter, then peer — not as strings", () => {
  // As strings every old stamp sorts below every new one, whatever its time.
  const ordered = [
    hlc(WALL - 1, 5, "p9"),
    legacy(WALL, 0, "p2"),
    hlc(WALL, 1, "p1"),
    legacy(WALL, 1, "p2"),
    hlc(WALL, 1, "p3"),
    legacy(WALL + 1, 0, "p0"),
    hlc(WALL + 2, 0, "p0"),
  ];
  for (let i = 0; i < ordered.length; i++) {
    for (let j = 0; j < ordered.length; j++) {
      const c = compareStamps(ordered[i]!, ordered[j]!);
      assert.equal(Math.sign(c), Math.sign(i - j), `${ordered[i]} vs ${ordered[j]}`);
    }
  }
  // The same parts in both forms: one order on every peer, and never "equal".
  const a = legacy(WALL, 0, "p1"), b = hlc(WALL, 0, "p1");
  assert.equal(Math.sign(compareStamps(a, b)), -Math.sign(compareStamps(b, a)));
  assert.notEqual(compareStamps(a, b), 0);
});

Deno.test("stamp: kv's clock moves past an old stamp it observes", () => {
  const clock = new Hlc("p1", () => WALL - 10_000); // this peer's clock 10 s behind
  const old = legacy(WALL, 7, "p2");
  clock.observe(asVersion(old));
  assert.ok(compareStamps(clock.next(), old) > 0);
});
