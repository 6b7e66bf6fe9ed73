import assert from "node:assert/strict";
import { listLimit, utf8, utf8Length, validateKey, validateValue } from "./keys.ts";

Deno.test("keys: utf8Length matches TextEncoder", () => {
  for (const s of ["", "abc", "é", "€", "\u{1F600}", "a\u{10FFFF}é"]) {
    assert.equal(utf8Length(s), utf8(s).length);
  }
});

Deno.test("keys: validation codes", () => {
  validateKey("a/b c", 1024);
  validateKey("x".repeat(1024), 1024);
  assert.throws(() => validateKey("x".repeat(1025), 1024), { code: "KEY_TOO_LARGE" });
  assert.throws(() => validateKey("\u{1F600}".repeat(257), 1024), { code: "KEY_TOO_LARGE" });
  for (const bad of ["", "a\u0000", "\t", "a\u007f", "\u0085", "\uDC00", null]) {
    assert.throws(() => validateKey(bad, 1024), { code: "INVALID_KEY" });
  }
  assert.throws(() => validateValue(new Uint8Array(11), 10), { code: "VALUE_TOO_LARGE" });
  assert.deepEqual([listLimit(undefined), listLimit(0), listLimit(5000), listLimit(7.9)], [
    100,
    1,
    1000,
    7,
  ]);
});
