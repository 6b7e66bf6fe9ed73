import assert from "node:assert/strict";
import { byteLru } from "./_lru.ts";

Deno.test("lru: bounded by bytes, least recently used out first", () => {
  const c = byteLru(10);
  c.set("a", "aaaa");
  c.set("b", "bbbb");
  assert.equal(c.get("a"), "aaaa"); // a is now the most recent
  c.set("c", "cccc"); // 12 bytes: b goes
  assert.equal(c.get("b"), undefined);
  assert.equal(c.get("a"), "aaaa");
  assert.equal(c.get("c"), "cccc");
  assert.equal(c.bytes, 8);
  c.set("huge", "x".repeat(11)); // larger than the cache: not kept, nothing evicted
  assert.equal(c.get("huge"), undefined);
  assert.equal(c.bytes, 8);
  c.set("a", "aa"); // replacing updates the size
  assert.equal(c.bytes, 6);
  c.delete("c");
  assert.equal(c.bytes, 2);
});
