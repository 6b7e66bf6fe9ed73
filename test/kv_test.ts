/**
 * The replicated key-value pool across real peers: reads everywhere,
 * compare-and-set, TTL, losing a peer mid-write, a joining peer, env.KV, the
 * memory API and bad input.
 */
import assert from "node:assert/strict";
import {
  cli,
  deploy,
  deploySource,
  type PeerProcess,
  startMesh,
  startPeer,
  stopAll,
  waitFor,
} from "./_harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
/** Quorum reads this peer has run, from its metrics. */
async function quorumReads(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^virgo_kv_quorum_total\{phase="read",outcome="ok"\} (\d+)/m.exec(text);
  assert.ok(m, "the read quorum counter is exported");
  return Number(m[1]);
}

const put = (url: string, key: string, value: BodyInit, headers: HeadersInit = {}) =>
  fetch(`${url}/v1/kv/${encodeURIComponent(key)}`, { method: "PUT", body: value, headers });

Deno.test("the pool across three peers", opts, async (t) => {
  const peers = await startMesh(3, { args: ["--pool-mb", "1"] });
  try {
    await t.step("set on one peer, get on every peer", async () => {
      const res = await put(peers[0]!.url, "greeting", "hello pool");
      assert.equal(res.status, 200);
      const version = res.headers.get("x-virgo-version");
      assert.ok(version);
      await res.body?.cancel();
      for (const p of peers) {
        const got = await fetch(`${p.url}/v1/kv/greeting`);
        assert.equal(got.status, 200);
        assert.equal(got.headers.get("x-virgo-version"), version);
        assert.equal(await got.text(), "hello pool");
      }
    });

    await t.step("the CLI sets, gets, lists and deletes", async () => {
      const peer = ["--peer", peers[1]!.url];
      assert.equal((await cli(["kv", "set", "cli/a", "1", ...peer])).code, 0);
      assert.equal((await cli(["kv", "set", "cli/b", "2", ...peer])).code, 0);
      assert.equal((await cli(["kv", "get", "cli/b", ...peer])).stdout, "2");
      assert.equal((await cli(["kv", "ls", "cli/", ...peer])).stdout, "cli/a\ncli/b\n");
      assert.equal((await cli(["kv", "del", "cli/a", ...peer])).code, 0);
      const gone = await cli(["kv", "get", "cli/a", ...peer]);
      assert.equal(gone.code, 3);
      assert.match(gone.stderr, /NOT_FOUND/);
    });

    await t.step("the CLI drives VIRGO's memory API", async () => {
      const peer = ["--peer", peers[2]!.url];
      const alloc = await cli(["mem", "alloc", "8", ...peer]);
      assert.equal(alloc.code, 0, alloc.stderr);
      const { addr } = JSON.parse(alloc.stdout);
      assert.equal((await cli(["mem", "set", addr, "hi", "--offset", "1", ...peer])).code, 0);
      const got = await cli(["mem", "get", addr, ...peer]);
      assert.equal(got.stdout, "\0hi\0\0\0\0\0");
      assert.equal((await cli(["mem", "free", addr, ...peer])).code, 0);
      const gone = await cli(["mem", "get", addr, ...peer]);
      assert.equal(gone.code, 3);
      assert.match(gone.stderr, /NOT_FOUND/);
      const bad = await cli(["mem", "alloc", "lots", ...peer]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /BAD_REQUEST/);
    });

    await t.step("listing is ordered and paged", async () => {
      for (let i = 0; i < 12; i++) {
        await (await put(peers[i % 3]!.url, `page/${String(i).padStart(2, "0")}`, "x")).body
          ?.cancel();
      }
      const first = await (await fetch(`${peers[2]!.url}/v1/kv?prefix=page/&limit=5`)).json();
      assert.deepEqual(first.keys, ["page/00", "page/01", "page/02", "page/03", "page/04"]);
      assert.ok(first.next);
      const second = await (await fetch(
        `${peers[0]!.url}/v1/kv?prefix=page/&limit=5&after=${encodeURIComponent(first.next)}`,
      )).json();
      assert.deepEqual(second.keys, ["page/05", "page/06", "page/07", "page/08", "page/09"]);
    });

    await t.step(
      "compare-and-set under 50 concurrent writers: one winner per version",
      async () => {
        const created = await put(peers[0]!.url, "cas", "0");
        const v0 = created.headers.get("x-virgo-version")!;
        await created.body?.cancel();
        const results = await Promise.all(Array.from({ length: 50 }, async (_, i) => {
          const res = await put(peers[i % 3]!.url, "cas", `writer ${i}`, { "if-match": v0 });
          await res.body?.cancel();
          return res.status;
        }));
        assert.equal(results.filter((s) => s === 200).length, 1, JSON.stringify(results));
        assert.equal(results.filter((s) => s === 412).length, 49, JSON.stringify(results));
      },
    );

    await t.step("a counter function stays right under concurrent calls", async () => {
      await deploy(peers[0]!, "counter", "counter");
      await waitFor("counter on every peer", async () => {
        for (const p of peers) {
          if ((await fetch(`${p.url}/v1/functions/counter`)).status !== 200) return false;
        }
        return true;
      });
      const counts = await Promise.all(Array.from({ length: 30 }, async (_, i) => {
        const res = await fetch(`${peers[i % 3]!.url}/fn/counter?key=race`);
        const body = await res.json();
        assert.equal(res.status, 200, JSON.stringify(body));
        return body.count as number;
      }));
      assert.deepEqual(counts.sort((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i + 1));
      // Functions have their own namespace: the pool key is not the function's key.
      assert.equal((await fetch(`${peers[0]!.url}/v1/kv/hits/race`)).status, 404);
    });

    await t.step("a key with a TTL expires", async () => {
      const res = await fetch(`${peers[0]!.url}/v1/kv/ephemeral?ttl=1`, {
        method: "PUT",
        body: "soon gone",
      });
      assert.equal(res.status, 200);
      await res.body?.cancel();
      assert.equal((await fetch(`${peers[1]!.url}/v1/kv/ephemeral`)).status, 200);
      await waitFor(
        "the key to expire",
        async () => (await fetch(`${peers[2]!.url}/v1/kv/ephemeral`)).status === 404,
        5_000,
      );
    });

    await t.step("VIRGO's memory API: malloc, set, get, free", async () => {
      const alloc = await fetch(`${peers[0]!.url}/v1/mem`, {
        method: "POST",
        body: JSON.stringify({ size: 16 }),
      });
      assert.equal(alloc.status, 201);
      const { addr } = await alloc.json();
      const set = await fetch(`${peers[1]!.url}/v1/mem/${encodeURIComponent(addr)}?offset=2`, {
        method: "PUT",
        body: "abc",
      });
      assert.equal(set.status, 200);
      await set.body?.cancel();
      const got = new Uint8Array(
        await (await fetch(`${peers[2]!.url}/v1/mem/${encodeURIComponent(addr)}`)).arrayBuffer(),
      );
      assert.equal(got.byteLength, 16);
      assert.deepEqual([...got.slice(0, 6)], [0, 0, 97, 98, 99, 0]);
      const past = await fetch(`${peers[0]!.url}/v1/mem/${encodeURIComponent(addr)}?offset=14`, {
        method: "PUT",
        body: "xyz",
      });
      assert.equal(past.status, 413);
      await past.body?.cancel();
      const freed = await fetch(`${peers[0]!.url}/v1/mem/${encodeURIComponent(addr)}`, {
        method: "DELETE",
      });
      assert.equal(freed.status, 200);
      await freed.body?.cancel();
      const after = await fetch(`${peers[0]!.url}/v1/mem/${encodeURIComponent(addr)}`);
      assert.equal(after.status, 404);
      await after.body?.cancel();
    });

    await t.step("an eventual read is served by the peer's own replica", async () => {
      const res = await put(peers[0]!.url, "near", "by");
      const version = res.headers.get("x-virgo-version");
      await res.body?.cancel();
      for (const p of peers) {
        // A peer reads a key strongly once, unless it acknowledged a write of it, since it started.
        await (await fetch(`${p.url}/v1/kv/near`)).body?.cancel();
        const before = await quorumReads(p.url);
        for (let i = 0; i < 5; i++) {
          const got = await fetch(`${p.url}/v1/kv/near?consistency=eventual`);
          assert.equal(got.status, 200);
          assert.equal(got.headers.get("x-virgo-version"), version);
          assert.equal(await got.text(), "by");
        }
        assert.equal(await quorumReads(p.url), before, "no quorum read");
      }
      const strong = await fetch(`${peers[1]!.url}/v1/kv/near?consistency=strong`);
      assert.equal(await strong.text(), "by");
      const peer = ["--peer", peers[2]!.url];
      for (const mode of ["eventual", "strong"]) {
        const got = await cli(["kv", "get", "near", "--consistency", mode, ...peer]);
        assert.equal(got.stdout, "by", got.stderr);
      }
      const bad = await cli(["kv", "get", "near", "--consistency", "sometimes", ...peer]);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /strong or eventual/);
    });

    await t.step("env.KV.get takes a consistency", async () => {
      const code = `export default { async fetch(req, env) {
        const mode = new URL(req.url).searchParams.get("mode") ?? undefined;
        await env.KV.set("k", "v1");
        try {
          const plain = await env.KV.get("k", { consistency: mode, type: "text" });
          const text = await env.KV.getText("k", { consistency: mode });
          const json = await env.KV.getJSON("missing", { consistency: mode });
          return Response.json({ plain, text, json });
        } catch (err) {
          return Response.json({ error: String(err) }, { status: 400 });
        }
      } };`;
      const res = await deploySource(peers[0]!, "kvmode", code);
      assert.equal(res.status, 201, await res.text());
      await waitFor(
        "kvmode on peer 3",
        async () =>
          (await fetch(`${peers[2]!.url}/v1/functions/kvmode`, { method: "GET" })).status === 200,
      );
      for (const mode of ["eventual", "strong"]) {
        const got = await fetch(`${peers[2]!.url}/fn/kvmode?mode=${mode}`, {
          headers: { "x-virgo-route": "local" },
        });
        assert.deepEqual(await got.json(), { plain: "v1", text: "v1", json: null });
      }
      const bad = await fetch(`${peers[2]!.url}/fn/kvmode?mode=often`);
      assert.equal(bad.status, 400);
      assert.match((await bad.json()).error, /consistency must be "strong" or "eventual"/);
    });

    await t.step("every bad input gets a clear error", async () => {
      const check = async (res: Response, status: number, code: string) => {
        const body = await res.json();
        assert.equal(res.status, status, JSON.stringify(body));
        assert.equal(body.error.code, code);
      };
      const url = peers[0]!.url;
      await check(await put(url, "k".repeat(1025), "x"), 413, "KEY_TOO_LARGE");
      await check(await put(url, "big", new Uint8Array(1024 * 1024 + 1)), 413, "VALUE_TOO_LARGE");
      await check(await put(url, "bad\u0001key", "x"), 400, "INVALID_KEY");
      await check(
        await fetch(`${url}/v1/kv/x?ttl=-5`, { method: "PUT", body: "x" }),
        400,
        "BAD_REQUEST",
      );
      await check(await fetch(`${url}/v1/kv?limit=0`), 400, "BAD_REQUEST");
      await check(
        await put(url, "greeting", "x", { "if-match": "not-a-version" }),
        412,
        "PRECONDITION_FAILED",
      );
      await check(await fetch(`${url}/v1/kv/never-set`), 404, "NOT_FOUND");
      await check(await fetch(`${url}/v1/kv/greeting?consistency=often`), 400, "BAD_REQUEST");
      const api = await (await fetch(`${url}/v1/openapi.json`)).json();
      const read = Object.entries(api.paths).find(([path]) => path.startsWith("/v1/kv/{"))!;
      const param = (read[1] as { get: { parameters: Array<{ name: string; schema: unknown }> } })
        .get.parameters.find((p) => p.name === "consistency");
      assert.deepEqual((param?.schema as { enum?: string[] })?.enum, ["strong", "eventual"]);
      await check(
        await fetch(`${url}/v1/kv/never-set?consistency=eventual`),
        404,
        "NOT_FOUND",
      );
      await check(
        await fetch(`${url}/v1/mem`, { method: "POST", body: JSON.stringify({ size: -1 }) }),
        400,
        "BAD_REQUEST",
      );
      await check(await fetch(`${url}/v1/mem`, { method: "POST", body: "{" }), 400, "BAD_REQUEST");
      await check(await fetch(`${url}/v1/mem/not-an-address`), 400, "INVALID_ADDRESS");
      await check(
        await fetch(`${url}/v1/mem`, {
          method: "POST",
          body: JSON.stringify({ size: 2 * 1024 * 1024 }),
        }),
        413,
        "VALUE_TOO_LARGE",
      );
      // Each of the three peers offers 1 MiB: three blocks of 1 MiB fill the pool.
      const mib = JSON.stringify({ size: 1024 * 1024 });
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${peers[i]!.url}/v1/mem`, { method: "POST", body: mib });
        assert.equal(res.status, 201, await res.text());
      }
      await check(await fetch(`${url}/v1/mem`, { method: "POST", body: mib }), 507, "POOL_FULL");
    });
  } finally {
    await stopAll(peers);
  }
});

Deno.test("a SIGKILLed peer loses no acknowledged write", opts, async () => {
  const peers = await startMesh(3, { args: ["--pool-mb", "16"] });
  try {
    const acked: string[] = [];
    let stop = false;
    const writers = [0, 1].map(async (w) => {
      for (let i = 0; !stop; i++) {
        const key = `durable/${w}/${i}`;
        try {
          const res = await put(peers[w]!.url, key, `value ${key}`);
          await res.body?.cancel();
          if (res.status === 200) acked.push(key);
        } catch {
          // A failed request is simply not acknowledged.
        }
      }
    });
    await waitFor("some writes", () => acked.length >= 50);
    await peers[2]!.kill();
    const before = acked.length;
    await waitFor("writes after the kill", () => acked.length >= before + 50);
    stop = true;
    await Promise.all(writers);
    const readAll = async (urls: string[]) => {
      const missing: string[] = [];
      for (const [i, key] of acked.entries()) {
        const res = await fetch(`${urls[i % urls.length]}/v1/kv/${key}`);
        const text = await res.text();
        if (res.status !== 200 || text !== `value ${key}`) {
          missing.push(`${key}: ${res.status} ${text.slice(0, 200)}`);
        }
      }
      return missing;
    };
    assert.deepEqual(await readAll([peers[0]!.url, peers[1]!.url]), []);
    const port = Number(/\/tcp\/(\d+)/.exec(peers[2]!.p2p)![1]);
    peers[2] = await startPeer({
      data: peers[2]!.data,
      p2pPort: port,
      join: [peers[0]!.p2p],
      args: ["--pool-mb", "16"],
    });
    // Both ways: the restarted peer reads through a quorum of the members it sees, so until its
    // own view holds the others again it answers 503 QUORUM_FAILED (nothing lost, just not
    // back yet) — and it learns them only after the peer it joined through has learned it.
    await waitFor("the peer to rejoin", async () => {
      for (const p of [peers[0]!, peers[2]!]) {
        const res = await fetch(`${p.url}/v1/peers`);
        if ((await res.json()).peers.length !== 3) return false;
      }
      return true;
    });
    assert.deepEqual(await readAll([peers[2]!.url]), []);
  } finally {
    await stopAll(peers);
  }
});

Deno.test("a fourth peer takes over its share of the keys", opts, async () => {
  const args = ["--replicas", "2"];
  const peers = await startMesh(3, { args });
  const records = async (url: string) =>
    (await (await fetch(`${url}/v1/status`)).json()).pool.records as number;
  try {
    const keys = Array.from({ length: 300 }, (_, i) => `share/${i}`);
    for (const [i, key] of keys.entries()) {
      const res = await put(peers[i % 3]!.url, key, `v${i}`);
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
    const fourth = await startPeer({ join: [peers[0]!.p2p], args });
    peers.push(fourth);
    // With 2 replicas over 4 peers, the newcomer owns about half of the keys (150 ± 9).
    await waitFor(
      "the newcomer to take over its share",
      async () => (await records(fourth.url)) >= 110,
      30_000,
    );
    // Old owners drop what they handed over: two copies of each key, no more.
    await waitFor("old owners to drop handed-over keys", async () => {
      const counts = await Promise.all(peers.map((p) => records(p.url)));
      return counts.reduce((a, b) => a + b, 0) === 600;
    }, 30_000);
    for (const [i, key] of keys.entries()) {
      const res = await fetch(`${fourth.url}/v1/kv/${key}`);
      assert.equal(await res.text(), `v${i}`);
    }
  } finally {
    await stopAll(peers);
  }
});

/** Reads a counter key through `url`: its value and version, or the status when it fails. */
async function readCounter(url: string, key: string) {
  const res = await fetch(`${url}/v1/kv/${key}`);
  const text = await res.text();
  return { status: res.status, value: text, version: res.headers.get("x-virgo-version") ?? "" };
}

/** One compare-and-set increment through `url`; the status it got. */
async function increment(url: string, key: string, from: { value: string; version: string }) {
  const res = await put(url, key, String(Number(from.value) + 1), { "if-match": from.version });
  await res.body?.cancel();
  return res.status;
}

Deno.test(
  "a peer left alone acknowledges nothing, and nothing acknowledged is lost",
  opts,
  async () => {
    const peers = await startMesh(3);
    try {
      const [a, b, c] = peers as [PeerProcess, PeerProcess, PeerProcess];
      assert.equal((await put(a.url, "ctr", "0")).status, 200);
      const before = await readCounter(a.url, "ctr");
      await b.kill();
      await c.kill();
      await waitFor("a to see itself alone", async () => {
        const res = await fetch(`${a.url}/v1/peers`);
        return (await res.json()).peers.length === 1;
      });
      // Before the fix, ten compare-and-set increments here answered 200 and were later lost.
      for (let i = 0; i < 10; i++) {
        const res = await put(a.url, "ctr", String(i + 1), { "if-match": before.version });
        assert.equal(res.status, 503);
        assert.equal((await res.json()).error.code, "QUORUM_FAILED");
      }
      assert.equal((await readCounter(a.url, "ctr")).status, 503);
      const list = await (await fetch(`${a.url}/v1/peers`)).json();
      assert.equal(list.members.filter((m: { up: boolean }) => !m.up).length, 2);
      // b and c come back; increments through them count, and everyone agrees.
      for (const i of [1, 2]) {
        const old = peers[i]!;
        peers[i] = await startPeer({
          data: old.data,
          p2pPort: Number(/\/tcp\/(\d+)/.exec(old.p2p)![1]),
          join: [a.p2p],
        });
      }
      await waitFor("a quorum again", async () => (await readCounter(a.url, "ctr")).status === 200);
      for (let i = 0; i < 5; i++) {
        const cur = await readCounter(peers[i % 3]!.url, "ctr");
        assert.equal(await increment(peers[(i + 1) % 3]!.url, "ctr", cur), 200);
      }
      for (const p of peers) assert.equal((await readCounter(p.url, "ctr")).value, "5");
    } finally {
      await stopAll(peers);
    }
  },
);

Deno.test("a paused peer resumes without serving or accepting stale state", opts, async () => {
  const peers = await startMesh(3);
  const [a, b] = peers as [PeerProcess, PeerProcess];
  let paused = false;
  try {
    assert.equal((await put(b.url, "ctr", "0")).status, 200);
    const stale = await readCounter(a.url, "ctr");
    Deno.kill(a.pid, "SIGSTOP");
    paused = true;
    await waitFor("b to see a gone", async () => {
      const res = await fetch(`${b.url}/v1/peers`);
      return !(await res.json()).peers.some((p: { peerId: string }) => p.peerId === a.peerId);
    }, 30_000);
    for (let i = 0; i < 20; i++) {
      const cur = await readCounter(b.url, "ctr");
      assert.equal(await increment(b.url, "ctr", cur), 200);
    }
    Deno.kill(a.pid, "SIGCONT");
    paused = false;
    // At once after the resume: a stale read or a CAS against the old version must not succeed.
    const results = await Promise.all([
      increment(a.url, "ctr", stale),
      readCounter(a.url, "ctr"),
      increment(a.url, "ctr", stale),
    ]);
    assert.ok(results[0] === 412 || results[0] === 503, `stale CAS answered ${results[0]}`);
    assert.ok(results[2] === 412 || results[2] === 503, `stale CAS answered ${results[2]}`);
    const read = results[1] as { status: number; value: string };
    assert.ok(read.status === 503 || read.value === "20", `read ${read.status} ${read.value}`);
    await waitFor("a to serve again", async () => (await readCounter(a.url, "ctr")).status === 200);
    for (const p of peers) assert.equal((await readCounter(p.url, "ctr")).value, "20");
  } finally {
    if (paused) Deno.kill(a.pid, "SIGCONT");
    await stopAll(peers);
  }
});

Deno.test(
  "an eventual read never goes behind a write the peer acknowledged, even from a replica that missed it",
  opts,
  async () => {
    const peers = await startMesh(3);
    const snapshot = await Deno.makeTempDir({ prefix: "virgo-kv-snapshot-" });
    const restart = async (i: number) => {
      const port = Number(/\/tcp\/(\d+)/.exec(peers[i]!.p2p)![1]);
      peers[i] = await startPeer({ data: peers[i]!.data, p2pPort: port, join: [peers[0]!.p2p] });
      // Both ways: a peer that does not see the third yet writes to two replicas and keeps a hint
      // for it in its own database — which the test then overwrites with the old copy, leaving
      // "new" on one replica alone, where no quorum is sure to meet it.
      await waitFor("the peer to rejoin", async () => {
        for (const p of [peers[0]!, peers[i]!]) {
          const res = await fetch(`${p.url}/v1/peers`);
          if ((await res.json()).peers.length !== 3) return false;
        }
        return true;
      });
    };
    const copy = async (from: string, to: string) => {
      await Deno.remove(to, { recursive: true }).catch(() => {});
      const r = await new Deno.Command("cp", { args: ["-a", from, to] }).output();
      assert.ok(r.success, new TextDecoder().decode(r.stderr));
    };
    try {
      const c = peers[2]!;
      (await put(peers[0]!.url, "ryw", "old")).body?.cancel();
      // A copy of the third peer's replica holding "old".
      await c.stop();
      await copy(c.data, `${snapshot}/data`);
      await restart(2);
      const res = await put(peers[2]!.url, "ryw", "new");
      assert.equal(res.status, 200);
      const version = res.headers.get("x-virgo-version");
      await res.body?.cancel();
      // The peer that acknowledged "new" comes back with a replica that never had it.
      await peers[2]!.stop();
      await copy(`${snapshot}/data`, peers[2]!.data);
      await restart(2);
      const before = await quorumReads(peers[2]!.url);
      const got = await fetch(`${peers[2]!.url}/v1/kv/ryw?consistency=eventual`);
      assert.equal(await got.text(), "new");
      assert.equal(got.headers.get("x-virgo-version"), version);
      assert.ok(await quorumReads(peers[2]!.url) > before, "the stale replica was passed over");
    } finally {
      await stopAll(peers);
      await Deno.remove(snapshot, { recursive: true }).catch(() => {});
    }
  },
);
