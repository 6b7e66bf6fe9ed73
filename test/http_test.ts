/**
 * The HTTP API of a whole peer process, for what only the assembled peer answers: the status it
 * reports, the gauges it registers, and the dashboard reading them. The app's own behaviour is
 * tested on light parts in runtime/app_test.ts.
 */
import assert from "node:assert/strict";
import { deploy, startPeer, stopAll } from "./_harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** The names the dashboard's script reads from `<variable>.<name>`, in order of first use. */
function fieldsRead(script: string, variable: string): string[] {
  const names = [...script.matchAll(new RegExp(`\\b${variable}\\.(\\w+)`, "g"))].map((m) => m[1]!);
  return [...new Set(names)];
}

Deno.test(
  "a whole peer: its gauges, its status, and every field its dashboard reads",
  opts,
  async () => {
    const peer = await startPeer();
    try {
      await deploy(peer, "hello", "hello");
      assert.deepEqual(await (await fetch(`${peer.url}/healthz`)).json(), {
        ok: true,
        peerId: peer.peerId,
      });
      const metrics = await (await fetch(`${peer.url}/metrics`)).text();
      assert.match(metrics, /^virgo_mesh_peers 1$/m);
      for (
        const gauge of [
          "virgo_inflight_calls",
          "virgo_sandbox_queued_calls",
          "virgo_sandbox_processes",
          "virgo_pool_free_bytes",
          "virgo_event_loop_delay_ms",
        ]
      ) {
        assert.match(metrics, new RegExp(`^${gauge} \\d`, "m"), gauge);
      }

      const page = await (await fetch(`${peer.url}/`)).text();
      assert.ok(page.includes(`<code>${peer.peerId}</code>`), "the page names its peer");
      const script = page.slice(page.indexOf("<script>"));
      const get = async (path: string) => {
        const res = await fetch(`${peer.url}${path}`);
        assert.equal(res.status, 200, path);
        return await res.json();
      };
      const [peers, fns, status] = await Promise.all(
        ["/v1/peers", "/v1/functions", "/v1/status"].map(get),
      );
      assert.equal(status.peerId, peer.peerId);
      assert.equal(status.routing, "p2c");
      // What the page shows of each answer must be in it: a renamed field would show "undefined".
      const rows: Array<[string, Array<Record<string, unknown>>]> = [
        ["status", [status]],
        ["p", peers.peers],
        ["f", fns.functions],
      ];
      for (const [variable, answers] of rows) {
        const fields = fieldsRead(script, variable);
        assert.ok(fields.length >= 3, `${variable}: ${fields}`);
        assert.ok(answers.length > 0, variable);
        for (const answer of answers) {
          const missing = fields.filter((k) => answer[k] === undefined);
          assert.deepEqual(missing, [], `${variable} lacks ${missing}: ${JSON.stringify(answer)}`);
        }
      }
    } finally {
      await stopAll([peer]);
    }
  },
);
