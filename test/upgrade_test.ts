/**
 * An upgrade in place: a data folder written by the release before the catalogue moved to
 * kv's clock (test/fixtures/upgrade, made as its README says) is started by this release. Its
 * entries carry that release's stamps and the operator's signatures of them; they must load,
 * serve, pass another peer's signature check as they are, and give way to a new deploy.
 */
import assert from "node:assert/strict";
import { cli, type PeerProcess, startPeer, stopAll, waitFor, waitForFunction } from "./_harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const FIXTURE = new URL("./fixtures/upgrade/", import.meta.url).pathname;
/** What `virgo functions ls` showed for `greet` when the fixture was made. */
const GREET_VERSION = "6fa93f0fa1415484";

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyDir(`${from}/${e.name}`, `${to}/${e.name}`);
    else if (e.isFile && e.name !== ".gitignore") {
      await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
    }
  }
}

async function listed(peer: PeerProcess): Promise<Array<{ name: string; version: string }>> {
  const res = await fetch(`${peer.url}/v1/functions`);
  return (await res.json()).functions;
}

async function call(peer: PeerProcess, name: string): Promise<[number, string]> {
  const res = await fetch(`${peer.url}/fn/${name}`);
  return [res.status, await res.text()];
}

const refused = (p: PeerProcess) =>
  p.logs.filter((l) =>
    /Cannot read this stored catalogue entry|without a valid operator signature/.test(l)
  );

Deno.test(
  "upgrade: a data folder of the release before serves on, and its entries still check",
  opts,
  async () => {
    const data = await Deno.makeTempDir({ prefix: "virgo-upgrade-" });
    const peers: PeerProcess[] = [];
    try {
      await copyDir(`${FIXTURE}data`, data);
      const operator = (await Deno.readTextFile(`${FIXTURE}operator.pub`)).trim();
      // The upgraded peer holds only the operator's public key: nothing could be signed anew.
      const upgraded = await startPeer({ data, spares: 0, args: ["--operator", operator] });
      peers.push(upgraded);

      assert.deepEqual((await listed(upgraded)).map((f) => [f.name, f.version]), [
        ["greet", GREET_VERSION],
      ]);
      // Its bundle, var and sealed secret came through.
      assert.deepEqual(await call(upgraded, "greet"), [200, "hello ada\n"]);
      assert.equal((await call(upgraded, "gone"))[0], 404, "the deleted function stays deleted");

      // A new peer checks the old entries' signatures, as they are, before it takes them; this
      // one may sign, so it also deploys over the old entry.
      const fresh = await startPeer({
        spares: 0,
        join: [upgraded.p2p],
        args: ["--operator-key", `${FIXTURE}operator.key`],
      });
      peers.push(fresh);
      await waitForFunction(peers, "greet");
      assert.deepEqual((await listed(fresh)).map((f) => [f.name, f.version]), [
        ["greet", GREET_VERSION],
      ]);
      assert.deepEqual(await call(fresh, "greet"), [200, "hello ada\n"]);
      assert.equal((await call(fresh, "gone"))[0], 404);
      assert.deepEqual(refused(upgraded), []);
      assert.deepEqual(refused(fresh), []);

      // A deploy stamped by kv's clock supersedes the old stamp on both peers, secret kept.
      const r = await cli([
        "deploy",
        `${FIXTURE}greet.ts`,
        "--name",
        "greet",
        "--var",
        "WHO=bob",
        "--peer",
        fresh.url,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const { version } = JSON.parse(r.stdout) as { version: string };
      assert.notEqual(version, GREET_VERSION);
      for (const p of peers) {
        await waitFor(`greet ${version} on ${p.peerId}`, async () => {
          const [status, body] = await call(p, "greet");
          return status === 200 && body === "hello bob\n";
        });
        assert.deepEqual((await listed(p)).map((f) => [f.name, f.version]), [["greet", version]]);
      }
    } finally {
      await stopAll(peers);
      await Deno.remove(data, { recursive: true }).catch(() => {});
    }
  },
);
