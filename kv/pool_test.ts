import assert from "node:assert/strict";
import { startCluster } from "./_testing.ts";
import { KvError } from "./errors.ts";
import { formatVersion, parseVersion } from "./hlc.ts";
import { openMemoryDatabase } from "./memory_store.ts";
import { owners } from "./placement.ts";
import { createPool, type Pool } from "./pool.ts";
import { RecordStore } from "./records.ts";
import { silentLogger } from "./logger.ts";
import { MemoryNetwork } from "./_testing.ts";
import type { Database } from "./store.ts";
import { decodeRequest } from "./wire.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const b = (s: string) => enc.encode(s);
const local = (db: Database) => new RecordStore(db.store("pool"), { tombstoneGcMs: 1e9 });

Deno.test("pool: set on one, get on every one", async () => {
  const c = await startCluster(3);
  try {
    const { version } = await c.pools[0]!.put("hello", b("world"));
    for (const p of c.pools) {
      const got = await p.get("hello");
      assert.equal(dec.decode(got!.value), "world");
      assert.equal(got!.version, version);
    }
    assert.equal(await c.pools[2]!.get("missing"), null);
  } finally {
    await c.stop();
  }
});

Deno.test("pool: each key is stored on exactly its 3 HRW owners of 5", async () => {
  const c = await startCluster(5);
  try {
    for (let i = 0; i < 20; i++) await c.pools[i % 5]!.put(`k${i}`, b(`v${i}`));
    await c.drain();
    for (let i = 0; i < 20; i++) {
      const want = owners(`k${i}`, c.ids, 3).sort();
      const have = [];
      for (let j = 0; j < 5; j++) if (await local(c.dbs[j]!).get(`k${i}`)) have.push(c.ids[j]!);
      assert.deepEqual(have.sort(), want);
    }
  } finally {
    await c.stop();
  }
});

Deno.test("pool: overwrite, delete with tombstone, versions increase", async () => {
  const c = await startCluster(3);
  try {
    const [a, bb] = c.pools;
    const v1 = (await a!.put("k", b("1"))).version;
    const v2 = (await bb!.put("k", b("2"))).version;
    assert.ok(v2 > v1);
    assert.equal(dec.decode((await a!.get("k"))!.value), "2");
    assert.equal(await bb!.delete("k"), true);
    assert.equal(await a!.get("k"), null);
    assert.equal(await a!.delete("k"), false);
    const v3 = (await a!.put("k", b("3"))).version;
    assert.ok(v3 > v2);
  } finally {
    await c.stop();
  }
});

Deno.test("pool: compare-and-set", async () => {
  const c = await startCluster(3);
  try {
    const [a, bb] = c.pools;
    const { version } = await a!.put("cas", b("1"), { ifMatch: "0" });
    await assert.rejects(a!.put("cas", b("x"), { ifMatch: "0" }), { code: "PRECONDITION_FAILED" });
    await assert.rejects(bb!.put("cas", b("x"), { ifMatch: "000000000-0000-zz" }), {
      code: "PRECONDITION_FAILED",
    });
    const next = await bb!.put("cas", b("2"), { ifMatch: version });
    await assert.rejects(a!.delete("cas", { ifMatch: version }), { code: "PRECONDITION_FAILED" });
    assert.equal(await a!.delete("cas", { ifMatch: next.version }), true);
    await a!.put("cas", b("again"), { ifMatch: "0" });
  } finally {
    await c.stop();
  }
});

