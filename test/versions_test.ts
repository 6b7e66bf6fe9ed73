/**
 * Versions and rollback on real peer processes: a rollback on a three-peer mesh while every peer
 * takes calls fails none of them and ends with the rolled-back version everywhere; `virgo
 * versions` and `virgo rollback` through the CLI, with `--keep-versions` bounding the history.
 */
import assert from "node:assert/strict";
import {
  cli,
  deploySource,
  type PeerProcess,
  startMesh,
  startPeer,
  stopAll,
  waitFor,
} from "./_harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** A function that answers its own name, so every response says which version ran it. */
const source = (tag: string) =>
  `export default { async fetch() { await new Promise((r) => setTimeout(r, 2)); return new Response("${tag}"); } }`;

async function deployed(peer: PeerProcess, name: string, tag: string): Promise<string> {
  const res = await deploySource(peer, name, source(tag));
  const body = await res.json();
  assert.equal(res.status, 201, JSON.stringify(body));
  return body.version;
}

/** The version `peer`'s catalogue holds as current for `name`. */
async function currentOn(peer: PeerProcess, name: string): Promise<string | undefined> {
  const res = await fetch(`${peer.url}/v1/functions/${name}`);
  const body = await res.json();
  return res.ok ? body.version : undefined;
}

/** What `peer` itself runs for `name` (the call pinned to it). */
async function runsOn(peer: PeerProcess, name: string): Promise<string> {
  const res = await fetch(`${peer.url}/fn/${name}`, { headers: { "x-virgo-route": "local" } });
  return `${res.status} ${await res.text()}`;
}

Deno.test(
  "a rollback on a 3-peer mesh under load fails no call and converges on the older version",
  opts,
  async () => {
    const peers = await startMesh(3);
    const [a, b] = peers as [PeerProcess, PeerProcess, PeerProcess];
    try {
      const v1 = await deployed(a, "ver", "one");
      const v2 = await deployed(a, "ver", "two");
      await waitFor(
        "every peer to run the second version",
        async () => {
          for (const p of peers) {
            if (await currentOn(p, "ver") !== v2 || await runsOn(p, "ver") !== "200 two") {
              return false;
            }
          }
          return true;
        },
        30_000,
      );

      // Calls at every peer, routed as each peer chooses, from before the rollback until after
      // every peer has taken it.
      let stop = false;
      const bodies = new Map<string, number>();
      const failures: string[] = [];
      const workers = peers.flatMap((p) =>
        Array.from({ length: 3 }, async () => {
          while (!stop) {
            try {
              const res = await fetch(`${p.url}/fn/ver`);
              const text = await res.text();
              if (res.status !== 200) failures.push(`${p.peerId}: ${res.status} ${text}`);
              else bodies.set(text, (bodies.get(text) ?? 0) + 1);
            } catch (err) {
              failures.push(`${p.peerId}: ${err}`);
            }
          }
        })
      );
      await waitFor("calls to run on the second version", () => (bodies.get("two") ?? 0) >= 30);

      // On another peer than the one that deployed: the rollback is one signed entry, whatever
      // peer makes it.
      const res = await fetch(`${b.url}/v1/functions/ver/rollback`, { method: "POST" });
      const rolled = await res.json();
      assert.equal(res.status, 200, JSON.stringify(rolled));
      assert.deepEqual([rolled.version, rolled.from], [v1, v2]);

      await waitFor(
        "every peer to hold and run the first version",
        async () => {
          for (const p of peers) {
            if (await currentOn(p, "ver") !== v1 || await runsOn(p, "ver") !== "200 one") {
              return false;
            }
          }
          return true;
        },
        30_000,
      );
      const before = bodies.get("one") ?? 0;
      await waitFor(
        "calls to run on the first version",
        () => (bodies.get("one") ?? 0) >= before + 30,
      );
      stop = true;
      await Promise.all(workers);

      assert.deepEqual(failures, []);
      assert.deepEqual([...bodies.keys()].sort(), ["one", "two"]);
      // Converged: whatever peer takes a call and wherever it sends it, the first version runs.
      for (const p of peers) {
        for (let i = 0; i < 20; i++) {
          const r = await fetch(`${p.url}/fn/ver`);
          assert.equal(`${r.status} ${await r.text()}`, "200 one", p.peerId);
        }
      }
      // Every peer lists the same history, the rolled-back version marked current.
      for (const p of peers) {
        const list = await (await fetch(`${p.url}/v1/functions/ver/versions`)).json();
        assert.deepEqual(
          list.versions.map((v: { version: string; current: boolean }) => [v.version, v.current]),
          [[v2, false], [v1, true]],
          p.peerId,
        );
      }
    } finally {
      await stopAll(peers);
    }
  },
);

Deno.test("virgo versions and virgo rollback through the CLI", opts, async (t) => {
  const peer = await startPeer({ args: ["--keep-versions", "3"] });
  const run = (...args: string[]) => cli([...args, "--peer", peer.url]);
  try {
    const [, v2, v3, v4] = [
      await deployed(peer, "ver", "one"),
      await deployed(peer, "ver", "two"),
      await deployed(peer, "ver", "three"),
      await deployed(peer, "ver", "four"),
    ];

    await t.step("versions lists the kept ones newest first, the current one starred", async () => {
      const r = await run("versions", "ver");
      assert.equal(r.code, 0, r.stderr);
      const rows = r.stdout.trim().split("\n").map((l) => l.split("\t")[0]);
      // --keep-versions 3: the first deploy is no longer kept.
      assert.deepEqual(rows, [`* ${v4}`, `  ${v3}`, `  ${v2}`]);
    });

    await t.step("rollback goes to the one before the current, then to a chosen one", async () => {
      const back = await run("rollback", "ver");
      assert.equal(back.code, 0, back.stderr);
      assert.deepEqual(
        [JSON.parse(back.stdout).version, JSON.parse(back.stdout).from],
        [v3, v4],
      );
      assert.equal(await runsOn(peer, "ver"), "200 three");
      // A prefix names a version, as in git.
      const chosen = await run("rollback", "ver", v2!.slice(0, 6));
      assert.equal(chosen.code, 0, chosen.stderr);
      assert.equal(JSON.parse(chosen.stdout).version, v2);
      assert.equal(await runsOn(peer, "ver"), "200 two");
      const list = await run("versions", "ver", "--json");
      assert.equal(list.code, 0, list.stderr);
      const body = JSON.parse(list.stdout);
      assert.equal(body.current, v2);
      assert.deepEqual(
        body.versions.map((v: { version: string; current: boolean }) => [v.version, v.current]),
        [[v4, false], [v3, false], [v2, true]],
      );
      // Forward again, to the newest.
      const forward = await run("rollback", "ver", v4!);
      assert.equal(forward.code, 0, forward.stderr);
      assert.equal(await runsOn(peer, "ver"), "200 four");
    });

    await t.step("rollback says why it cannot", async () => {
      assert.equal((await run("rollback", "ver", v2!)).code, 0);
      const none = await run("rollback", "ver");
      assert.equal(none.code, 5);
      assert.match(none.stderr, /^error CONFLICT: ver has no version older than /);
      const unknown = await run("rollback", "ver", "deadbeef");
      assert.equal(unknown.code, 3);
      assert.match(unknown.stderr, /^error NOT_FOUND: ver has no kept version deadbeef/);
      const missing = await run("versions", "nothere");
      assert.equal(missing.code, 3);
      assert.match(missing.stderr, /^error FUNCTION_NOT_FOUND: /);
      assert.equal(await runsOn(peer, "ver"), "200 two");
    });
  } finally {
    await stopAll([peer]);
  }
});
