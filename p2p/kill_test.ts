import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { goneOnDisconnect, libp2pTest, startNode, waitFor, within } from "./_testing.ts";

Deno.test({
  name: "mesh: a SIGKILLed peer leaves every view as its connection closes, not by expiry",
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
        () => [a, b].every((n) => n.peers().some((p) => p.peerId === id)),
        10_000,
        "child join",
      );
      const dropped = goneOnDisconnect([a, b], id);
      child.kill("SIGKILL");
      const gone = await within(dropped, 30_000, "the child's disconnect");
      assertEquals(gone, [true, true], "dropped from each view as its connection closed");
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
