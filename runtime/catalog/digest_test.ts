import assert from "node:assert/strict";
import { createDigestTree, type DigestEntry } from "./digest.ts";
import { DIGEST_DEPTH, DIGEST_FANOUT } from "./constants.ts";

const entry = (i: number, stamp = "s1"): DigestEntry => ({
  name: `fn-${i}`,
  stamp,
  version: "0123456789abcdef",
  deleted: false,
});

Deno.test("digest: the same entries give the same digest in any order; any change moves it", async () => {
  const a = createDigestTree();
  const b = createDigestTree();
  for (let i = 0; i < 200; i++) await a.put(entry(i));
  for (let i = 199; i >= 0; i--) await b.put(entry(i));
  assert.deepEqual(a.summary(), b.summary());
  assert.equal(a.summary().count, 200);
  assert.match(a.summary().digest, /^[0-9a-f]{64}$/);

  const before = a.summary().digest;
  await a.put(entry(7, "s2"));
  assert.notEqual(a.summary().digest, before, "a newer stamp of one entry");
  assert.equal(a.summary().count, 200);
  await a.put(entry(7, "s0"));
  assert.notEqual(a.summary().digest, before, "an older stamp does not replace a newer one");
  await a.put({ ...entry(8), deleted: true });
  a.remove("fn-8");
  assert.equal(a.summary().count, 199);
  a.remove("fn-8"); // removing what is gone changes nothing
  assert.equal(a.summary().count, 199);

  const empty = createDigestTree();
  assert.deepEqual(empty.summary(), { digest: "0".repeat(64), count: 0 });
});

Deno.test("digest: nodes partition the entries, and keys list a node's names with their stamps", async () => {
  const t = createDigestTree();
  for (let i = 0; i < 500; i++) await t.put(entry(i));
  let leaves = 0;
  const names = new Set<string>();
  for (let i = 0; i < DIGEST_FANOUT; i++) {
    leaves += t.node(1, i).count;
    for (const [name, stamp] of t.keys(1, i)) {
      names.add(name);
      assert.equal(stamp, "s1");
    }
  }
  assert.equal(leaves, 500);
  assert.equal(names.size, 500);
  assert.equal(t.keys(0, 0).length, 500);
  let deepest = 0;
  for (let i = 0; i < DIGEST_FANOUT ** DIGEST_DEPTH; i++) deepest += t.node(DIGEST_DEPTH, i).count;
  assert.equal(deepest, 500);
});
