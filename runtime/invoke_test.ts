import assert from "node:assert/strict";
import { functionUrl, parseRoute } from "./invoke.ts";

Deno.test("invoke: the function sees its URL without the /fn/<name> prefix", () => {
  assert.equal(functionUrl("http://h/fn/hello", "hello"), "http://h/");
  assert.equal(functionUrl("http://h/fn/hello/", "hello"), "http://h/");
  assert.equal(functionUrl("http://h/fn/hello/a/b?x=1#f", "hello"), "http://h/a/b?x=1#f");
});

Deno.test("invoke: x-virgo-route is validated", () => {
  assert.equal(parseRoute(null), undefined);
  assert.equal(parseRoute(""), undefined);
  for (const s of ["local", "random", "least-loaded", "p2c"]) assert.equal(parseRoute(s), s);
  const id = "12D3KooWGzh9HHjZ2wYVG3WvGrY6FvcXQ8LJkEEFHb7Nbf6E8kQ1";
  assert.deepEqual(parseRoute(id), { peerId: id });
  assert.throws(() => parseRoute("fastest"), /Invalid x-virgo-route/);
  assert.throws(() => parseRoute("12D3<script>"), /Invalid x-virgo-route/);
});
