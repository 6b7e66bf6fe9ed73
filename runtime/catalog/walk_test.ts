import assert from "node:assert/strict";
import { entryAt } from "./_testing.ts";
import { createDigestTree } from "./digest.ts";
import type { FunctionMeta } from "./entry.ts";
import {
  answerWalk,
  type Freshness,
  walk,
  type WalkAsk,
  WalkReplySchemas,
  WalkRequestSchema,
  type WalkSide,
} from "./walk.ts";
import { DIGEST_DEPTH } from "./constants.ts";

function meta(name: string, wall: number, deleted = false): FunctionMeta {
  return entryAt(name, wall, { deleted });
}

/** An in-memory side: last writer wins, as the registry settles entries. */
function side(freshness: Freshness = "fresh") {
  const entries = new Map<string, FunctionMeta>();
  const tree = createDigestTree();
  const s: WalkSide & { entries: Map<string, FunctionMeta>; set(m: FunctionMeta): Promise<void> } =
    {
      entries,
      tree,
      entry: (n) => entries.get(n),
      offers: () => true,
      freshness: () => freshness,
      async merge(m) {
        const cur = entries.get(m.name);
        if (cur && cur.stamp >= m.stamp) return false;
        await s.set(m);
        return true;
      },
      async set(m) {
        entries.set(m.name, m);
        await tree.put(m);
      },
    };
  return s;
}

/** `ask` through JSON and the schemas, as over the mesh, counting bytes both ways. */
function wire(remote: WalkSide, bytes: { sent: number }): WalkAsk {
  return (async (req) => {
    const out = JSON.stringify(req);
    bytes.sent += out.length;
    const reply = JSON.stringify(
      await answerWalk(remote, WalkRequestSchema.parse(JSON.parse(out))),
    );
    bytes.sent += reply.length;
    return WalkReplySchemas[req.op].parse(JSON.parse(reply));
  }) as WalkAsk;
}

Deno.test("walk: two catalogues differing in a few of 10,000 entries settle in O(diff · log n) frames", async () => {
  const a = side();
  const b = side();
  const base = 1_700_000_000_000;
  for (let i = 0; i < 10_000; i++) {
    const m = meta(`fn-${i}`, base + i);
    await a.set(m);
    await b.set(m);
  }
  // a: 3 newer deploys, one deletion, one only it has; b: 2 newer deploys, one only it has.
  for (const i of [10, 2000, 7777]) await a.set(meta(`fn-${i}`, base + 50_000 + i));
  await a.set(meta("fn-42", base + 60_000, true));
  await a.set(meta("only-a", base + 1));
  for (const i of [11, 9999]) await b.set(meta(`fn-${i}`, base + 70_000 + i));
  await b.set(meta("only-b", base + 2));
  const diff = 8;
  assert.notEqual(a.tree.summary().digest, b.tree.summary().digest);

  const bytes = { sent: 0 };
  const result = await walk(a, wire(b, bytes));
  assert.deepEqual(a.tree.summary(), b.tree.summary(), "one walk leaves both the same");
  assert.equal(result.pulled, 3);
  assert.equal(result.pushed, 5);
  assert.ok(b.entries.get("fn-42")!.deleted);
  assert.equal(a.entries.get("fn-9999")!.stamp, b.entries.get("fn-9999")!.stamp);
  // state + one frame per level (nodes, then keys) + one get + one put: independent of n and,
  // while the diff fits a frame, of the diff. Bound loosely at diff · depth.
  assert.ok(result.frames <= DIGEST_DEPTH + 4, `frames: ${result.frames}`);
  assert.ok(result.frames <= diff * (DIGEST_DEPTH + 1));
  // The whole catalogue as JSON would be ~4 MB; the walk moves a small fraction of it.
  const whole = JSON.stringify([...a.entries.values()]).length;
  assert.ok(bytes.sent < whole / 20, `walk bytes ${bytes.sent} vs catalogue ${whole}`);

  // Equal catalogues: a walk finds nothing to move.
  const again = await walk(a, wire(b, { sent: 0 }));
  assert.equal(again.pulled + again.pushed, 0);
});

Deno.test("walk: an empty peer pulls a whole catalogue in bounded frames", async () => {
  const a = side("new");
  const b = side();
  for (let i = 0; i < 3000; i++) await b.set(meta(`fn-${i}`, 1_700_000_000_000 + i));
  const result = await walk(a, wire(b, { sent: 0 }));
  assert.deepEqual(a.tree.summary(), b.tree.summary());
  assert.equal(result.pulled, 3000);
  assert.equal(result.theirs, "fresh");
  // Every frame is bounded: 3000 entries come in gets of at most 64.
  assert.ok(result.frames < 3000 / 64 + 40, `frames: ${result.frames}`);
});

Deno.test("walk: entries a side does not offer are neither listed nor sent, and are reported", async () => {
  const a = side();
  const b = side();
  await a.set(meta("old", 1_000));
  await a.set(meta("recent", 2_000));
  a.offers = (m) => m.name !== "old";
  const result = await walk(a, wire(b, { sent: 0 }));
  assert.deepEqual([...b.entries.keys()], ["recent"]);
  assert.deepEqual(result.withheld.map((m) => m.name), ["old"]);
  // Nor does it list them when the other side walks.
  const back = await walk(b, wire(a, { sent: 0 }));
  assert.equal(back.pulled, 0);
});
