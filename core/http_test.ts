import assert from "node:assert/strict";
import { HTTP_TOKEN, isHeaderPair, NULL_BODY_STATUS } from "./http.ts";

Deno.test("http: isHeaderPair agrees with Headers on names and values", () => {
  const cases: Array<[string, string]> = [
    ["content-type", "text/plain"],
    ["X-Mixed_Case!#$%&'*+-.^`|~", "v"],
    ["bad name", "x"],
    ["", "x"],
    ["x", "a\r\nb"],
    ["x", "nul\0"],
    ["x", "latin-1 é"],
    ["x", "not latin-1 \u0100"],
    ["x", ""],
  ];
  for (const [name, value] of cases) {
    let ok = true;
    try {
      new Headers([[name, value]]);
    } catch {
      ok = false;
    }
    assert.equal(isHeaderPair(name, value), ok, JSON.stringify([name, value]));
  }
  assert.ok(HTTP_TOKEN.test("PATCH") && !HTTP_TOKEN.test("GE T"));
});

Deno.test("http: NULL_BODY_STATUS is what Response refuses a body for", () => {
  for (let s = 200; s <= 599; s++) {
    let refused = false;
    try {
      new Response("x", { status: s });
    } catch {
      refused = true;
    }
    assert.equal(NULL_BODY_STATUS.has(s), refused, String(s));
  }
});