Deno.test("pool: 50 concurrent CAS writers across peers → exactly one winner per version", async () => {
  const c = await startCluster(3);
  try {
    let { version } = await c.pools[0]!.put("counter", b("0"));
    for (let round = 0; round < 5; round++) {
      const results = await Promise.allSettled(
        Array.from(
          { length: 50 },
          (_, i) => c.pools[i % 3]!.put("counter", b(`w${i}`), { ifMatch: version }),
        ),
      );
      const winners = results.filter((r) => r.status === "fulfilled");
      assert.equal(winners.length, 1, `round ${round}`);
      for (const r of results) {
        if (r.status === "rejected") {
          assert.equal((r.reason as KvError).code, "PRECONDITION_FAILED");
        }
      }
      version = (winners[0] as PromiseFulfilledResult<{ version: string }>).value.version;
      assert.equal((await c.pools[1]!.get("counter"))!.version, version);
    }
    // "must not exist": one creator among 50.
    const created = await Promise.allSettled(
      Array.from(
        { length: 50 },
        (_, i) => c.pools[i % 3]!.put("fresh", b(`${i}`), { ifMatch: "0" }),
      ),
    );
    assert.equal(created.filter((r) => r.status === "fulfilled").length, 1);
  } finally {
    await c.stop();
  }
});

Deno.test("pool: TTL expiry with an injected clock, then sweep", async () => {
  let now = 1_700_000_000_000;
  const c = await startCluster(3, { clock: () => now });
  try {
    await c.pools[0]!.put("short", b("x"), { ttlSeconds: 1 });
    await c.pools[0]!.put("long", b("y"));
    assert.notEqual(await c.pools[1]!.get("short"), null);
    now += 999;
    assert.notEqual(await c.pools[2]!.get("short"), null);
    now += 1;
    for (const p of c.pools) assert.equal(await p.get("short"), null);
    assert.deepEqual((await c.pools[0]!.list({})).keys, ["long"]);
    await c.drain();
    for (const db of c.dbs) assert.equal(await local(db).get("short"), undefined);
    await c.pools[1]!.put("short", b("new"), { ifMatch: "0" });
  } finally {
    await c.stop();
  }
});

Deno.test("pool: a killed member loses no acknowledged write and catches up via hints", async () => {
  const c = await startCluster(3);
  try {
    const [a, bb, cc] = c.pools;
    for (let i = 0; i < 10; i++) await a!.put(`before${i}`, b(`${i}`));
    c.net.kill("p3");
    const versions = new Map<string, string>();
    for (let i = 0; i < 30; i++) {
      versions.set(`during${i}`, (await (i % 2 ? a! : bb!).put(`during${i}`, b(`${i}`))).version);
    }
    await bb!.delete("before0");
    // Reads still succeed from survivors.
    for (let i = 1; i < 10; i++) {
      assert.equal(dec.decode((await bb!.get(`before${i}`))!.value), `${i}`);
    }
    for (const [k, v] of versions) assert.equal((await a!.get(k))!.version, v);
    assert.equal(await a!.get("before0"), null);
    assert.ok((await a!.pendingHints!()) + (await bb!.pendingHints!()) > 0);
    c.net.revive("p3");
    await c.drain();
    assert.equal((await a!.pendingHints!()) + (await bb!.pendingHints!()), 0);
    const p3 = local(c.dbs[2]!);
    for (const [k, v] of versions) assert.equal((await p3.get(k))?.version, v);
    assert.equal((await p3.get("before0"))?.tombstone, true);
    assert.equal(dec.decode((await cc!.get("during7"))!.value), "7");
  } finally {
    await c.stop();
  }
});

Deno.test("pool: killing each member in turn never loses an acknowledged write", async () => {
  const c = await startCluster(3);
  try {
    const acked = new Map<string, string>();
    for (const victim of ["p1", "p2", "p3"]) {
      c.net.kill(victim);
      const writers = c.pools.filter((_, i) => c.ids[i] !== victim);
      for (let i = 0; i < 10; i++) {
        const k = `${victim}-${i}`;
        acked.set(k, (await writers[i % 2]!.put(k, b(k))).version);
      }
      c.net.revive(victim);
      await c.drain();
    }
    for (const p of c.pools) {
      for (const [k, v] of acked) assert.equal((await p.get(k))!.version, v);
    }
  } finally {
    await c.stop();
  }
});

