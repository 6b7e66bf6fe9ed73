/**
 * Membership by SWIM between real `virgo start` processes: eight peers converge (each lists
 * all eight); a peer killed with SIGKILL is dropped by every other; restarted on its data
 * folder it comes back under the same id; a peer paused (SIGSTOP) past the failure timeout
 * is dropped, and once resumed it refutes its death and is listed everywhere again. The
 * short form of bench/mesh_scale.ts.
 */
import assert from "node:assert/strict";
import { type PeerProcess, startMesh, startPeer, stopAll, viewOf, waitFor } from "./_harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** Probe period, ping-req, then suspicion (4 × log10(10) periods): ~6 s; generous on 2 busy cores. */
const DETECT_MS = 45_000;

/** Waits until every peer of `observers` lists `id` (`present`) or does not. */
function listed(observers: PeerProcess[], id: string, present: boolean, what: string) {
  return waitFor(
    what,
    async () => {
      for (const p of observers) if ((await viewOf(p)).includes(id) !== present) return false;
      return true;
    },
    DETECT_MS,
    200,
  );
}

Deno.test("membership: 8 peers converge; kill -9, restart and SIGSTOP/SIGCONT", opts, async (t) => {
  const peers = await startMesh(8, { spares: 0, viewTimeoutMs: 60_000 });
  try {
    await t.step("every peer lists all eight", async () => {
      for (const p of peers) {
        assert.deepEqual((await viewOf(p)).sort(), peers.map((x) => x.peerId).sort());
      }
    });

    const killed = peers[3]!;
    const others = () => peers.filter((p) => p.peerId !== killed.peerId && p !== paused);
    let paused: PeerProcess | undefined;

    await t.step("a peer killed with SIGKILL is dropped by every other", async () => {
      await killed.kill();
      await listed(others(), killed.peerId, false, "the killed peer to leave every view");
    });

    await t.step("restarted on its data folder, it is listed again under the same id", async () => {
      const back = await startPeer({ data: killed.data, spares: 0, join: [peers[0]!.p2p] });
      peers[3] = back;
      assert.equal(back.peerId, killed.peerId);
      await listed(others(), back.peerId, true, "the restarted peer in every view");
      await waitFor(
        "the restarted peer to list all eight",
        async () => (await viewOf(back)).length === 8,
        DETECT_MS,
        200,
      );
    });

    await t.step(
      "a peer paused past the failure timeout is dropped, and back once resumed",
      async () => {
        paused = peers[5]!;
        const id = paused.peerId;
        const rest = peers.filter((p) => p !== paused);
        await paused.signal("SIGSTOP");
        try {
          await listed(rest, id, false, "the paused peer to leave every view");
        } finally {
          await paused.signal("SIGCONT");
        }
        // It hears it was declared dead, refutes with a higher incarnation (or rejoins).
        await listed(rest, id, true, "the resumed peer back in every view");
        await waitFor(
          "the resumed peer to list all eight",
          async () => (await viewOf(paused!)).length === 8,
          DETECT_MS,
          200,
        );
      },
    );
  } finally {
    await stopAll(peers);
  }
});
