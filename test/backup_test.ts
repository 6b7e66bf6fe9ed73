/**
 * `virgo backup` of a running peer and `virgo restore` into a fresh folder: a peer started on
 * the restored folder is the same peer (identity) with the same keys, values, functions and
 * secrets, and the backed-up peer served calls and writes throughout.
 */
import assert from "node:assert/strict";
import { cli, deploySource, type PeerProcess, startPeer, stopAll, waitFor } from "./_harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const TOKEN = `backup-test-${crypto.randomUUID()}`;
const auth = { authorization: `Bearer ${TOKEN}` };

const VAULT = `export default {
  fetch(_req, env) { return new Response(typeof env.API_KEY === "string" ? env.API_KEY : "missing"); },
};`;
const COUNTER = new URL("../functions/counter.ts", import.meta.url).pathname;

async function kvPut(
  peer: PeerProcess,
  key: string,
  value: Uint8Array<ArrayBuffer> | string,
): Promise<void> {
  const res = await fetch(`${peer.url}/v1/kv/${key}`, {
    method: "PUT",
    headers: auth,
    body: value,
  });
  assert.equal(res.status < 300, true, await res.text());
}

async function kvGet(peer: PeerProcess, key: string): Promise<Uint8Array | undefined> {
  const res = await fetch(`${peer.url}/v1/kv/${key}`, { headers: auth });
  if (res.status === 404) {
    await res.body?.cancel();
    return undefined;
  }
  assert.equal(res.status, 200);
  return new Uint8Array(await res.arrayBuffer());
}

async function call(peer: PeerProcess, path: string): Promise<string> {
  const res = await fetch(`${peer.url}/fn/${path}`, { headers: auth });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return text;
}

async function functionNames(peer: PeerProcess): Promise<string[]> {
  const res = await fetch(`${peer.url}/v1/functions`, { headers: auth });
  const body = await res.json() as { functions: Array<{ name: string }> };
  return body.functions.map((f) => f.name).sort();
}

Deno.test(
  "backup of a running peer, restored into a fresh folder, starts as the same peer",
  opts,
  async () => {
    const work = await Deno.makeTempDir({ prefix: "virgo-backup-test-" });
    const peers: PeerProcess[] = [];
    try {
      const a = await startPeer({ args: ["--token", TOKEN] });
      peers.push(a);
      const secret = `s3cret-${crypto.randomUUID()}`;
      assert.equal((await deploySource(a, "vault", VAULT)).status, 401); // the token guards deploys
      const dep = await fetch(`${a.url}/v1/functions/vault`, {
        method: "PUT",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ code: VAULT }),
      });
      assert.equal(dep.status, 201, await dep.text());
      const set = await fetch(`${a.url}/v1/functions/vault/secrets/API_KEY`, {
        method: "PUT",
        headers: { ...auth, "content-type": "text/plain" },
        body: secret,
      });
      assert.equal(set.status < 300, true, await set.text());
      const deployed = await cli(
        ["deploy", COUNTER, "--name", "counter", "--peer", a.url],
        { VIRGO_TOKEN: TOKEN },
      );
      assert.equal(deployed.code, 0, deployed.stderr);
      await waitFor("vault to see its secret", async () => (await call(a, "vault")) === secret);
      for (let i = 0; i < 3; i++) await call(a, "counter?key=home");

      // Keys, one of them binary and near the largest value.
      const big = new Uint8Array(900 * 1024).map((_, i) => (i * 2654435761) >>> 24);
      const before = new Map<string, Uint8Array<ArrayBuffer>>();
      for (let i = 0; i < 200; i++) before.set(`user/${i}`, new TextEncoder().encode(`value ${i}`));
      before.set("blob", big);
      for (const [k, v] of before) await kvPut(a, k, v);
      await kvPut(a, "gone", "deleted before the backup");
      const del = await fetch(`${a.url}/v1/kv/gone`, { method: "DELETE", headers: auth });
      await del.body?.cancel();

      // The backup runs while the peer takes writes and calls: it is online.
      const out = `${work}/backups`;
      await Deno.mkdir(out);
      let stop = false;
      let during = 0;
      const load = (async () => {
        while (!stop) {
          await kvPut(a, `during/${during}`, "x");
          await call(a, "counter?key=during");
          during++;
        }
      })();
      const backup = await cli(["backup", out, "--peer", a.url], { VIRGO_TOKEN: TOKEN });
      stop = true;
      await load;
      assert.equal(backup.code, 0, backup.stderr);
      const made = JSON.parse(backup.stdout) as { file: string; peerId: string; files: number };
      assert.equal(made.peerId, a.peerId);
      // peer.key, and secret.key: a peer without a swarm key seals secrets with it.
      assert.equal(made.files, 2);
      assert.match(made.file, /\/virgo-12D3KooW[A-Za-z0-9]+-\d{8}T\d{6}Z\.vbak$/);
      assert.ok(during > 0, "the peer took writes while the backup ran");

      // Without the token there is no backup.
      const refused = await cli(["backup", `${work}/x.vbak`, "--peer", a.url]);
      assert.equal(refused.code, 4); // not allowed
      assert.match(refused.stderr, /UNAUTHORIZED/);
      // A backup never overwrites a file.
      const again = await cli(["backup", made.file, "--peer", a.url], { VIRGO_TOKEN: TOKEN });
      assert.equal(again.code, 5); // conflict
      assert.match(again.stderr, /CONFLICT/);

      // Restore refuses a folder that holds anything.
      const busy = `${work}/busy`;
      await Deno.mkdir(busy);
      await Deno.writeTextFile(`${busy}/note`, "x");
      const onBusy = await cli(["restore", out, "--data", busy]);
      assert.equal(onBusy.code, 5); // conflict
      assert.match(onBusy.stderr, /not empty/);

      const data = `${work}/restored`;
      const restored = await cli(["restore", out, "--data", data]);
      assert.equal(restored.code, 0, restored.stderr);
      assert.equal(JSON.parse(restored.stdout).peerId, a.peerId);

      // The original still runs, on its own loopback mesh; the restored one starts beside it alone.
      const b = await startPeer({ data, args: ["--token", TOKEN] });
      peers.push(b);
      assert.equal(b.peerId, a.peerId);
      assert.deepEqual(await functionNames(b), ["counter", "vault"]);
      for (const [k, v] of before) assert.deepEqual(await kvGet(b, k), v, k);
      assert.equal(await kvGet(b, "gone"), undefined);
      assert.equal(await call(b, "vault"), secret);
      assert.deepEqual(JSON.parse(await call(b, "counter?key=home")), { key: "home", count: 4 });
    } finally {
      await stopAll(peers);
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
);
