import { deepStrictEqual as assertEquals, rejects as assertRejects } from "node:assert/strict";
import { generateSwarmKey } from "./swarm_key.ts";
import { libp2pTest, startNode, waitFor } from "./_testing.ts";

Deno.test({
  name: "pnet: same-key nodes connect; a different key or no key cannot",
  ...libp2pTest,
  async fn() {
    const key = generateSwarmKey();
    const a = await startNode({ swarmKey: key });
    const b = await startNode({ swarmKey: key, join: a.addrs() });
    const other = await startNode({ swarmKey: generateSwarmKey() });
    const open = await startNode();
    try {
      await waitFor(() => a.peers().length === 2 && b.peers().length === 2, 5_000, "same-key join");
      for (const outsider of [other, open]) {
        await assertRejects(
          outsider.node.dial(a.node.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(3_000) }),
        );
        await assertRejects(
          a.node.dial(outsider.node.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(3_000) }),
        );
        assertEquals(outsider.peers().length, 1);
      }
      assertEquals(a.peers().length, 2);
    } finally {
      for (const n of [a, b, other, open]) await n.stop();
    }
  },
});

Deno.test({
  name: "pnet: a malformed swarm key fails the start with a clear error",
  ...libp2pTest,
  async fn() {
    await assertRejects(
      startNode({ swarmKey: new TextEncoder().encode("not a key") }),
      /Invalid swarm key/,
    );
  },
});
