/**
 * A real network partition: three peers, each in its own network namespace, on a bridge in a
 * fourth; one peer's link is taken down and brought back. The majority side keeps writing; the
 * cut-off peer answers `QUORUM_FAILED` for reads and writes — never its stale value — and after
 * the heal it reads what the majority wrote. Skips where network namespaces are unavailable (not
 * root, no `ip`). Every packet stays inside the namespaces this test creates.
 */
import assert from "node:assert/strict";
import { cli, type PeerProcess, startPeer, stopAll } from "./_harness.ts";
import { ip, removeLeftovers } from "./_netns.ts";

// Named after this process, so two runs of the suite on one machine neither share nor remove
// each other's namespaces.
const BRIDGE_NS = `virgo-pbr-${Deno.pid}`;
const NS = [`virgo-p1-${Deno.pid}`, `virgo-p2-${Deno.pid}`, `virgo-p3-${Deno.pid}`];
const ADDR = ["10.77.92.1", "10.77.92.2", "10.77.92.3"];

async function setUp(): Promise<boolean> {
  if (!(await ip("netns", "add", BRIDGE_NS))) return false;
  if (
    !(await ip("-n", BRIDGE_NS, "link", "add", "br0", "type", "bridge") &&
      await ip("-n", BRIDGE_NS, "link", "set", "br0", "up"))
  ) return false;
  for (const [i, ns] of NS.entries()) {
    const [inside, outside] = [`vp${i + 1}`, `vb${i + 1}`];
    const ok = await ip("netns", "add", ns) &&
      await ip(
        "link",
        "add",
        inside,
        "netns",
        ns,
        "type",
        "veth",
        "peer",
        "name",
        outside,
        "netns",
        BRIDGE_NS,
      ) &&
      await ip("-n", BRIDGE_NS, "link", "set", outside, "master", "br0", "up") &&
      await ip("-n", ns, "addr", "add", `${ADDR[i]}/24`, "dev", inside) &&
      await ip("-n", ns, "link", "set", inside, "up") &&
      await ip("-n", ns, "link", "set", "lo", "up");
    if (!ok) return false;
  }
  return true;
}

async function tearDown(): Promise<void> {
  for (const ns of [...NS, BRIDGE_NS]) await ip("netns", "del", ns);
}

await removeLeftovers(/^virgo-p(?:br|[123])-(\d+)$/);
const available = await setUp().catch(() => false);
await tearDown();

Deno.test({
  name: "a partitioned peer answers QUORUM_FAILED, never a stale value, and catches up on heal",
  ignore: !available,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    assert.ok(await setUp(), "network namespaces could not be set up");
    const dir = await Deno.makeTempDir({ prefix: "virgo-partition-" });
    const peers: PeerProcess[] = [];
    try {
      assert.equal((await cli(["init", "--out", `${dir}/keys`])).code, 0);
      const token = (await Deno.readTextFile(`${dir}/keys/token`)).trim();
      const common = ["--swarm-key", `${dir}/keys/swarm.key`, "--token", token];
      for (const [i, ns] of NS.entries()) {
        const signing = i === 0
          ? ["--operator-key", `${dir}/keys/operator.key`]
          : ["--operator", `${dir}/keys/operator.pub`];
        peers.push(
          await startPeer({
            netns: ns,
            host: ADDR[i]!,
            join: i === 0 ? [] : [peers[0]!.p2p],
            args: [...common, ...signing],
          }),
        );
      }
      /** The CLI inside peer `i`'s namespace, talking to that peer. */
      const on = (i: number, args: string[]) =>
        cli([...args, "--peer", peers[i]!.url, "--token", token], {}, NS[i]);
      const viewSize = async (i: number) => {
        const r = await on(i, ["peers", "--json"]);
        return r.code === 0 ? JSON.parse(r.stdout).peers.length as number : 0;
      };
      const until = async (what: string, check: () => Promise<boolean>) => {
        const end = Date.now() + 30_000;
        while (!(await check())) {
          if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
        }
      };
      await until(
        "a full mesh",
        async () => (await viewSize(0)) === 3 && (await viewSize(2)) === 3,
      );
      assert.equal((await on(0, ["kv", "set", "k", "before"])).code, 0);
      assert.equal((await on(2, ["kv", "get", "k"])).stdout.trim(), "before");

      // Cut the third peer off.
      assert.ok(await ip("-n", BRIDGE_NS, "link", "set", "vb3", "down"));
      await until(
        "both sides to notice",
        async () => (await viewSize(0)) === 2 && (await viewSize(2)) === 1,
      );
      const majority = await on(1, ["kv", "set", "k", "during"]);
      assert.equal(majority.code, 0, majority.stderr);
      for (const args of [["kv", "set", "k", "minority"], ["kv", "get", "k"]]) {
        const r = await on(2, args);
        assert.equal(r.code, 7, `${args.join(" ")} on the cut-off peer: ${r.stdout}`);
        assert.match(r.stderr, /QUORUM_FAILED/);
      }
      assert.equal((await on(0, ["kv", "get", "k"])).stdout.trim(), "during");

      // Heal: the cut-off peer reads what the majority wrote, and its refused write never lands.
      assert.ok(await ip("-n", BRIDGE_NS, "link", "set", "vb3", "up"));
      await until("the mesh to heal", async () => (await viewSize(2)) === 3);
      await until(
        "the healed peer to read",
        async () => (await on(2, ["kv", "get", "k"])).code === 0,
      );
      for (const i of [0, 1, 2]) {
        assert.equal((await on(i, ["kv", "get", "k"])).stdout.trim(), "during");
      }
    } finally {
      await stopAll(peers);
      await tearDown();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
