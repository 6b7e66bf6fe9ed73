/**
 * The HTTP API of a whole peer process, for what only the assembled peer answers: the status it
 * reports, the gauges it registers, and the dashboard reading them. The app's own behaviour is
 * tested on light parts in runtime/app_test.ts.
 */
import assert from "node:assert/strict";
import { deploy, deploySource, startPeer, stopAll, waitFor } from "./_harness.ts";

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
          "virgo_kv_hinted_handoff_backlog",
          "virgo_kv_rebalance_running",
          "process_resident_memory_bytes",
          "virgo_process_pss_bytes",
          "virgo_process_uss_bytes",
          "virgo_sandbox_pss_bytes",
        ]
      ) {
        assert.match(metrics, new RegExp(`^${gauge} \\d`, "m"), gauge);
      }

      // Every metric the Grafana dashboard in deploy/ queries is one the peer exports.
      const grafana = await Deno.readTextFile(
        new URL("../deploy/grafana-dashboard.json", import.meta.url),
      );
      const queried = new Set(
        [...grafana.matchAll(/\b((?:virgo|process)_[a-z_]+)/g)].map((m) => m[1]!),
      );
      assert.ok(queried.size >= 10, [...queried].join());
      for (const name of queried) {
        assert.match(metrics, new RegExp(`^# TYPE ${name.replace(/_bucket$/, "")} `, "m"), name);
      }

      const page = await (await fetch(`${peer.url}/`)).text();
      assert.ok(page.includes(`<code>${peer.peerId}</code>`), "the page names its peer");
      const script = page.slice(page.indexOf("<script>"));
      assert.equal((await fetch(`${peer.url}/fn/hello`)).status, 200);
      const status = await (await fetch(`${peer.url}/v1/status`)).json();
      assert.equal(status.peerId, peer.peerId);
      assert.equal(status.routing, "p2c");
      // Memory as PSS and USS too, for the peer and each of its processes (RSS counts shared pages whole).
      const { memory, sandbox } = status;
      assert.ok(memory.ussBytes > 0 && memory.ussBytes <= memory.pssBytes, JSON.stringify(memory));
      assert.ok(memory.pssBytes <= memory.rssBytes && memory.heapUsedBytes > 0);
      assert.ok(sandbox.detail.length >= 1);
      for (const d of sandbox.detail) assert.ok(d.ussBytes > 0 && d.pssBytes <= d.rssBytes);
      assert.equal(memory.totalPssBytes, memory.pssBytes + sandbox.memory.pssBytes);
      const state = await (await fetch(`${peer.url}/dashboard/state`)).json();
      // What the page shows of the snapshot must be in it: a renamed field would show "undefined".
      const rows: Array<[string, Array<Record<string, unknown>>]> = [
        ["s", [state]],
        ["p", state.peers],
        ["f", state.functions],
        ["c", state.calls],
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

Deno.test(
  "a caller that goes away cancels its call: the function's req.signal aborts long before its timeout",
  opts,
  async () => {
    const peer = await startPeer();
    try {
      const code = `export default { fetch(req) {
        const q = new URL(req.url).search;
        req.signal.addEventListener("abort", () => console.log("aborted " + q));
        console.log("started " + q);
        return new Promise(() => {});
      } }`;
      const put = await deploySource(peer, "hang", code, { timeoutMs: 60_000 });
      assert.equal(put.status, 201, await put.text());
      const has = (line: string) => peer.logs.some((l) => l.includes(line));
      for (const q of ["?a", "?b"]) {
        const ac = new AbortController();
        const call = fetch(`${peer.url}/fn/hang${q}`, { signal: ac.signal }).catch(() => {});
        await waitFor(`the call ${q} to start`, () => has(`started ${q}`));
        ac.abort();
        await call;
        await waitFor(`the call ${q} to be cancelled`, () => has(`aborted ${q}`), 20_000);
      }
      const metrics = await (await fetch(`${peer.url}/metrics`)).text();
      assert.match(metrics, /^virgo_inflight_calls 0$/m);
    } finally {
      await stopAll([peer]);
    }
  },
);
