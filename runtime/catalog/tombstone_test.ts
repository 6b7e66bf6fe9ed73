/**
 * Tombstones collected after the horizon, and the rules that keep a collected deletion from
 * coming back (see the README, "A peer away longer than the tombstone horizon"): a registry
 * walks its catalogue with another peer, here a bare walk responder over an in-memory mesh.
 */
import assert from "node:assert/strict";
import { openMemoryDatabase } from "../../kv/mod.ts";
import { entryAt } from "./_testing.ts";
import type { SandboxPool } from "../sandbox/mod.ts";
import { type LogLine, recordingLogger } from "../_testing.ts";
import { TOMBSTONE_HORIZON_MS } from "./constants.ts";
import { createDigestTree } from "./digest.ts";
import type { CatalogNet, FunctionMeta } from "./entry.ts";
import { createRegistry } from "./registry.ts";
import { createSealer } from "./secrets.ts";
import { answerWalk, type Freshness, WalkRequestSchema } from "./walk.ts";

const DAY = 24 * 60 * 60 * 1000;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** An entry of the other peer's, stamped `ageMs` ago. */
function meta(name: string, ageMs: number, deleted = false): FunctionMeta {
  return entryAt(name, Date.now() - ageMs, { deleted, origin: "other" });
}

/** The other peer: it holds `entries`, answers walks, and records what it is sent. */
async function otherPeer(entries: FunctionMeta[], freshness: Freshness = "fresh") {
  const tree = createDigestTree();
  for (const m of entries) await tree.put(m);
  const received: string[] = [];
  const side = {
    tree,
    entry: (n: string) => entries.find((m) => m.name === n),
    offers: () => true,
    freshness: () => freshness,
    merge: (m: FunctionMeta) => {
      received.push(m.name);
      return Promise.resolve(false);
    },
  };
  return { side, received };
}

/** A registry of peer "me" in a mesh of two, the other answering walks. */
async function startMe(
  other: Awaited<ReturnType<typeof otherPeer>>,
  setup: { syncedAgoMs?: number; stored?: FunctionMeta[] } = {},
) {
  const db = openMemoryDatabase();
  if (setup.syncedAgoMs !== undefined) {
    await db.store("catalog-state").put(
      "syncedAt",
      enc.encode(String(Date.now() - setup.syncedAgoMs)),
    );
  }
  for (const m of setup.stored ?? []) {
    await db.store("functions").put(m.name, enc.encode(JSON.stringify(m)));
  }
  const lines: LogLine[] = [];
  const net: CatalogNet = {
    peerId: "me",
    peers: () => [
      { peerId: "me", self: true, catalog: { digest: "", count: 0 } },
      { peerId: "other", self: false, catalog: other.side.tree.summary() },
    ],
    onMembership: () => () => {},
    publish: () => Promise.resolve(),
    subscribe: () => {},
    handle: () => Promise.resolve(),
    async request(_to, _protocol, req) {
      const parsed = WalkRequestSchema.parse(JSON.parse(dec.decode(req)));
      return enc.encode(JSON.stringify(await answerWalk(other.side, parsed)));
    },
  };
  const registry = createRegistry({
    db,
    sandbox: { retire() {}, revive() {}, load: () => Promise.resolve() } as unknown as SandboxPool,
    net,
    logger: recordingLogger(lines),
    sealer: await createSealer(new Uint8Array(32)),
  });
  await registry.start();
  // The first digest check walks at once; wait for that walk to end.
  const deadline = Date.now() + 10_000;
  while (!lines.some((l) => /reconcil/.test(l.msg ?? ""))) {
    if (Date.now() > deadline) throw new Error("no walk");
    await new Promise((r) => setTimeout(r, 10));
  }
  return { registry, lines, db };
}

Deno.test("tombstones: collected once past the horizon, kept before", async () => {
  const other = await otherPeer([]);
  const { registry } = await startMe(other, {
    syncedAgoMs: 0,
    stored: [meta("gone", TOMBSTONE_HORIZON_MS + DAY, true), meta("recent", DAY, true)],
  });
  try {
    assert.equal(registry.digest().count, 1, "only the recent tombstone is kept");
  } finally {
    registry.stop();
  }
});

Deno.test("tombstones: an established peer refuses an entry older than the horizon for a name it does not hold; a new peer takes it", async () => {
  const zombie = meta("zombie", TOMBSTONE_HORIZON_MS + DAY);
  const recent = meta("recent", DAY);
  const established = await startMe(await otherPeer([zombie, recent]), { syncedAgoMs: 1000 });
  try {
    assert.ok(established.registry.get("recent"));
    assert.equal(established.registry.get("zombie"), undefined, "a collected deletion came back");
  } finally {
    established.registry.stop();
  }
  const fresh = await startMe(await otherPeer([zombie, recent]));
  try {
    assert.ok(fresh.registry.get("recent"));
    assert.ok(fresh.registry.get("zombie"), "a new peer takes the mesh's old functions");
  } finally {
    fresh.registry.stop();
  }
});

Deno.test("tombstones: a peer back after the horizon offers none of its old entries, drops those a fresh peer does not hold, and takes what it missed", async () => {
  const kept = meta("kept", TOMBSTONE_HORIZON_MS + 2 * DAY);
  const deletedMeanwhile = meta("deleted-meanwhile", TOMBSTONE_HORIZON_MS + 2 * DAY);
  const mine = meta("mine", DAY);
  const missed = meta("missed", TOMBSTONE_HORIZON_MS + DAY);
  const other = await otherPeer([kept, missed]);
  const { registry } = await startMe(other, {
    syncedAgoMs: TOMBSTONE_HORIZON_MS + DAY,
    stored: [kept, deletedMeanwhile, mine],
  });
  try {
    assert.ok(registry.get("kept"), "the mesh holds it: it stays");
    assert.ok(registry.get("mine"), "newer than the horizon: it stays");
    assert.equal(registry.get("deleted-meanwhile"), undefined);
    assert.ok(registry.get("missed"), "deployed while it was away: it takes it from a fresh peer");
    assert.deepEqual(other.received, ["mine"], "only the entry newer than the horizon was sent");
  } finally {
    registry.stop();
  }
});

Deno.test("tombstones: a stale peer keeps its old entries when the other peer is not fresh", async () => {
  const old = meta("old", TOMBSTONE_HORIZON_MS + 2 * DAY);
  const other = await otherPeer([], "new");
  const { registry } = await startMe(other, {
    syncedAgoMs: TOMBSTONE_HORIZON_MS + DAY,
    stored: [old],
  });
  try {
    assert.ok(registry.get("old"), "a new peer lacking it says nothing about a deletion");
    assert.deepEqual(other.received, []);
  } finally {
    registry.stop();
  }
});
