/**
 * Secrets end to end on a two-peer mesh: set from stdin through the CLI, seen by the function
 * as `env.<NAME>` on every peer, listed by name only, and absent from every response, every
 * log line and the peers' data folders (sealed at rest).
 */
import assert from "node:assert/strict";
import { cli, deploySource, type PeerProcess, startMesh, stopAll, waitFor } from "./_harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const ROOT = new URL("../", import.meta.url).pathname;

/** Runs the CLI with `input` on its stdin. */
async function cliWithStdin(args: string[], input: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", `${ROOT}deno.json`, `${ROOT}runtime/cli/main.ts`, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Every file under `dir`, as bytes. */
async function* files(dir: string): AsyncGenerator<[string, Uint8Array]> {
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) yield* files(path);
    else if (e.isFile) yield [path, await Deno.readFile(path)];
  }
}

/** Whether `hay` contains the bytes of `needle`. */
function containsBytes(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

const FN = `export default {
  async fetch(_req, env) {
    const v = env.API_KEY;
    if (typeof v !== "string") return new Response("missing", { status: 500 });
    const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(v));
    const hex = [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
    return new Response(hex + " " + env.MODE + " " + Object.keys(env.VARS).join(","));
  },
};`;

Deno.test("a secret reaches its function on every peer and nowhere else", opts, async () => {
  const value = `s3cret-${crypto.randomUUID()}`;
  const digest = [
    ...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value))),
  ].map((b) => b.toString(16).padStart(2, "0")).join("");
  let peers: PeerProcess[] = [];
  try {
    peers = await startMesh(2);
    const [a, b] = peers as [PeerProcess, PeerProcess];
    const dep = await deploySource(a, "vault", FN, { vars: { MODE: "prod" } });
    assert.equal(dep.status, 201, await dep.text());

    const set = await cliWithStdin(
      ["secret", "set", "vault", "API_KEY", "--peer", a.url],
      value + "\n",
    );
    assert.equal(set.code, 0, set.stderr);
    assert.ok(!set.stdout.includes(value));

    for (const p of [a, b]) {
      await waitFor(`${p.peerId} to run vault with the secret`, async () => {
        const res = await fetch(`${p.url}/fn/vault`, { headers: { "x-virgo-route": "local" } });
        return (await res.text()) === `${digest} prod MODE`;
      });
    }
    const ls = await cli(["secret", "ls", "vault", "--peer", b.url]);
    assert.equal(ls.stdout.trim(), "API_KEY");
    // A redeploy keeps the secret.
    assert.equal((await deploySource(a, "vault", FN, { vars: { MODE: "test" } })).status, 201);
    await waitFor("the redeploy", async () => {
      const res = await fetch(`${a.url}/fn/vault`, { headers: { "x-virgo-route": "local" } });
      return (await res.text()) === `${digest} test MODE`;
    });

    // No route shows the value.
    const routes = [
      "/",
      "/metrics",
      "/v1/status",
      "/v1/peers",
      "/v1/functions",
      "/v1/functions/vault",
      "/v1/functions/vault/secrets",
      "/v1/kv?prefix=",
      "/fn/vault",
    ];
    for (const p of [a, b]) {
      for (const route of routes) {
        const text = await (await fetch(`${p.url}${route}`)).text();
        assert.ok(!text.includes(value), `${route} shows the secret`);
      }
    }
    const fn = await (await fetch(`${a.url}/v1/functions/vault`)).json();
    assert.deepEqual(fn.secrets, ["API_KEY"]);

    // Removing it makes a version without it.
    const rm = await cli(["secret", "rm", "vault", "API_KEY", "--peer", b.url]);
    assert.equal(rm.code, 0, rm.stderr);
    await waitFor("a to run vault without the secret", async () => {
      const res = await fetch(`${a.url}/fn/vault`, { headers: { "x-virgo-route": "local" } });
      return (await res.text()) === "missing";
    });
    const bad = await cliWithStdin(["secret", "set", "vault", "9BAD", "--peer", a.url], "x");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Invalid secret name/);
    // Stopped, nothing logged it, and nothing stored it in the clear.
    await Promise.all(peers.map((p) => p.stop()));
    const needle = new TextEncoder().encode(value);
    for (const p of peers) {
      assert.ok(!p.logs.some((l) => l.includes(value)), `${p.peerId} logged the secret`);
      for await (const [path, bytes] of files(p.data)) {
        assert.ok(!containsBytes(bytes, needle), `${path} holds the secret in the clear`);
      }
    }
  } finally {
    await stopAll(peers);
  }
});
