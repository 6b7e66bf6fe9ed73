/**
 * Admission under overload: the queue in front of a version's processes, bounded by the time
 * calls wait in it, deadlines from arrival, and processes that are busy but never killed for it.
 * Timings are generous bounds, not measurements (bench/overload.ts measures).
 */
import assert from "node:assert/strict";
import { SandboxError } from "./errors.ts";
import { cpu, rejection, spec, startPool } from "./_testing.ts";

const req = (path = "/") => new Request(`http://fn${path}`);

type Outcome = { ok: true; body: string; ms: number } | { ok: false; err: unknown; ms: number };

Deno.test("overload: calls past capacity are refused at once with a retry delay; no process is killed", async () => {
  const pool = await startPool({ spares: 0, maxInstances: 1, queueWaitMs: 200 });
  try {
    const s = spec("cpu", cpu(20));
    await pool.load(s);
    const pids = pool.stats().detail!.map((d) => d.pid);
    // Open loop: a call every 4 ms for 2 s (250/s) against one process that runs ≤ 50/s.
    const outcomes: Promise<Outcome>[] = [];
    const t0 = performance.now();
    while (performance.now() - t0 < 2_000) {
      const sent = performance.now();
      outcomes.push(
        pool.invoke(s, req(), { requestId: "r" }).then(
          async (res) => ({ ok: true, body: await res.text(), ms: performance.now() - sent }),
          (err) => ({ ok: false, err, ms: performance.now() - sent }),
        ),
      );
      await new Promise((r) => setTimeout(r, 4));
    }
    const all = await Promise.all(outcomes);
    const served = all.filter((o) => o.ok);
    const refused = all.filter((o) => !o.ok);
    for (const o of served) assert.equal(o.body, "done");
    for (const o of refused) {
      const e = o.err as SandboxError;
      assert.ok(e instanceof SandboxError, String(e));
      assert.equal(e.code, "OVERLOADED", e.message);
      assert.ok(e.refused);
      assert.ok(e.retryAfter !== undefined && e.retryAfter >= 1);
      // Refused on arrival, before any work: only the test's own event loop delays the answer.
      assert.ok(o.ms < 250, `a refusal took ${o.ms} ms`);
    }
    assert.ok(served.length >= 20, `only ${served.length} calls served`);
    assert.ok(refused.length >= all.length / 4, `only ${refused.length} of ${all.length} refused`);
    // The accepted calls waited at most about the queue's bound, not the whole backlog.
    const slowest = Math.max(...served.map((o) => o.ms));
    assert.ok(slowest < 5_000, `an accepted call took ${slowest} ms`);
    // The process worked through its calls and was never taken for a stuck one.
    assert.deepEqual(pool.stats().detail!.map((d) => d.pid), pids);
    assert.ok(
      !pool.logger.lines.some((l) => /killed|unresponsive/.test(l.msg ?? "")),
      JSON.stringify(pool.logger.lines.filter((l) => l.level === "warn")),
    );
    assert.equal(await (await pool.invoke(s, req(), { requestId: "after" })).text(), "done");
  } finally {
    await pool.stop();
  }
});

Deno.test("overload: a function that waits on the network gets the slots it needs", async () => {
  const pool = await startPool({ spares: 0, maxInstances: 1 });
  try {
    const s = spec(
      "io",
      `export default { async fetch() {
        await new Promise((r) => setTimeout(r, 300));
        return new Response("done");
      } }`,
    );
    await pool.load(s);
    await (await pool.invoke(s, req(), { requestId: "warm" })).text();
    // 100 calls/s of 300 ms each: ~30 at once on one process, past the first limit of 16.
    const outcomes: Promise<string>[] = [];
    const t0 = performance.now();
    while (performance.now() - t0 < 1_500) {
      outcomes.push(
        pool.invoke(s, req(), { requestId: "r" }).then(
          (res) => res.text(),
          (err) => String(err.code),
        ),
      );
      await new Promise((r) => setTimeout(r, 10));
    }
    const all = await Promise.all(outcomes);
    const refused = all.filter((o) => o !== "done");
    // Most are served: quietly none is refused, but on a loaded host (CI runs the suite in
    // parallel on 2 cores) a moment in which the process is not scheduled makes its starts late,
    // which cuts its limit — as it must for a busy process (bench/overload.ts; cutting only after
    // 100 ms of late starts was tried and doubled the CPU-bound wait) — until prompt starts raise
    // it again. Seen once past 5 % in a full run; a quarter is what would mean it did not grow.
    assert.ok(refused.length <= all.length / 4, `${refused.length} of ${all.length}: ${refused}`);
    assert.ok(Math.max(...pool.stats().detail!.map((d) => d.limit ?? 0)) > 16);
  } finally {
    await pool.stop();
  }
});