Deno.test("pool: two of three replicas down → QUORUM_FAILED, not a false ack", async () => {
  const c = await startCluster(3);
  try {
    c.net.kill("p2");
    c.net.kill("p3");
    await assert.rejects(c.pools[0]!.put("k", b("v")), { code: "QUORUM_FAILED" });
    await assert.rejects(c.pools[0]!.get("k"), { code: "QUORUM_FAILED" });
    c.net.revive("p2");
    c.net.revive("p3");
  } finally {
    await c.stop();
  }
});

Deno.test("pool: a write refused for want of a majority lands nowhere, even after a heal", async () => {
  const c = await startCluster(3);
  try {
    const [p1] = c.pools;
    await p1!.put("cut", b("before"));
    await c.drain();
    c.net.kill("p2");
    c.net.kill("p3");
    await assert.rejects(p1!.put("cut", b("minority")), { code: "QUORUM_FAILED" });
    assert.equal(dec.decode((await local(c.dbs[0]!).get("cut"))!.value), "before");
    assert.equal(await p1!.pendingHints!(), 0, "no hint of a write that was refused");
    c.net.revive("p2");
    c.net.revive("p3");
    await c.drain();
    for (const p of c.pools) assert.equal(dec.decode((await p.get("cut"))!.value), "before");
  } finally {
    await c.stop();
  }
});

Deno.test("pool: a 4th member takes over its share; old owners drop what they handed over", async () => {
  const c = await startCluster(3);
  try {
    const keys = Array.from({ length: 60 }, (_, i) => `key/${i}`);
    for (const k of keys) await c.pools[0]!.put(k, b(k));
    await c.add("p4");
    await c.drain();
    const mine = keys.filter((k) => owners(k, c.ids, 3).includes("p4"));
    assert.ok(mine.length > 0);
    for (const k of keys) {
      const want = owners(k, c.ids, 3).sort();
      const have = [];
      for (let j = 0; j < 4; j++) if (await local(c.dbs[j]!).get(k)) have.push(c.ids[j]!);
      assert.deepEqual(have.sort(), want, k);
    }
    for (const k of mine) assert.equal(dec.decode((await c.pools[3]!.get(k))!.value), k);
  } finally {
    await c.stop();
  }
});

Deno.test("pool: a member removed by the operator hands nothing; survivors re-replicate", async () => {
  const c = await startCluster(4);
  try {
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    for (const k of keys) await c.pools[0]!.put(k, b(k));
    c.net.kill("p4");
    c.net.leave("p4");
    await c.drain();
    // Gone from sight is not gone: p4 still counts for its keys' quorums until it is removed.
    for (const p of c.pools.slice(0, 3)) assert.deepEqual(p.members(), ["p1", "p2", "p3", "p4"]);
    await assert.rejects(c.pools[0]!.removeMember("p1"), /is up/);
    assert.equal(await c.pools[0]!.removeMember("p4"), true);
    await c.drain();
    for (const p of c.pools.slice(0, 3)) assert.deepEqual(p.members(), ["p1", "p2", "p3"]);
    const live = ["p1", "p2", "p3"];
    for (const k of keys) {
      for (let j = 0; j < 3; j++) assert.ok(await local(c.dbs[j]!).get(k), `${k} on ${live[j]}`);
    }
  } finally {
    await c.stop();
  }
});

Deno.test("pool: list is ordered, paged and merged across peers", async () => {
  const c = await startCluster(5);
  try {
    const keys = Array.from({ length: 25 }, (_, i) => `u/${String(i).padStart(2, "0")}`);
    for (const k of keys) await c.pools[keys.indexOf(k) % 5]!.put(k, b(k));
    await c.pools[0]!.put("other", b("x"));
    await c.pools[1]!.delete("u/03");
    const seen: string[] = [];
    let page = await c.pools[2]!.list({ prefix: "u/", limit: 7 });
    for (;;) {
      assert.ok(page.keys.length <= 7);
      seen.push(...page.keys);
      if (!page.next) break;
      page = await c.pools[2]!.list({ prefix: "u/", after: page.next, limit: 7 });
    }
    assert.deepEqual(seen, keys.filter((k) => k !== "u/03"));
    assert.deepEqual((await c.pools[0]!.list({})).keys.length, 25);
    assert.deepEqual((await c.pools[0]!.list({ limit: 5000 })).keys.length, 25);
  } finally {
    await c.stop();
  }
});

