import assert from "node:assert/strict";
import { SeenVersions } from "./_seen.ts";

Deno.test("seen: a key is covered by a version at or past the one acknowledged", () => {
  const seen = new SeenVersions("b", 10);
  assert.equal(seen.covers("k", "a"), false, "below the floor");
  assert.equal(seen.covers("k", undefined), false, "no record, floor set");
  seen.raise("k", "d");
  assert.equal(seen.covers("k", "c"), false);
  assert.equal(seen.covers("k", "d"), true);
  assert.equal(seen.covers("k", "e"), true);
  seen.raise("k", "c"); // an older acknowledgement changes nothing
  assert.equal(seen.covers("k", "c"), false);
});

Deno.test("seen: a strong read's answer stands for the key, below the floor too", () => {
  const seen = new SeenVersions("m", 10);
  seen.learn("k", "a", seen.mark());
  assert.equal(seen.covers("k", "a"), true);
  seen.learn("gone", "", seen.mark());
  assert.equal(seen.covers("gone", undefined), true);
  seen.raise("gone", "n");
  assert.equal(seen.covers("gone", undefined), false);
});

Deno.test("seen: forgetting a key raises the floor for every key not remembered", () => {
  const seen = new SeenVersions("", 2);
  seen.raise("a", "x");
  seen.raise("b", "c");
  seen.raise("c", "d"); // "a" is forgotten: the floor becomes "x"
  assert.equal(seen.size, 2);
  assert.equal(seen.covers("a", "w"), false);
  assert.equal(seen.covers("a", "x"), true);
  assert.equal(seen.covers("never-seen", "w"), false);
  assert.equal(seen.covers("b", "c"), true, "remembered keys keep their own bound");
});

Deno.test("seen: a strong read that raced a forgotten acknowledgement cannot lower its bound", () => {
  const seen = new SeenVersions("", 1);
  const mark = seen.mark();
  seen.raise("k", "e"); // acknowledged while the read was in flight…
  seen.raise("other", "f"); // …and forgotten: the floor is "e"
  seen.learn("k", "a", mark); // the read saw the state before the write
  assert.equal(seen.covers("k", "a"), false);
  assert.equal(seen.covers("k", "e"), true);
});
