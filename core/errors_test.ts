import assert from "node:assert/strict";
import { isCode, STATUS, VirgoError } from "./errors.ts";

Deno.test("errors: a VirgoError carries its code, message, name and cause", () => {
  const cause = new Error("disk");
  const err = new VirgoError("QUORUM_FAILED", "Too few replicas", { cause });
  assert.ok(err instanceof Error);
  assert.equal(err.name, "VirgoError");
  assert.equal(err.code, "QUORUM_FAILED");
  assert.equal(err.message, "Too few replicas");
  assert.equal(err.cause, cause);
  assert.equal(STATUS[err.code], 503);
});

Deno.test("errors: isCode accepts the codes of the status table and nothing else", () => {
  for (const code of Object.keys(STATUS)) assert.ok(isCode(code), code);
  for (const other of ["ENOENT", "", "toString", "__proto__", "constructor", 42, null]) {
    assert.equal(isCode(other), false, String(other));
  }
});

Deno.test("errors: every status is an HTTP error status", () => {
  for (const [code, status] of Object.entries(STATUS)) {
    assert.ok(Number.isInteger(status) && status >= 400 && status <= 599, code);
  }
});