Deno.test("pool: read repair fixes a stale replica", async () => {
  const c = await startCluster(3);
  try {
    const { version: old } = await c.pools[0]!.put("r", b("1"));
    // A newer version reaches only p1 and p2, as if p3 missed it with no hint left.
    const parts = parseVersion(old)!;
    const newer = {
      key: "r",
      version: formatVersion({ ...parts, wall: parts.wall + 1000 }),
      value: b("2"),
      tombstone: false,
      expiresAt: 0,
    };
    await local(c.dbs[0]!).apply(newer);
    await local(c.dbs[1]!).apply(newer);
    assert.equal(dec.decode((await c.pools[2]!.get("r"))!.value), "2");
    await c.drain();
    assert.equal((await local(c.dbs[2]!).get("r"))?.version, newer.version);
  } finally {
    await c.stop();
  }
});

/**
 * `n` pools on one {@link MemoryNetwork} whose handlers log the keys of every `get`/`mget` they
 * serve; a pool in `old` refuses `mget` as a release without it would (`BAD_FRAME`).
 */
async function readLoggingCluster(n: number, old: string[] = []) {
  const net = new MemoryNetwork();
  const served: Array<{ to: string; t: string; keys: string[] }> = [];
  const pools: Pool[] = [];
  const ids: string[] = [];
  for (let i = 1; i <= n; i++) {
    const id = `p${i}`;
    const transport = net.transport(id);
    const handle = transport.handle.bind(transport);
    transport.handle = (handler) =>
      handle((body, from) => {
        const { head } = decodeRequest(body);
        if (head.t === "mget" && old.includes(id)) {
          return Promise.reject(new KvError("BAD_FRAME", "Unknown message"));
        }
        if (head.t === "get") served.push({ to: id, t: "get", keys: [head.k] });
        if (head.t === "mget") served.push({ to: id, t: "mget", keys: head.k });
        return handler(body, from);
      });
    const pool = createPool({
      db: openMemoryDatabase(),
      transport,
      replicas: 3,
      poolBytes: 1 << 20,
      logger: silentLogger,
      rebalance: { delayMs: 0, debounceMs: 0 },
    });
    await pool.start();
    pools.push(pool);
    ids.push(id);
  }
  const drain = async () => {
    for (let i = 0; i < 3; i++) await Promise.all(pools.map((p) => p.drain?.()));
  };
  return {
    net,
    pools,
    ids,
    served,
    drain,
    async stop() {
      await drain();
      await Promise.all(pools.map((p) => p.stop()));
    },
  };
}

Deno.test("pool: concurrent strong reads of other peers' keys share requests (mget)", async () => {
  const c = await readLoggingCluster(4);
  try {
    // Keys p4 holds no replica of: each strong read on p4 asks two other peers.
    const keys = Array.from({ length: 200 }, (_, i) => `far${i}`)
      .filter((k) => !owners(k, c.ids, 3).includes("p4"))
      .slice(0, 16);
    assert.equal(keys.length, 16);
    const present = keys.filter((_, i) => i % 3 !== 1); // the rest are absent
    for (const k of present) await c.pools[0]!.put(k, b(`v-${k}`));
    await c.drain();
    c.served.length = 0;
    const before = c.net.requests;
    const got = await Promise.all(keys.map((k) => c.pools[3]!.get(k)));
    for (const [i, k] of keys.entries()) {
      if (present.includes(k)) assert.equal(dec.decode(got[i]!.value), `v-${k}`, k);
      else assert.equal(got[i], null, `${k} is absent`);
    }
    const sent = c.net.requests - before;
    // 16 reads want 32 replica answers: two requests to a peer go alone, the reads asked meanwhile
    // wait and share the next (9 requests in all, unless a hedge fires).
    assert.ok(sent < keys.length, `${sent} requests for ${keys.length} reads`);
    const mgets = c.served.filter((s) => s.t === "mget");
    assert.ok(mgets.length > 0, "some reads went in one mget");
    assert.ok(
      mgets.some((m) =>
        m.keys.some((k) => !present.includes(k)) && m.keys.some((k) => present.includes(k))
      ),
      `an mget carried both present and absent keys: ${JSON.stringify(mgets)}`,
    );
  } finally {
    await c.stop();
  }
});

