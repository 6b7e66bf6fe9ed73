/**
 * A graceful stop loses no call: three real peers, random-routed load
 * (GETs and POSTs) through two of them, SIGTERM of the third mid-load. The leaver tells the
 * mesh first, so the others stop routing to it before it refuses or closes
 * anything; every call is answered 200, and the leaver exits 0 promptly.
 */
import assert from "node:assert/strict";
import { deploy, startMesh, stopAll, waitFor, waitForFunction } from "./_harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** From SIGTERM to exit: leave acknowledgements (~ms), drains and closes, far below the grace bounds. */
const PROMPT_EXIT_MS = 20_000;

Deno.test("a peer stopped with SIGTERM under load loses no call", opts, async () => {
  const peers = await startMesh(3);
  const [a, b, leaver] = peers as [typeof peers[0], typeof peers[0], typeof peers[0]];
  try {
    await deploy(a, "hello", "hello");
    await waitForFunction(peers, "hello");

    const failures: string[] = [];
    let answered = 0;
    let stop = false;
    // Settled by the load itself: the leaver served calls routed from both entry peers.
    const leaverServedFrom = new Map<string, number>();
    const leaverReached = Promise.withResolvers<void>();
    const loop = async (entry: typeof a, n: number) => {
      while (!stop) {
        // POSTs too: a call that is not idempotent cannot be saved by a retry after a failed hop.
        const res = await fetch(`${entry.url}/fn/hello?name=${n}`, {
          method: n % 2 === 0 ? "GET" : "POST",
          headers: { "x-virgo-route": "random" },
          ...(n % 2 === 0 ? {} : { body: `call ${n}` }),
        }).catch((err) => err as Error);
        answered++;
        if (res instanceof Error) {
          failures.push(`${entry.peerId.slice(-6)}: ${res.message}`);
          continue;
        }
        const body = await res.text();
        const peer = res.headers.get("x-virgo-peer") ?? "?";
        if (res.status !== 200) {
          failures.push(`${res.status} via ${entry.peerId.slice(-6)}: ${body}`);
          continue;
        }
        if (peer === leaver.peerId) {
          leaverServedFrom.set(entry.peerId, (leaverServedFrom.get(entry.peerId) ?? 0) + 1);
          if ([a, b].every((p) => (leaverServedFrom.get(p.peerId) ?? 0) >= 50)) {
            leaverReached.resolve();
          }
        }
      }
    };
    const loops = [a, b].flatMap((entry) => Array.from({ length: 6 }, (_, i) => loop(entry, i)));

    const reached = setTimeout(
      () => leaverReached.reject(new Error("leaver never served")),
      30_000,
    );
    await leaverReached.promise.finally(() => clearTimeout(reached));
    const t0 = Date.now();
    const before = answered;
    const code = await leaver.stop();
    const exitMs = Date.now() - t0;
    const during = answered - before;
    // Keep the load on a while after the leaver is gone.
    const after = answered;
    await waitFor("calls after the leaver exited", () => answered - after >= 500, 30_000, 10);
    stop = true;
    await Promise.all(loops);

    assert.deepEqual(failures.slice(0, 10), [], `${failures.length} of ${answered} calls failed`);
    assert.equal(code, 0, "the leaver exits 0");
    assert.ok(exitMs < PROMPT_EXIT_MS, `the leaver took ${exitMs} ms to exit`);
    assert.ok(during > 0, "calls went on while the leaver stopped");
    assert.ok(
      leaver.logs.some((l) => l.includes("left the mesh's routing")),
      "the leaver announced its leave",
    );
  } finally {
    await stopAll(peers);
  }
});