Deno.test("overload: a queued call's timeout runs from its arrival, not from its start", async () => {
  const pool = await startPool({ spares: 0, maxInstances: 1, maxConcurrency: 1 });
  try {
    const s = spec(
      "sleepy",
      `export default { async fetch(req) {
        const ms = Number(new URL(req.url).searchParams.get("ms"));
        await new Promise((r) => setTimeout(r, ms));
        return new Response("slept " + ms);
      } }`,
      { timeoutMs: 1_000 },
    );
    await pool.load(s);
    // One call at a time: b waits ~700 ms for a, then has ~300 ms of its 1 s left for its 700 ms.
    // Counted from its start it would succeed.
    const a = pool.invoke(s, req("/?ms=700"), { requestId: "a" });
    const b = rejection(pool.invoke(s, req("/?ms=700"), { requestId: "b" }));
    assert.equal(await (await a).text(), "slept 700");
    const e = await b;
    assert.equal(e.code, "FUNCTION_TIMEOUT", e.message);
  } finally {
    await pool.stop();
  }
});

Deno.test("overload: a call that times out in the queue never reaches the process, which lives on", async () => {
  const pool = await startPool({ spares: 0, maxInstances: 1, maxConcurrency: 1 });
  try {
    const s = spec(
      "count",
      `let calls = 0;
      export default { async fetch(req) {
        calls++;
        if (new URL(req.url).searchParams.has("hang")) await new Promise(() => {});
        return new Response(String(calls));
      } }`,
      { timeoutMs: 400 },
    );
    await pool.load(s);
    const pid = pool.stats().detail![0]!.pid;
    const hung = rejection(pool.invoke(s, req("/?hang"), { requestId: "hung" }));
    const queued = rejection(pool.invoke(s, req("/?hang"), { requestId: "queued" }));
    assert.equal((await hung).code, "FUNCTION_TIMEOUT");
    assert.equal((await queued).code, "FUNCTION_TIMEOUT");
    // A call that spent its whole timeout before reaching the pool is not started at all.
    const stale = await rejection(
      pool.invoke(s, req(), { requestId: "stale", arrivedAt: performance.now() - 400 }),
    );
    assert.equal(stale.code, "FUNCTION_TIMEOUT");
    // The hung call was cancelled and acknowledged; the others were only dropped.
    assert.equal(await (await pool.invoke(s, req(), { requestId: "c" })).text(), "2");
    assert.deepEqual(pool.stats().detail!.map((d) => d.pid), [pid]);
  } finally {
    await pool.stop();
  }
});

Deno.test("overload: an aborted queued call leaves the queue at once", async () => {
  const pool = await startPool({ spares: 0, maxInstances: 1, maxConcurrency: 1 });
  try {
    const s = spec("slow", cpu(300));
    await pool.load(s);
    const first = pool.invoke(s, req(), { requestId: "1" });
    const ac = new AbortController();
    const queued = pool.invoke(s, req(), { requestId: "2", signal: ac.signal });
    assert.equal(pool.queued(), 1);
    ac.abort(new Error("caller left"));
    await assert.rejects(queued, { message: "caller left" });
    assert.equal(pool.queued(), 0);
    assert.equal(await (await first).text(), "done");
  } finally {
    await pool.stop();
  }
});

Deno.test("stop: queued calls are refused as never run; a running call finishes", async () => {
  const pool = await startPool({ spares: 0, maxInstances: 1, maxConcurrency: 1 });
  const s = spec("slow", cpu(300));
  await pool.load(s);
  const running = pool.invoke(s, req(), { requestId: "1" });
  const queued = rejection(pool.invoke(s, req(), { requestId: "2" }));
  const stopped = pool.stop();
  const e = await queued;
  assert.equal(e.code, "SANDBOX_STOPPED");
  assert.ok(e.refused);
  assert.equal(await (await running).text(), "done");
  await stopped;
  const late = await rejection(pool.invoke(s, req(), { requestId: "3" }));
  assert.equal(late.code, "SANDBOX_STOPPED");
  assert.ok(late.refused);
});
