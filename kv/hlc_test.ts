import assert from "node:assert/strict";
import { compareVersions, formatVersion, Hlc, isVersion, NO_VERSION, parseVersion } from "./hlc.ts";

Deno.test("hlc: versions are monotonic even when the wall clock stalls or goes back", () => {
  let now = 1000;
  const hlc = new Hlc("p1", () => now);
  const a = hlc.next();
  const b = hlc.next();
  now = 500;
  const c = hlc.next();
  now = 2000;
  const d = hlc.next();
  assert.ok(a < b && b < c && c < d);
  assert.deepEqual(parseVersion(c), { wall: 1000, counter: 2, peerId: "p1" });
  assert.deepEqual(parseVersion(d), { wall: 2000, counter: 0, peerId: "p1" });
});

Deno.test("hlc: observe moves past a remote version", () => {
  const local = new Hlc("a", () => 1000);
  const remote = formatVersion({ wall: 5000, counter: 7, peerId: "b" });
  local.observe(remote);
  const next = local.next();
  assert.ok(compareVersions(next, remote) > 0);
  assert.deepEqual(parseVersion(next), { wall: 5000, counter: 8, peerId: "a" });
  local.observe("garbage");
  local.observe(NO_VERSION);
});

Deno.test("hlc: string order is version order; ties break by peer id", () => {
  const v = (wall: number, counter: number, peerId: string) =>
    formatVersion({ wall, counter, peerId });
  assert.ok(v(1, 0, "z") < v(2, 0, "a"));
  assert.ok(v(2, 35, "z") < v(2, 36, "a"));
  assert.ok(v(2, 1, "a") < v(2, 1, "b"));
  assert.ok(compareVersions(NO_VERSION, v(0, 0, "a")) < 0);
  assert.ok(v(Date.UTC(5000, 0), 0, "x").length === v(0, 0, "x").length);
});

Deno.test("hlc: format/parse round-trip and validation", () => {
  const p = { wall: Date.now(), counter: 42, peerId: "12D3KooWAbc" };
  const s = formatVersion(p);
  assert.ok(isVersion(s));
  assert.deepEqual(parseVersion(s), p);
  for (const bad of ["", "0", "abc", "000000000-0000-", "00000000-0000-p", "000000000-0000-p/q"]) {
    assert.equal(parseVersion(bad), undefined);
  }
});

Deno.test("hlc: the counter overflows into the next millisecond", () => {
  const hlc = new Hlc("p", () => 0);
  let last = "";
  for (let i = 0; i < 36 ** 4 + 2; i++) last = hlc.next();
  assert.equal(parseVersion(last)!.wall, 1);
});

Deno.test("hlc: a version far ahead of the wall clock is refused, never adopted", () => {
  const now = 1_000_000;
  const hlc = new Hlc("p1", () => now);
  const near = formatVersion({ wall: now + 29_000, counter: 0, peerId: "p2" });
  const far = formatVersion({ wall: now + 31_000, counter: 0, peerId: "p2" });
  assert.equal(hlc.isAhead(near), false);
  assert.equal(hlc.isAhead(far), true);
  hlc.observe(far);
  assert.equal(parseVersion(hlc.next())!.wall, now);
  hlc.observe(near);
  assert.equal(parseVersion(hlc.next())!.wall, now + 29_000);
});
