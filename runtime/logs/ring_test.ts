import assert from "node:assert/strict";
import { createLogStore } from "./ring.ts";
import { LINE_OVERHEAD_BYTES } from "./constants.ts";
import type { NewLogLine } from "./line.ts";

const line = (fn: string, msg: string, t?: number): NewLogLine =>
  t === undefined
    ? { fn, level: "info", source: "function", msg }
    : { fn, level: "info", source: "function", msg, t };

Deno.test("ring: lines come back oldest first, numbered and stamped, per function", () => {
  let now = 1_000;
  const store = createLogStore({ now: () => now++ });
  store.append(line("a", "1"));
  store.append(line("b", "x"));
  store.append(line("a", "2"));
  const { lines, cursor } = store.read("a");
  assert.deepEqual(lines.map((l) => [l.msg, l.seq, l.t]), [["1", 1, 1000], ["2", 3, 1002]]);
  assert.equal(cursor, 3);
  assert.deepEqual(store.read("none"), { lines: [], cursor: 3 });
});

Deno.test("ring: keeps the last N lines of a function", () => {
  const store = createLogStore({ lines: 1000 });
  for (let i = 0; i < 2500; i++) store.append(line("f", String(i)));
  const { lines } = store.read("f");
  assert.equal(lines.length, 1000);
  assert.equal(lines[0]!.msg, "1500");
  assert.equal(lines.at(-1)!.msg, "2499");
});

Deno.test("ring: keeps at most its bytes per function, and always the newest line", () => {
  const store = createLogStore({ bytes: 10 * (LINE_OVERHEAD_BYTES + 100) });
  for (let i = 0; i < 50; i++) store.append(line("f", String(i % 10).repeat(100)));
  assert.equal(store.read("f").lines.length, 10);
  store.append(line("f", "x".repeat(100_000)));
  assert.deepEqual(store.read("f").lines.map((l) => l.msg.length), [100_000]);
});

Deno.test("ring: the total bound takes lines from the function written least recently", () => {
  const per = LINE_OVERHEAD_BYTES + 10;
  const store = createLogStore({ totalBytes: 30 * per });
  for (let i = 0; i < 10; i++) store.append(line("old", "o".repeat(10)));
  for (let i = 0; i < 10; i++) store.append(line("mid", "m".repeat(10)));
  for (let i = 0; i < 10; i++) store.append(line("new", "n".repeat(10)));
  assert.equal(store.bytes(), 30 * per);
  for (let i = 0; i < 15; i++) store.append(line("new", "n".repeat(10)));
  assert.equal(store.bytes(), 30 * per);
  assert.equal(store.read("old").lines.length, 0);
  assert.equal(store.read("mid").lines.length, 5);
  assert.equal(store.read("new").lines.length, 25);
});

Deno.test("ring: read since a time, after a cursor, and within a limit", () => {
  const store = createLogStore();
  for (let i = 0; i < 10; i++) store.append(line("f", String(i), 100 + i));
  assert.deepEqual(store.read("f", { since: 107 }).lines.map((l) => l.msg), ["7", "8", "9"]);
  const first = store.read("f", { limit: 4 });
  assert.deepEqual(first.lines.map((l) => l.msg), ["0", "1", "2", "3"]);
  assert.equal(first.cursor, 4);
  const next = store.read("f", { after: first.cursor, limit: 4 });
  assert.deepEqual(next.lines.map((l) => l.msg), ["4", "5", "6", "7"]);
  const rest = store.read("f", { after: next.cursor });
  assert.deepEqual(rest.lines.map((l) => l.msg), ["8", "9"]);
  assert.equal(rest.cursor, 10);
  assert.deepEqual(store.read("f", { after: rest.cursor }).lines, []);
});
