/**
 * The CLI as a user installs it: `npm pack` of a copy of this checkout (which builds dist/cli/
 * at prepack), `npm install -g --prefix <tmp>` of the tarball, then the installed `virgo` run
 * from a folder outside the checkout — version, help, a real peer started by it (so its
 * sandboxes run the bundled child on the package's own Deno), client commands with `--json`,
 * exit codes, `invoke -i` on a 404, one config file for peer and client, and the start-up
 * errors that name a locked data folder or a taken address.
 *
 * The install resolves the package's dependencies from npm's cache (`--prefer-offline`: after
 * `npm ci` every one is there); a machine that can reach neither skips with a message.
 * @module
 */
import assert from "node:assert/strict";
import { freePort, startPeer, stopAll } from "./_harness.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const PKG = JSON.parse(await Deno.readTextFile(`${ROOT}package.json`)) as { version: string };
const dec = new TextDecoder();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<Run> {
  const out = await new Deno.Command(cmd, {
    args,
    stdin: "null",
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    env: { NO_COLOR: "1", ...opts.env },
  }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A copy of the checkout's files (tracked and new, not ignored) with its node_modules linked. */
async function copyCheckout(to: string): Promise<void> {
  const ls = await run("git", ["ls-files", "-co", "--exclude-standard"], { cwd: ROOT });
  assert.equal(ls.code, 0, ls.stderr);
  for (const file of ls.stdout.split("\n")) {
    if (!file || file === "node_modules" || file.startsWith("dist/")) continue;
    const stat = await Deno.lstat(`${ROOT}${file}`).catch(() => undefined);
    if (!stat?.isFile) continue; // deleted in the work tree, or a link
    const dir = `${to}/${file}`.replace(/\/[^/]+$/, "");
    await Deno.mkdir(dir, { recursive: true });
    await Deno.copyFile(`${ROOT}${file}`, `${to}/${file}`);
  }
  await Deno.symlink(`${ROOT}node_modules`, `${to}/node_modules`);
}

Deno.test({
  name: "cli: npm pack, npm install -g, and the installed virgo from any folder",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "virgo-install-" });
    const peers: Awaited<ReturnType<typeof startPeer>>[] = [];
    try {
      const src = `${tmp}/src`;
      await copyCheckout(src);
      const pack = await run("npm", ["pack", "--pack-destination", tmp, "--no-fund"], {
        cwd: src,
      });
      assert.equal(pack.code, 0, pack.stderr);
      const tgz = `${tmp}/virgo-${PKG.version}.tgz`;
      const list = await run("tar", ["tzf", tgz]);
      assert.match(list.stdout, /package\/dist\/cli\/virgo\.js/);
      assert.match(list.stdout, /package\/dist\/cli\/_child\.js/);
      assert.match(list.stdout, /package\/LICENSE/);
      assert.doesNotMatch(list.stdout, /package\/runtime\//, "no TypeScript source is shipped");

      const prefix = `${tmp}/prefix`;
      const install = await run("npm", [
        "install",
        "-g",
        "--prefix",
        prefix,
        tgz,
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
      ]);
      if (install.code !== 0 && /ENOTCACHED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT/.test(install.stderr)) {
        console.warn(
          `SKIPPED: npm could not fetch the package's dependencies:\n${install.stderr}`,
        );
        return;
      }
      assert.equal(install.code, 0, install.stderr);
      const virgo = `${prefix}/bin/virgo`;
      // Outside the checkout: nothing here can resolve against it.
      const work = `${tmp}/work`;
      await Deno.mkdir(work);
      const cli = (args: string[], env: Record<string, string> = {}, cwd = work) =>
        run(virgo, args, { cwd, env });

      await t.step("--version, --help and usage errors", async () => {
        const v = await cli(["--version"]);
        assert.equal(v.code, 0, v.stderr);
        assert.equal(v.stdout.trim(), PKG.version);
        const h = await cli(["--help"]);
        assert.equal(h.code, 0, h.stderr);
        assert.match(h.stdout, /Usage: virgo/);
        assert.match(h.stdout, /Exit codes: 0 ok/);
        const bad = await cli(["frobnicate"]);
        assert.equal(bad.code, 2, bad.stderr);
        const badOpt = await cli(["kv", "get", "k", "--nope"]);
        assert.equal(badOpt.code, 2, badOpt.stderr);
        const down = await cli(["kv", "get", "k", "--peer", `http://127.0.0.1:${freePort()}`]);
        assert.equal(down.code, 6, down.stderr);
        assert.match(down.stderr, /^error PEER_UNREACHABLE: Cannot reach http:\/\/127\.0\.0\.1:/);
      });

      // A peer started by the installed virgo, in a folder outside the checkout, configured by
      // one virgo.json that also serves the client commands run there.
      const token = "install-test-token";
      const httpPort = freePort();
      await Deno.writeTextFile(
        `${work}/virgo.json`,
        JSON.stringify({ peer: `http://127.0.0.1:${httpPort}`, token, poolMb: 48 }),
      );
      const peer = await startPeer({ bin: virgo, cwd: work, httpPort, args: ["--with-examples"] });
      peers.push(peer);

      await t.step("one config file: the peer's keys and the client's", async () => {
        // The peer took the token and the pool size from the file…
        assert.equal((await fetch(`${peer.url}/v1/peers`)).status, 401);
        // …and the client, in the same folder and with no flag, its peer and token.
        const view = await cli(["peers", "--json"]);
        assert.equal(view.code, 0, view.stderr);
        const self = (JSON.parse(view.stdout) as { peers: Array<Record<string, unknown>> })
          .peers.find((p) => p.self);
        assert.equal(self?.poolFreeBytes, 48 * 1024 * 1024);
        // From elsewhere: --config, or VIRGO_CONFIG.
        const viaFlag = await cli(["--config", `${work}/virgo.json`, "functions", "ls"], {}, tmp);
        assert.equal(viaFlag.code, 0, viaFlag.stderr);
        assert.match(viaFlag.stdout, /^hello\t/m);
        const viaEnv = await cli(["functions", "ls"], { VIRGO_CONFIG: `${work}/virgo.json` }, tmp);
        assert.equal(viaEnv.code, 0, viaEnv.stderr);
        const noToken = await cli(["functions", "ls", "--peer", peer.url], {}, tmp);
        assert.equal(noToken.code, 4, noToken.stderr);
        await Deno.writeTextFile(`${tmp}/bad.json`, JSON.stringify({ colour: "blue" }));
        const bad = await cli(["--config", `${tmp}/bad.json`, "functions", "ls"], {}, tmp);
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /bad\.json: unknown key colour/);
      });

      await t.step("client commands: deploy, invoke, kv, --json on listings", async () => {
        await Deno.writeTextFile(
          `${work}/nf.ts`,
          'export default { fetch: () => new Response("nope", { status: 404 }) };\n',
        );
        const d = await cli(["deploy", "nf.ts"]);
        assert.equal(d.code, 0, d.stderr);
        assert.equal(JSON.parse(d.stdout).name, "nf");
        const hello = await cli(["invoke", "hello", "/?name=ada"]);
        assert.equal(hello.code, 0, hello.stderr);
        assert.match(hello.stdout, /^hello ada from /);
        assert.equal((await cli(["kv", "set", "greeting", "hi"])).code, 0);
        const got = await cli(["kv", "get", "greeting"]);
        assert.equal(got.stdout, "hi");
        const missing = await cli(["kv", "get", "nothing-here"]);
        assert.equal(missing.code, 3);
        assert.match(missing.stderr, /^error NOT_FOUND/);
        for (
          const args of [
            ["functions", "ls", "--json"],
            ["versions", "hello", "--json"],
            ["kv", "ls", "--json"],
            ["secret", "ls", "hello", "--json"],
            ["peers", "--json"],
          ]
        ) {
          const r = await cli(args);
          assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
          assert.equal(typeof JSON.parse(r.stdout), "object", args.join(" "));
        }
        const fns = JSON.parse((await cli(["functions", "ls", "--json"])).stdout);
        assert.ok(fns.functions.some((f: { name: string }) => f.name === "nf"));
        assert.deepEqual(JSON.parse((await cli(["kv", "ls", "--json"])).stdout).keys, [
          "greeting",
        ]);
      });

      await t.step("invoke -i shows status, headers and request id, also on a 404", async () => {
        const r = await cli(["invoke", "nf", "-i"]);
        assert.equal(r.code, 3, r.stderr);
        assert.match(r.stdout, /^HTTP 404 Not Found\n/);
        assert.match(r.stdout, /^x-virgo-request-id: \S+$/m);
        assert.match(r.stdout, /^x-virgo-peer: \S+$/m);
        assert.match(r.stdout, /\n\nnope$/);
        const none = await cli(["invoke", "no-such-fn", "-i"]);
        assert.equal(none.code, 3);
        assert.match(none.stdout, /^HTTP 404/);
        assert.match(none.stdout, /FUNCTION_NOT_FOUND/);
        assert.match(none.stdout, /^x-virgo-request-id: \S+$/m);
      });

      await t.step(
        "start-up errors name the locked data folder and the taken address",
        async () => {
          const p2pPort = Number(/\/tcp\/(\d+)/.exec(peer.p2p)?.[1]);
          const other = `${tmp}/other`;
          const start = (args: string[]) =>
            cli(["start", "--spares", "0", ...args], { VIRGO_CONFIG: `${tmp}/empty.json` }, tmp);
          await Deno.writeTextFile(`${tmp}/empty.json`, "{}");
          const locked = await start([
            "--data",
            peer.data,
            "--http",
            "127.0.0.1:0",
            "--p2p",
            "/ip4/127.0.0.1/tcp/0",
          ]);
          assert.equal(locked.code, 1);
          assert.match(
            locked.stderr,
            new RegExp(`Data folder ${peer.data} is in use by another peer`),
          );
          const http = await start([
            "--data",
            other,
            "--http",
            `127.0.0.1:${httpPort}`,
            "--p2p",
            "/ip4/127.0.0.1/tcp/0",
          ]);
          assert.equal(http.code, 1);
          assert.match(
            http.stderr,
            new RegExp(`HTTP address 127\\.0\\.0\\.1:${httpPort} is already in use`),
          );
          const p2p = await start([
            "--data",
            `${other}2`,
            "--http",
            "127.0.0.1:0",
            "--p2p",
            `/ip4/127.0.0.1/tcp/${p2pPort}`,
          ]);
          assert.equal(p2p.code, 1);
          assert.match(
            p2p.stderr,
            new RegExp(`libp2p address /ip4/127\\.0\\.0\\.1/tcp/${p2pPort} is already in use`),
          );
        },
      );
    } finally {
      await stopAll(peers);
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});
