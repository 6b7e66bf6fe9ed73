import assert from "node:assert/strict";
import { Hedges, ReadBatcher } from "./_read_batch.ts";
import type { PoolRecord } from "./records.ts";

const rec = (key: string, version: string): PoolRecord => ({
  key,
  version,
  value: new Uint8Array(),
  tombstone: false,
  expiresAt: 0,
});

Deno.test("read batcher: reads asked while the link is busy go together in the next request", async () => {
  const sent: string[][] = [];
  const gates: Array<() => void> = [];
  let version = 0;
  const reads = new ReadBatcher((_peer, keys) => {
    sent.push(keys);
    const v = String(++version);
    return new Promise((resolve) => gates.push(() => resolve(keys.map((k) => rec(k, v)))));
  });
  const first = [reads.get("b", "x"), reads.get("b", "y")]; // two in flight at once
  const later = [reads.get("b", "x"), reads.get("b", "z"), reads.get("b", "x")];
  assert.deepEqual(sent, [["x"], ["y"]]);
  gates.shift()!();
  assert.equal((await first[0]!)!.version, "1");
  await new Promise((r) => setTimeout(r, 0)); // the batcher's own continuation
  assert.deepEqual(sent[2], ["x", "z"], "the waiting keys, each once, in one request");
  gates.shift()!();
  gates.shift()!();
  // A read never takes the answer of a request sent before it was asked.
  assert.deepEqual((await Promise.all(later)).map((r) => r!.version), ["3", "3", "3"]);
});

Deno.test("read batcher: a failed request fails every read it carried", async () => {
  const sent: string[][] = [];
  const gates: Array<() => void> = [];
  const reads = new ReadBatcher((_peer, keys) => {
    sent.push(keys);
    return new Promise((_, reject) => gates.push(() => reject(new Error(`gone: ${keys}`))));
  });
  const first = [reads.get("b", "w"), reads.get("b", "v")]; // two in flight at once
  // Asked meanwhile: one batch, "x" once for both its readers.
  const batch = [
    reads.get("b", "x"),
    reads.get("b", "y"),
    reads.get("b", "x"),
    reads.get("b", "z"),
  ];
  const settled = Promise.allSettled(batch);
  gates.shift()!();
  await assert.rejects(first[0]!, /gone: w/);
  await new Promise((r) => setTimeout(r, 0)); // the batcher's own continuation
  assert.deepEqual(sent[2], ["x", "y", "z"], "the waiting keys, each once, in one request");
  gates.shift()!();
  await assert.rejects(first[1]!, /gone: v/);
  gates.shift()!();
  const results = await settled;
  assert.deepEqual(results.map((r) => r.status), ["rejected", "rejected", "rejected", "rejected"]);
  for (const r of results) assert.match(String((r as PromiseRejectedResult).reason), /gone: x,y,z/);
  assert.equal(sent.length, 3, "no request retried or sent for a failed read");
});

Deno.test("hedges: an action runs after its delay unless removed", async () => {
  const hedges = new Hedges(5);
  const ran: string[] = [];
  const keep = () => ran.push("keep");
  const drop = () => ran.push("drop");
  hedges.add(keep);
  hedges.add(drop);
  hedges.delete(drop);
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(ran, ["keep"]);
});
