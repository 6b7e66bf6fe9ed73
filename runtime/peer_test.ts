import assert from "node:assert/strict";
import { openDatabase } from "../kv/mod.ts";
import { resolveConfig } from "./config.ts";
import { silentLogger } from "./log.ts";
import { startPeer } from "./peer.ts";
import { freePort } from "../test/_ports.ts";

/** libp2p leaves a handle open after stop. */
const libp2pTest = { sanitizeOps: false, sanitizeResources: false } as const;

/**
 * Processes whose command line names `address`: a peer's function processes are denied its own
 * HTTP address (`--deny-net`), so they name it, and no other peer's do.
 */
async function processesNaming(address: string): Promise<number[]> {
  const pids: number[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const cmdline = await Deno.readTextFile(`/proc/${e.name}/cmdline`).catch(() => "");
    if (cmdline.includes(address)) pids.push(Number(e.name));
  }
  return pids;
}

Deno.test({
  name: "peer: a start on a taken HTTP port fails naming it, and leaves nothing open",
  ...libp2pTest,
  async fn() {
    const data = await Deno.makeTempDir({ prefix: "virgo-peer-" });
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const http = `127.0.0.1:${taken.addr.port}`;
    const p2pPort = freePort();
    const cfg = resolveConfig({ http, p2p: `/ip4/127.0.0.1/tcp/${p2pPort}`, data, spares: 1 });
    try {
      // The same peer on a free port runs a function process that names its address.
      const free = `127.0.0.1:${freePort()}`;
      const peer = await startPeer({ ...cfg, http: free }, silentLogger);
      assert.equal((await processesNaming(free)).length, 1, "one spare function process");
      await peer.stop();
      assert.deepEqual(await processesNaming(free), []);

      await assert.rejects(startPeer(cfg, silentLogger), (err: Error) => {
        assert.match(err.message, new RegExp(`Cannot serve HTTP on ${http}: `));
        return true;
      });
      assert.deepEqual(await processesNaming(http), [], "no function process is left");
      const db = await openDatabase(`${data}/db`);
      await db.close();
      const p2p = Deno.listen({ hostname: "127.0.0.1", port: p2pPort });
      p2p.close();
    } finally {
      taken.close();
      await Deno.remove(data, { recursive: true });
    }
  },
});
