/**
 * The one conformance suite every {@link Database} implementation passes
 * (abstract-level style): plain namespaces plus the versioned record layer.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Hlc } from "./hlc.ts";
import { isLive, type PoolRecord, RecordStore } from "./records.ts";
import type { Database } from "./store.ts";

/** What a backend hands the suite: a fresh database, and optionally a way to reopen it. */
export interface ConformanceSubject {
  db: Database;
  /** Closes and reopens the same data (persistent backends only). */
  reopen?: () => Promise<Database>;
  /** Removes what the subject left behind (temp dirs). */
  cleanup(): Promise<void>;
}

const enc = new TextEncoder();
const b = (s: string) => enc.encode(s);

/**
 * Registers the conformance tests for `name`, each on a fresh subject from `factory`.
 *
 * @example
 * ```ts
 * storeConformance("memory", () => Promise.resolve({ db: openMemoryDatabase(), cleanup: async () => {} }));
 * ```
 */
export function storeConformance(name: string, factory: () => Promise<ConformanceSubject>): void {
  const test = (what: string, fn: (s: ConformanceSubject) => Promise<void>) =>
    Deno.test(`${name} store: ${what}`, async () => {
      const s = await factory();
      try {
        await fn(s);
      } finally {
        await s.db.close().catch(() => {});
        await s.cleanup();
      }
    });

  test("get of a missing key is undefined", async ({ db }) => {
    assert.equal(await db.store("a").get("nope"), undefined);
  });

  test("put then get round-trips bytes, including empty values", async ({ db }) => {
    const s = db.store("a");
    await s.put("k", b("hello"));
    await s.put("empty", new Uint8Array());
    assert.deepEqual(await s.get("k"), b("hello"));
    assert.deepEqual(await s.get("empty"), new Uint8Array());
  });

  test("stored values are copies", async ({ db }) => {
    const s = db.store("a");
    const v = b("abc");
    await s.put("k", v);
    v[0] = 0;
    const got = await s.get("k");
    assert.deepEqual(got, b("abc"));
    got![1] = 0;
    assert.deepEqual(await s.get("k"), b("abc"));
  });

  test("put overwrites and delete removes; deleting a missing key is fine", async ({ db }) => {
    const s = db.store("a");
    await s.put("k", b("1"));
    await s.put("k", b("2"));
    assert.deepEqual(await s.get("k"), b("2"));
    await s.delete("k");
    await s.delete("never");
    assert.equal(await s.get("k"), undefined);
  });

  test("namespaces are isolated", async ({ db }) => {
    await db.store("a").put("k", b("a"));
    await db.store("b").put("k", b("b"));
    assert.deepEqual(await db.store("a").get("k"), b("a"));
    assert.deepEqual(await db.store("b").get("k"), b("b"));
    assert.deepEqual((await db.store("a").list()).map((e) => e.key), ["k"]);
  });

  test("invalid namespace names throw", ({ db }) => {
    assert.throws(() => db.store(""), { name: "KvError", code: "INVALID_KEY" });
    assert.throws(() => db.store("a!b"), { name: "KvError" });
    return Promise.resolve();
  });

  test("list is in code point order with prefix, after and limit", async ({ db }) => {
    const s = db.store("a");
    const keys = ["b/2", "a", "b/1", "b/10", "c", "\uFFFF", "\u{1F600}", "b"];
    for (const k of keys) await s.put(k, b(k));
    const all = (await s.list()).map((e) => e.key);
    assert.deepEqual(all, ["a", "b", "b/1", "b/10", "b/2", "c", "\uFFFF", "\u{1F600}"]);
    assert.deepEqual((await s.list({ prefix: "b/" })).map((e) => e.key), ["b/1", "b/10", "b/2"]);
    assert.deepEqual((await s.list({ prefix: "b/", after: "b/1" })).map((e) => e.key), [
      "b/10",
      "b/2",
    ]);
    assert.deepEqual((await s.list({ prefix: "b/", after: "a" })).map((e) => e.key), [
      "b/1",
      "b/10",
      "b/2",
    ]);
    assert.deepEqual((await s.list({ after: "b/2", limit: 2 })).map((e) => e.key), ["c", "\uFFFF"]);
    assert.deepEqual(await s.list({ prefix: "zz" }), []);
    assert.deepEqual(await s.list({ limit: 0 }), []);
    const [first] = await s.list({ prefix: "c" });
    assert.deepEqual(first, { key: "c", value: b("c") });
  });

  test("batch applies puts and deletes in order", async ({ db }) => {
    const s = db.store("a");
    await s.put("gone", b("x"));
    await s.batch([
      { type: "put", key: "x", value: b("1") },
      { type: "put", key: "y", value: b("2") },
      { type: "delete", key: "gone" },
      { type: "put", key: "x", value: b("3") },
    ]);
    assert.deepEqual((await s.list()).map((e) => [e.key, new TextDecoder().decode(e.value)]), [
      ["x", "3"],
      ["y", "2"],
    ]);
  });

  test("data survives reopening (persistent backends)", async (s) => {
    if (!s.reopen) return;
    await s.db.store("a").put("k", b("v"));
    s.db = await s.reopen();
    assert.deepEqual(await s.db.store("a").get("k"), b("v"));
  });

  // The versioned layer, on top of the backend.
  const rec = (
    key: string,
    version: string,
    value = "v",
    extra: Partial<PoolRecord> = {},
  ): PoolRecord => ({
    key,
    version,
    value: b(value),
    tombstone: false,
    expiresAt: 0,
    ...extra,
  });

  test("records: newest version wins regardless of arrival order", async ({ db }) => {
    const hlc = new Hlc("p1");
    const v1 = hlc.next();
    const v2 = hlc.next();
    const r = new RecordStore(db.store("pool"), { tombstoneGcMs: 1000 });
    assert.equal(await r.apply(rec("k", v2, "new")), v2);
    assert.equal(await r.apply(rec("k", v1, "old")), v2);
    assert.equal(await r.apply(rec("k", v2, "new")), v2);
    const got = await r.get("k");
    assert.equal(got?.version, v2);
    assert.deepEqual(got?.value, b("new"));
  });

  test("records: concurrent applies keep the newest", async ({ db }) => {
    const hlc = new Hlc("p1");
    const versions = Array.from({ length: 50 }, () => hlc.next());
    const r = new RecordStore(db.store("pool"), { tombstoneGcMs: 1000 });
    await Promise.all([...versions].reverse().map((v) => r.apply(rec("k", v, v))));
    assert.equal((await r.get("k"))?.version, versions[49]);
  });

  test("records: tombstones hide the key and block older writes", async ({ db }) => {
    const hlc = new Hlc("p1");
    const v1 = hlc.next();
    const v2 = hlc.next();
    const r = new RecordStore(db.store("pool"), { tombstoneGcMs: 1000 });
    await r.apply(rec("k", v2, "", { tombstone: true }));
    await r.apply(rec("k", v1));
    const got = await r.get("k");
    assert.equal(got?.tombstone, true);
    assert.equal(isLive(got, Date.now()), false);
  });

  test("dump holds every namespace's entries once, in key order, as of its start", async ({ db }) => {
    await db.store("b").put("x", b("bx"));
    await db.store("a").put("y", b("ay"));
    await db.store("a").put("x", b("ax"));
    await db.store("a").delete("y");
    const dec = new TextDecoder();
    const seen: string[] = [];
    for await (const e of db.dump()) {
      // A write after the dump began is not in it.
      if (seen.length === 0) await db.store("c").put("late", b("late"));
      seen.push(`${dec.decode(e.key)}=${dec.decode(e.value)}`);
    }
    assert.deepEqual(seen, ["!a!x=ax", "!b!x=bx"]);
  });

  test("records: TTL expiry, lazy drop and sweep of old tombstones", async ({ db }) => {
    let now = 1_000_000;
    const clock = () => now;
    const hlc = new Hlc("p1", clock);
    const r = new RecordStore(db.store("pool"), { clock, tombstoneGcMs: 5000 });
    await r.apply(rec("ttl", hlc.next(), "v", { expiresAt: now + 1000 }));
    await r.apply(rec("dead", hlc.next(), "", { tombstone: true }));
    await r.apply(rec("keep", hlc.next()));
    assert.equal(isLive(await r.get("ttl"), now), true);
    now += 1000;
    assert.equal(isLive(await r.get("ttl"), now), false);
    now += 5000;
    // "ttl" may already be gone (dropped lazily by the read above); "dead" is the sweep's.
    assert.ok(await r.sweep(2) >= 1);
    assert.deepEqual((await r.scan({ limit: 10 })).map((x) => x.key), ["keep"]);
  });

  test("records: dropIf removes only the given version; scan pages", async ({ db }) => {
    const hlc = new Hlc("p1");
    const r = new RecordStore(db.store("pool"), { tombstoneGcMs: 1000 });
    const v = hlc.next();
    await r.apply(rec("a", v));
    await r.apply(rec("b", hlc.next()));
    assert.equal(await r.dropIf("a", "000000000-0000-x"), false);
    assert.equal(await r.dropIf("a", v), true);
    assert.equal(await r.get("a"), undefined);
    await r.apply(rec("c", hlc.next()));
    assert.deepEqual((await r.scan({ after: "b", limit: 5 })).map((x) => x.key), ["c"]);
  });
}
