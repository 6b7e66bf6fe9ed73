import assert from "node:assert/strict";
import { rejection, spec, startPool } from "./_testing.ts";
import { CONSOLE_LEVELS } from "./_levels.ts";
import type { FunctionLog } from "./types.ts";

const req = (path = "/") => new Request(`http://fn${path}`);

/** A pool whose function log lines are kept, and a wait for one that matches. */
async function poolWithLog(extra = {}) {
  const lines: FunctionLog[] = [];
  const waiters: Array<() => void> = [];
  const pool = await startPool({
    onLog: (l) => {
      lines.push(l);
      for (const w of waiters.splice(0)) w();
    },
    ...extra,
  });
  const until = async (pred: (l: FunctionLog) => boolean, ms = 30_000): Promise<FunctionLog> => {
    const end = Date.now() + ms;
    for (;;) {
      const hit = lines.find(pred);
      if (hit) return hit;
      if (Date.now() >= end) {
        throw new Error(`No such line within ${ms} ms: ${JSON.stringify(lines)}`);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, end - Date.now());
        waiters.push(() => (clearTimeout(t), r()));
      });
    }
  };
  return { pool, lines, until };
}

Deno.test("console levels: debug/log/info/warn/error map to debug/info/info/warn/error", () => {
  assert.deepEqual(
    ["debug", "log", "info", "warn", "error", "trace", "table"].map((m) => CONSOLE_LEVELS[m]),
    ["debug", "info", "info", "warn", "error", "debug", "info"],
  );
});

Deno.test("each console method reaches onLog at its level with the function, version and request id", async () => {
  const { pool, lines } = await poolWithLog();
  try {
    const s = spec(
      "levels",
      `export default { async fetch() {
        console.debug("d"); console.log("l"); console.info("i"); console.warn("w"); console.error("e");
        console.assert(false, "a");
        return new Response("ok");
      } }`,
    );
    await (await pool.invoke(s, req(), { requestId: "rid-9" })).text();
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg, l.requestId, l.fn, l.version, l.source]),
      [
        ["debug", "d", "rid-9", "levels", s.version, "function"],
        ["info", "l", "rid-9", "levels", s.version, "function"],
        ["info", "i", "rid-9", "levels", s.version, "function"],
        ["warn", "w", "rid-9", "levels", s.version, "function"],
        ["error", "e", "rid-9", "levels", s.version, "function"],
        ["error", "Assertion failed a", "rid-9", "levels", s.version, "function"],
      ],
    );
  } finally {
    await pool.stop();
  }
});

Deno.test("an uncaught exception is logged with its stack; the call gets the message only", async () => {
  const { pool, until } = await poolWithLog();
  try {
    const s = spec(
      "thrower",
      `function deepInside() { throw new Error("kaboom-77"); }
      export default { fetch() { return deepInside(); } }`,
    );
    const err = await rejection(pool.invoke(s, req(), { requestId: "rid-x" }));
    assert.equal(err.code, "FUNCTION_ERROR");
    assert.equal(err.message, "kaboom-77");
    const line = await until((l) => l.requestId === "rid-x");
    assert.equal(line.level, "error");
    assert.equal(line.source, "function");
    assert.match(line.msg, /^Uncaught exception: Error: kaboom-77\n\s+at deepInside/);
    // The host's own files are hidden from the stack, as from the function.
    assert.ok(!line.msg.includes("_child"), line.msg);
  } finally {
    await pool.stop();
  }
});

Deno.test("a timeout and a memory kill are logged as runtime lines of the call", async () => {
  const { pool, until } = await poolWithLog({ spares: 0 });
  try {
    const slow = spec("slow", `export default { fetch() { return new Promise(() => {}); } }`, {
      timeoutMs: 200,
    });
    assert.equal(
      (await rejection(pool.invoke(slow, req(), { requestId: "rid-t" }))).code,
      "FUNCTION_TIMEOUT",
    );
    const t = await until((l) => l.requestId === "rid-t");
    assert.deepEqual([t.level, t.source, t.fn], ["error", "runtime", "slow"]);
    assert.match(t.msg, /^FUNCTION_TIMEOUT: Function exceeded its 200 ms timeout/);

    const bomb = spec(
      "bomb",
      `export default { async fetch() {
        const keep = [];
        for (let i = 0; i < 64; i++) {
          keep.push(new Uint8Array(16 * 1024 * 1024).fill(1));
          await new Promise((r) => setTimeout(r, 0));
        }
        await new Promise(() => {});
      } }`,
      { memoryMb: 64 },
    );
    assert.equal(
      (await rejection(pool.invoke(bomb, req(), { requestId: "rid-m" }))).code,
      "FUNCTION_MEMORY_LIMIT",
    );
    const m = await until((l) => l.requestId === "rid-m");
    assert.deepEqual([m.level, m.source, m.fn], ["error", "runtime", "bomb"]);
    assert.match(m.msg, /^FUNCTION_MEMORY_LIMIT: /);
    const ended = await until((l) => l.fn === "bomb" && l.msg.includes("ended"));
    assert.match(ended.msg, /^Function process \d+ ended: FUNCTION_MEMORY_LIMIT/);
  } finally {
    await pool.stop();
  }
});

Deno.test("a cancelled call aborts the function's req.signal, whether it was read before or after", async () => {
  const { pool, until } = await poolWithLog();
  try {
    const s = spec(
      "hang",
      `export default { fetch(req) {
        const q = new URL(req.url).searchParams;
        if (q.has("early")) {
          req.signal.addEventListener("abort", () => console.log("early " + req.signal.reason.name));
        } else {
          setTimeout(() => console.log("late " + req.signal.aborted + " " + req.signal.reason?.name), 300);
        }
        return new Promise(() => {});
      } }`,
    );
    for (const when of ["early", "late"]) {
      const ac = new AbortController();
      const call = pool.invoke(s, req(`/?${when}`), { requestId: when, signal: ac.signal });
      setTimeout(() => ac.abort(new Error("client went away")), 100);
      await assert.rejects(call, { message: "client went away" });
      // An abort listener runs outside the call's context: its line may carry no request id.
      const line = await until((l) => l.source === "function" && l.msg.startsWith(when));
      assert.equal(line.msg, when === "early" ? "early AbortError" : "late true AbortError");
    }
  } finally {
    await pool.stop();
  }
});