Deno.test("pool: a peer that refuses mget (an older release) is read key by key", async () => {
  const c = await readLoggingCluster(4, ["p1", "p2", "p3"]);
  try {
    const keys = Array.from({ length: 200 }, (_, i) => `far${i}`)
      .filter((k) => !owners(k, c.ids, 3).includes("p4"))
      .slice(0, 16);
    const present = keys.filter((_, i) => i % 3 !== 1);
    for (const k of present) await c.pools[0]!.put(k, b(`v-${k}`));
    await c.drain();
    c.served.length = 0;
    const got = await Promise.all(keys.map((k) => c.pools[3]!.get(k)));
    for (const [i, k] of keys.entries()) {
      if (present.includes(k)) assert.equal(dec.decode(got[i]!.value), `v-${k}`, k);
      else assert.equal(got[i], null, `${k} is absent`);
    }
    // Every mget was refused, so each key its batches carried was asked alone after.
    const gets = c.served.filter((s) => s.t === "get").length;
    assert.ok(gets > 2 * 3, `${gets} single gets: more than the 2 per peer sent before batching`);
  } finally {
    await c.stop();
  }
});

Deno.test("pool: every bad input is rejected with its code", async () => {
  const c = await startCluster(1, { maxValueBytes: 16 });
  const p = c.pools[0]!;
  try {
    await assert.rejects(p.put("", b("x")), { name: "KvError", code: "INVALID_KEY" });
    await assert.rejects(p.put("a\nb", b("x")), { code: "INVALID_KEY" });
    await assert.rejects(p.put("\u0000mem/x", b("x")), { code: "INVALID_KEY" });
    await assert.rejects(p.put("bad\uD800", b("x")), { code: "INVALID_KEY" });
    await assert.rejects(p.get(1 as unknown as string), { code: "INVALID_KEY" });
    await assert.rejects(p.put("x".repeat(1025), b("x")), { code: "KEY_TOO_LARGE" });
    await assert.rejects(p.put("é".repeat(513), b("x")), { code: "KEY_TOO_LARGE" });
    await p.put("é".repeat(512), b("x"));
    await assert.rejects(p.put("k", new Uint8Array(17)), { code: "VALUE_TOO_LARGE" });
    await assert.rejects(p.put("k", "str" as unknown as Uint8Array), { code: "VALUE_TOO_LARGE" });
    await assert.rejects(p.put("k", b("x"), { ttlSeconds: -1 }), { code: "INVALID_KEY" });
    await assert.rejects(p.delete(""), { code: "INVALID_KEY" });
    await assert.rejects(p.list({ prefix: "\u0000" }), { code: "INVALID_KEY" });
    await assert.rejects(p.memGet("nope"), { code: "INVALID_ADDRESS" });
    await assert.rejects(p.memGet("p1:00000000000000zz"), { code: "INVALID_ADDRESS" });
    await assert.rejects(p.memGet("p1:0000000000000000"), { code: "NOT_FOUND" });
    await assert.rejects(p.free("p1:0000000000000000"), { code: "NOT_FOUND" });
    await assert.rejects(p.alloc(0), { code: "OUT_OF_BOUNDS" });
    await assert.rejects(p.alloc(1.5), { code: "OUT_OF_BOUNDS" });
    await assert.rejects(p.alloc(17), { code: "VALUE_TOO_LARGE" });
  } finally {
    await c.stop();
  }
});

