/**
 * Two hosts for real: each peer in its own network namespace, joined over a
 * veth link, with a token and a swarm key as a multi-host mesh would run.
 * Skips where network namespaces are unavailable (not root, no `ip`).
 */
import assert from "node:assert/strict";
import { cli, type PeerProcess, startPeer, stopAll } from "./_harness.ts";
import { ip, removeLeftovers } from "./_netns.ts";

// Named after this process, so two runs of the suite on one machine neither share nor remove
// each other's namespaces.
const NS = [`virgo-t1-${Deno.pid}`, `virgo-t2-${Deno.pid}`];
const ADDR = ["10.77.91.1", "10.77.91.2"];

async function setUp(): Promise<boolean> {
  if (!(await ip("netns", "add", NS[0]!))) return false;
  const ok = await ip("netns", "add", NS[1]!) &&
    await ip(
      "link",
      "add",
      "vgo-t1",
      "netns",
      NS[0]!,
      "type",
      "veth",
      "peer",
      "name",
      "vgo-t2",
      "netns",
      NS[1]!,
    );
  if (!ok) return false;
  for (const [i, ns] of NS.entries()) {
    const dev = `vgo-t${i + 1}`;
    if (
      !(await ip("-n", ns, "addr", "add", `${ADDR[i]}/24`, "dev", dev) &&
        await ip("-n", ns, "link", "set", dev, "up") &&
        await ip("-n", ns, "link", "set", "lo", "up"))
    ) return false;
  }
  return true;
}

async function tearDown(): Promise<void> {
  for (const ns of NS) await ip("netns", "del", ns);
}

await removeLeftovers(/^virgo-t[12]-(\d+)$/);
const available = await setUp().catch(() => false);
await tearDown();

Deno.test({
  name: "two peers in separate network namespaces form a private mesh and route calls",
  ignore: !available,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    assert.ok(await setUp(), "network namespaces could not be set up");
    const dir = await Deno.makeTempDir({ prefix: "virgo-netns-" });
    const init = await cli(["init", "--out", `${dir}/keys`]);
    assert.equal(init.code, 0, init.stderr);
    const token = (await Deno.readTextFile(`${dir}/keys/token`)).trim();
    const peers: PeerProcess[] = [];
    try {
      const common = ["--swarm-key", `${dir}/keys/swarm.key`, "--token", token];
      // a signs deploys; b holds only the operator's public key and checks them.
      const a = await startPeer({
        netns: NS[0]!,
        host: ADDR[0]!,
        args: [...common, "--operator-key", `${dir}/keys/operator.key`],
      });
      peers.push(a);
      const b = await startPeer({
        netns: NS[1]!,
        host: ADDR[1]!,
        join: [a.p2p],
        args: [...common, "--operator", `${dir}/keys/operator.pub`],
      });
      peers.push(b);
      assert.match(a.url, /^http:\/\/10\.77\.91\.1:/);
      const asB = (args: string[]) => cli([...args, "--peer", b.url, "--token", token], {}, NS[1]);
      // b sees a across the link.
      let view: { peers: Array<{ peerId: string }> } = { peers: [] };
      const deadline = Date.now() + 15_000;
      while (view.peers.length < 2 && Date.now() < deadline) {
        const r = await asB(["peers", "--json"]);
        if (r.code === 0) view = JSON.parse(r.stdout);
      }
      assert.deepEqual(view.peers.map((p) => p.peerId).sort(), [a.peerId, b.peerId].sort());
      // Deploy on a (from a's namespace), run it on a through b.
      const root = new URL("../", import.meta.url).pathname;
      const dep = await cli(
        ["deploy", `${root}functions/hello.ts`, "--peer", a.url, "--token", token],
        {},
        NS[0],
      );
      assert.equal(dep.code, 0, dep.stderr);
      let out = "";
      while (!out.startsWith("hello") && Date.now() < deadline + 15_000) {
        out = (await asB(["invoke", "hello", "/?name=netns", "-H", `x-virgo-route: ${a.peerId}`]))
          .stdout;
      }
      assert.equal(out, `hello netns from ${a.peerId}\n`);
      // Without the token, b refuses mutations.
      const denied = await cli(["kv", "set", "k", "v", "--peer", b.url], {}, NS[1]);
      assert.equal(denied.code, 4);
      assert.match(denied.stderr, /UNAUTHORIZED/);
    } finally {
      await stopAll(peers);
      await tearDown();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
