import { deepStrictEqual as assertEquals } from "node:assert/strict";
import type { MeshInternals } from "./mesh.ts";
import { libp2pTest, startNode, waitFor, within } from "./_testing.ts";

/** For each node, once its connection to `peerId` closes: whether `peerId` was still a member then. */
function memberAtDisconnect(nodes: MeshInternals[], peerId: string): Promise<boolean[]> {
  return Promise.all(nodes.map((n) =>
    new Promise<boolean>((resolve) => {
      const onDisconnect = (evt: CustomEvent<{ toString(): string }>) => {
        if (evt.detail.toString() !== peerId) return;
        n.node.removeEventListener("peer:disconnect", onDisconnect);
        resolve(n.peers().some((p) => p.peerId === peerId));
      };
      n.node.addEventListener("peer:disconnect", onDisconnect);
    })
  ));
}

Deno.test({
  name:
    "mesh: a SIGKILLed peer is dropped from every view by SWIM's probes, not by its closed connection",
  ...libp2pTest,
  async fn() {
    const a = await startNode();
    const b = await startNode({ join: a.addrs() });
    const data = await Deno.makeTempDir({ prefix: "virgo-p2p-" });
    const main = new URL("./_peer_main.ts", import.meta.url).pathname;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main, a.addrs()[0]!, data],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    try {
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let out = "";
      while (!out.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) throw new Error("Child exited early");
        out += value;
      }
      reader.releaseLock();
      const id = out.trim();
      await waitFor(
        () =>
          [a, b].every((n) =>
            n.peers().some((p) => p.peerId === id) &&
            n.node.getConnections().some((c) => c.remotePeer.toString() === id)
          ),
        15_000,
        "child join, connected to both",
      );
      const atDisconnect = memberAtDisconnect([a, b], id);
      child.kill("SIGKILL");
      // A connection closes for many reasons (an idle one is trimmed): it is not a leave.
      assertEquals(
        await within(atDisconnect, 30_000, "the child's disconnect"),
        [true, true],
        "still a member when its connection closed",
      );
      // A probe goes unanswered, then suspicion runs out (4 periods at this size).
      await waitFor(
        () => [a, b].every((n) => !n.peers().some((p) => p.peerId === id)),
        30_000,
        "the child to leave every view",
      );
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* already dead */ }
      await child.status;
      await child.stdout.cancel().catch(() => {});
      await b.stop();
      await a.stop();
      await Deno.remove(data, { recursive: true });
    }
  },
});