Deno.test("pool: malformed wire messages get an error reply, never a crash", async () => {
  const net = new MemoryNetwork();
  const pool = createPool({
    db: openMemoryDatabase(),
    transport: net.transport("a"),
    replicas: 3,
    poolBytes: 0,
    logger: silentLogger,
  });
  const other = net.transport("b");
  await other.handle(() => Promise.resolve(new Uint8Array()));
  await pool.start();
  try {
    for (
      const bad of [
        new Uint8Array(),
        new Uint8Array([0, 0, 0, 99, 1]),
        new Uint8Array([0, 0, 0, 2, 123, 125]),
        enc.encode('\u0000\u0000\u0000\u0010{"t":"get","k":1}'),
      ]
    ) {
      // Refused with the pool's typed error, carried back on the transport's error channel.
      await assert.rejects(other.request("a", bad), { code: "BAD_FRAME", remote: true });
    }
  } finally {
    await pool.stop();
  }
});

Deno.test("pool: a replica that was cut off comes back and acts on nothing stale", async () => {
  const c = await startCluster(3);
  try {
    const [p1, p2] = c.pools as [Pool, Pool];
    let { version } = await p1.put("ctr", b("0"));
    const first = version;
    c.net.kill("p1"); // paused: still a member, unreachable
    for (let i = 1; i <= 5; i++) {
      version = (await p2.put("ctr", b(String(i)), { ifMatch: version })).version;
    }
    c.net.revive("p1");
    // p1 holds "0" at `first` locally; a CAS against it and a read through it see the truth.
    await assert.rejects(p1.put("ctr", b("x"), { ifMatch: first }), {
      code: "PRECONDITION_FAILED",
    });
    const got = await p1.get("ctr");
    assert.equal(dec.decode(got!.value), "5");
    assert.equal(got!.version, version);
    await p1.put("ctr", b("6"), { ifMatch: version });
    assert.equal(dec.decode((await p2.get("ctr"))!.value), "6");
  } finally {
    await c.stop();
  }
});

Deno.test("pool: a peer alone of three, or two of five, acknowledges nothing", async () => {
  const c = await startCluster(5);
  try {
    await c.pools[0]!.put("k", b("v"));
    for (const id of ["p3", "p4", "p5"]) c.net.kill(id);
    // A key with at most one of its three replicas on the two peers left.
    const key = Array.from({ length: 100 }, (_, i) => `x${i}`).find((k) =>
      owners(k, c.ids, 3).filter((p) => p === "p1" || p === "p2").length < 2
    )!;
    await assert.rejects(c.pools[0]!.put(key, b("w")), { code: "QUORUM_FAILED" });
    await assert.rejects(c.pools[1]!.get(key), { code: "QUORUM_FAILED" });
  } finally {
    for (const id of ["p3", "p4", "p5"]) c.net.revive(id);
    await c.stop();
  }
});

Deno.test("pool: a peer told to join answers QUORUM_FAILED until it has met the mesh", async () => {
  const net = new MemoryNetwork();
  const pool = createPool({
    db: openMemoryDatabase(),
    transport: net.transport("lonely"),
    replicas: 3,
    poolBytes: 1 << 20,
    logger: silentLogger,
    joining: true,
  });
  await pool.start();
  try {
    await assert.rejects(pool.put("k", b("v")), { code: "QUORUM_FAILED" });
  } finally {
    await pool.stop();
  }
});

Deno.test("pool: an eventual read is served by this peer's own replica", async () => {
  const c = await startCluster(3);
  try {
    const { version } = await c.pools[0]!.put("ev", b("1"));
    await c.drain();
    // A peer that has neither written nor strongly read a key since it started reads it strongly.
    for (const p of c.pools) await p.get("ev");
    // Each replica gets a version of its own, as if a write were still on its way to the others:
    // an eventual read answers with this peer's, a strong read with the majority's.
    const parts = parseVersion(version)!;
    for (const [i, p] of c.pools.entries()) {
      await local(c.dbs[i]!).apply({
        key: "ev",
        version: formatVersion({ ...parts, wall: parts.wall + 1, counter: i }),
        value: b(`only on ${i}`),
        tombstone: false,
        expiresAt: 0,
      });
      const before = c.net.requests;
      const got = await p.get("ev", { consistency: "eventual" });
      assert.equal(dec.decode(got!.value), `only on ${i}`);
      assert.equal(c.net.requests, before, "no request to another peer");
    }
    assert.equal(await c.pools[1]!.get("nothing", { consistency: "eventual" }), null);
  } finally {
    await c.stop();
  }
});

