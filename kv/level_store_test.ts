import { storeConformance } from "./_conformance.ts";
import assert from "node:assert/strict";
import { openDatabase, restoreDatabase } from "./level_store.ts";

storeConformance("level", async () => {
  const dir = await Deno.makeTempDir({ prefix: "virgo-kv-" });
  const subject = {
    db: await openDatabase(dir),
    reopen: async () => {
      await subject.db.close();
      return await openDatabase(dir);
    },
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
  return subject;
});

Deno.test("level store: a dump restored into a new folder reads back the same, and only there", async () => {
  const from = await Deno.makeTempDir({ prefix: "virgo-kv-" });
  const to = await Deno.makeTempDir({ prefix: "virgo-kv-" });
  const enc = new TextEncoder();
  try {
    const src = await openDatabase(from);
    for (let i = 0; i < 300; i++) await src.store(`ns${i % 3}`).put(`k${i}`, enc.encode(`v${i}`));
    assert.equal(await restoreDatabase(to, src.dump()), 300);
    // A database that holds data already is refused.
    await assert.rejects(() => restoreDatabase(to, src.dump()), /holds data already/);
    await src.close();
    const db = await openDatabase(to);
    try {
      assert.deepEqual(await db.store("ns2").get("k299"), enc.encode("v299"));
      assert.equal((await db.store("ns0").list()).length, 100);
    } finally {
      await db.close();
    }
  } finally {
    await Deno.remove(from, { recursive: true });
    await Deno.remove(to, { recursive: true });
  }
});