Deno.test("pool: an eventual read never goes behind a write this peer acknowledged", async () => {
  const c = await startCluster(3);
  try {
    const [p1, , p3] = c.pools;
    const old = await p1!.put("ryw", b("old"));
    await c.drain();
    const store = c.dbs[2]!.store("pool");
    const stale = await store.get("ryw");
    assert.ok(stale);
    assert.equal(dec.decode((await p3!.get("ryw", { consistency: "eventual" }))!.value), "old");
    const { version } = await p3!.put("ryw", b("new"));
    await c.drain();
    // p3's own replica goes back to the old record, as if it had missed the write.
    await store.put("ryw", stale);
    assert.equal((await local(c.dbs[2]!).get("ryw"))!.version, old.version);
    const got = await p3!.get("ryw", { consistency: "eventual" });
    assert.equal(dec.decode(got!.value), "new");
    assert.equal(got!.version, version);
    // A delete acknowledged here is not undone by a stale replica either.
    assert.equal(await p3!.delete("ryw"), true);
    await c.drain();
    await store.put("ryw", stale);
    assert.equal(await p3!.get("ryw", { consistency: "eventual" }), null);
  } finally {
    await c.stop();
  }
});

Deno.test("pool: an eventual read on a peer that holds no replica asks one replica", async () => {
  const c = await startCluster(4);
  try {
    const key = Array.from({ length: 100 }, (_, i) => `far${i}`)
      .find((k) => !owners(k, c.ids, 3).includes("p4"))!;
    const { version } = await c.pools[0]!.put(key, b("v"));
    await c.drain();
    const p4 = c.pools[3]!;
    // The write sorts below the floor p4 started with (its clock at start plus
    // MAX_CLOCK_AHEAD_MS): a strong read first, so p4 knows the key's version.
    assert.equal((await p4.get(key))!.version, version);
    // A newer version on the second and third replicas, not the first: the first answers an
    // eventual read alone; a strong read meets the majority.
    const parts = parseVersion(version)!;
    for (const owner of owners(key, c.ids, 3).slice(1)) {
      await local(c.dbs[c.ids.indexOf(owner)]!).apply({
        key,
        version: formatVersion({ ...parts, wall: parts.wall + 1 }),
        value: b("newer"),
        tombstone: false,
        expiresAt: 0,
      });
    }
    const before = c.net.requests;
    assert.equal((await p4.get(key, { consistency: "eventual" }))!.version, version);
    assert.equal(c.net.requests - before, 1, "one request, to one replica");
    assert.equal(dec.decode((await p4.get(key))!.value), "newer");
  } finally {
    await c.stop();
  }
});

Deno.test("pool: plain puts of one key from every peer at once: the newest acknowledged stands", async () => {
  const c = await startCluster(3);
  try {
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) => c.pools[i % 3]!.put("contended", b(`w${i}`))),
    );
    const versions: string[] = [];
    for (const r of results) {
      // A put that met another's round may answer "outcome unknown", never anything else.
      if (r.status === "rejected") assert.equal((r.reason as KvError).code, "QUORUM_FAILED");
      else versions.push(r.value.version);
    }
    assert.ok(versions.length >= 50, `${versions.length} of 60 acknowledged`);
    const newest = versions.sort().at(-1)!;
    await c.drain();
    const seen = await Promise.all(c.pools.map(async (p) => (await p.get("contended"))!.version));
    assert.equal(new Set(seen).size, 1, "every peer reads the same version");
    assert.ok(seen[0]! >= newest, "no acknowledged write is overtaken by an older one");
  } finally {
    await c.stop();
  }
});
