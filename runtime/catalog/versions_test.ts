/**
 * Kept versions and rollback in the catalogue: the history an entry carries is bounded and
 * ordered, a rollback goes to the version below the current one, the operator's signature
 * covers the history, a peer that missed deploys lists the same versions, and bundles no kept
 * version refers to leave the store. Registries run over an in-memory database, real sandboxes,
 * and a two-peer mesh in memory.
 */
import assert from "node:assert/strict";
import { type Database, openMemoryDatabase } from "../../kv/mod.ts";
import { VirgoError } from "../errors.ts";
import { type Logger, silentLogger } from "../log.ts";
import { recordingLogger } from "../_testing.ts";
import { createSandboxPool, type SandboxPool } from "../sandbox/mod.ts";
import type { CatalogNet, FunctionVersion } from "./entry.ts";
import { generateOperatorKey, loadOperator, type Operator, signedBytes } from "./operator.ts";
import { createRegistry, pushVersion, type Registry, rollbackTarget } from "./registry.ts";
import { createSealer } from "./secrets.ts";
import { sha256Hex } from "../../core/mod.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const source = (tag: string) => `export default { fetch: () => new Response("${tag}") }`;
const enc = new TextEncoder();

/** A kept version with only what ordering and choosing look at. */
const item = (version: string): FunctionVersion => ({
  version,
  hash: "0".repeat(64),
  size: 1,
  vars: {},
  timeoutMs: 1000,
  memoryMb: 128,
  allowLoopback: false,
  allowPrivate: false,
  public: true,
  kvNamespace: "f",
  deployedAt: "2026-01-01T00:00:00.000Z",
  origin: "p",
});
const ids = (list: FunctionVersion[]) => list.map((v) => v.version);

Deno.test("catalogue: a new version goes on top, a kept one moves up, the list stays at N", () => {
  let list: FunctionVersion[] = [];
  for (let i = 1; i <= 12; i++) list = pushVersion(list, item(`v${i}`), 10);
  assert.deepEqual(ids(list), ["v12", "v11", "v10", "v9", "v8", "v7", "v6", "v5", "v4", "v3"]);
  list = pushVersion(list, item("v5"), 10);
  assert.deepEqual(ids(list), ["v5", "v12", "v11", "v10", "v9", "v8", "v7", "v6", "v4", "v3"]);
  assert.deepEqual(ids(pushVersion(list, item("v13"), 3)), ["v13", "v5", "v12"]);
});

Deno.test("catalogue: a rollback goes to the version below the current, or to the one named", () => {
  const list = ["aaaa1111", "aaaa2222", "bbbb3333"].map((v) => item(v.padEnd(16, "0")));
  const [newest, middle, oldest] = ids(list) as [string, string, string];
  assert.equal(rollbackTarget("f", list, newest).version, middle);
  assert.equal(rollbackTarget("f", list, middle).version, oldest);
  assert.equal(rollbackTarget("f", list, oldest, "aaaa1").version, newest);
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (err) {
      return `${(err as VirgoError).code}: ${(err as Error).message}`;
    }
    return "no error";
  };
  assert.equal(
    code(() => rollbackTarget("f", list, oldest)),
    `CONFLICT: f has no version older than ${oldest} to roll back to (virgo versions f)`,
  );
  assert.match(code(() => rollbackTarget("f", list, newest, "cccc")), /^NOT_FOUND: f has no kept/);
  assert.match(code(() => rollbackTarget("f", list, newest, "aaaa")), /^BAD_REQUEST: aaaa names 2/);
  assert.match(code(() => rollbackTarget("f", list, newest, newest)), /^CONFLICT: .* already the/);
});

/**
 * Two peers' view of the mesh, in memory: what one publishes the other receives and requests
 * reach the other's handlers — while `connected`. `tamper` may rewrite what is delivered.
 */
function twoPeerMesh() {
  type Node = {
    net: CatalogNet;
    subs: Map<string, Array<(data: Uint8Array, from: string) => void>>;
    handlers: Map<string, (req: Uint8Array, from: string) => Promise<Uint8Array>>;
  };
  const nodes: Node[] = [];
  const mesh = {
    connected: false,
    tamper: (data: Uint8Array) => data,
    node(peerId: string): CatalogNet {
      const node: Node = { subs: new Map(), handlers: new Map(), net: undefined! };
      const other = () => nodes.find((n) => n !== node);
      node.net = {
        peerId,
        peers: () => [
          { peerId, self: true, catalog: { digest: "", count: 0 } },
          ...(mesh.connected && other()
            ? [{ peerId: other()!.net.peerId, self: false, catalog: { digest: "", count: 0 } }]
            : []),
        ],
        onMembership: () => () => {},
        publish(topic, data) {
          const to = other();
          if (mesh.connected && to) {
            for (const h of to.subs.get(topic) ?? []) h(mesh.tamper(data), peerId);
          }
          return Promise.resolve();
        },
        subscribe(topic, handler) {
          node.subs.set(topic, [...(node.subs.get(topic) ?? []), handler]);
        },
        handle(protocol, handler) {
          node.handlers.set(protocol, handler);
          return Promise.resolve();
        },
        async request(to, protocol, req) {
          const target = nodes.find((n) => n.net.peerId === to);
          const handler = target?.handlers.get(protocol);
          if (!mesh.connected || !handler) throw new Error(`${to} is unreachable`);
          return mesh.tamper(await handler(req, peerId));
        },
      };
      nodes.push(node);
      return node.net;
    },
  };
  return mesh;
}

/** A registry over its own in-memory database and sandboxes; `stop` ends both. */
async function startRegistry(
  net: CatalogNet,
  extra: { operator?: Operator; keepVersions?: number; db?: Database; logger?: Logger } = {},
): Promise<{ registry: Registry; db: Database; sandbox: SandboxPool; stop(): Promise<void> }> {
  const db = extra.db ?? openMemoryDatabase();
  const sandbox = createSandboxPool({
    peerId: net.peerId,
    logger: silentLogger,
    kv: () => Promise.reject(new Error("no kv in this test")),
    denyNet: [],
    spares: 0,
  });
  await sandbox.start();
  const registry = createRegistry({
    db,
    sandbox,
    net,
    logger: extra.logger ?? silentLogger,
    sealer: await createSealer(new Uint8Array(32)),
    operator: extra.operator,
    keepVersions: extra.keepVersions,
  });
  await registry.start();
  return {
    registry,
    db,
    sandbox,
    async stop() {
      registry.stop();
      await sandbox.stop();
    },
  };
}

const deployInput = (tag: string) => ({
  code: source(tag),
  vars: {},
  timeoutMs: 5_000,
  memoryMb: 128,
  allowLoopback: false,
});

Deno.test(
  "catalogue: the signed history reaches a peer that missed deploys; a forged one does not",
  opts,
  async () => {
    const { privateJwk, publicKey } = await generateOperatorKey();
    const keyFile = await Deno.makeTempFile({ prefix: "virgo-op-" });
    await Deno.writeTextFile(keyFile, JSON.stringify(privateJwk));
    const mesh = twoPeerMesh();
    const a = await startRegistry(mesh.node("peer-a"), {
      operator: (await loadOperator({ keyFile }))!,
      keepVersions: 3,
    });
    const bLog = recordingLogger();
    const b = await startRegistry(mesh.node("peer-b"), {
      operator: (await loadOperator({ publicKey }))!,
      logger: bLog,
    });
    try {
      // b is away for the first three deploys.
      for (const tag of ["one", "two", "three"]) await a.registry.deploy("f", deployInput(tag));
      mesh.connected = true;
      // The history is signed with the rest of the entry: a rewritten one fails the check.
      const entry = a.registry.get("f")!;
      assert.equal(entry.history!.length, 3);
      const op = (await loadOperator({ publicKey }))!;
      assert.ok(await op.verify(signedBytes(entry), entry.sig!));
      const rewritten = {
        ...entry,
        history: entry.history!.map((v, i) => i === 1 ? { ...v, hash: "f".repeat(64) } : v),
      };
      assert.ok(!(await op.verify(signedBytes(rewritten), entry.sig!)));

      // What b receives has one kept version's bundle hash changed: b drops it.
      mesh.tamper = (data) => {
        const text = new TextDecoder().decode(data);
        const hash = entry.history![1]!.hash;
        return enc.encode(text.replace(`"hash":"${hash}"`, `"hash":"${"f".repeat(64)}"`));
      };
      await a.registry.deploy("f", deployInput("four"));
      const forged = a.registry.get("f")!;
      await waitUntil(() =>
        bLog.lines.some((l) => l.level === "warn" && /without a valid operator/.test(l.msg ?? ""))
      );
      assert.equal(b.registry.get("f"), undefined);

      // Untouched, the next change arrives, and b lists what a lists though it saw one entry.
      mesh.tamper = (data) => data;
      await a.registry.rollback("f");
      const rolled = a.registry.get("f")!;
      assert.notEqual(rolled.version, forged.version);
      await waitUntil(() => b.registry.get("f")?.version === rolled.version);
      assert.deepEqual(b.registry.versions("f"), a.registry.versions("f"));
      assert.deepEqual(
        ids(a.registry.versions("f").versions),
        [forged.version, rolled.version, entry.history![1]!.version],
      );
      assert.equal(a.registry.versions("f").current, rolled.version);
    } finally {
      await a.stop();
      await b.stop();
      await Deno.remove(keyFile);
    }
  },
);

/** Polls `check` until true (bounded): the in-memory mesh delivers without waiting on timers. */
async function waitUntil(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error("Timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test(
  "catalogue: a deploy whose bundle does not load stores none, and the old version serves on",
  opts,
  async () => {
    const db = openMemoryDatabase();
    const stored = db.store("bundles");
    const peer = await startRegistry(twoPeerMesh().node("peer-a"), { db });
    try {
      const { registry } = peer;
      const good = await registry.deploy("f", deployInput("good"));
      assert.ok(await stored.get(good.hash));
      for (const code of ["export default {", "throw new Error('boom at load')"]) {
        const err = await registry.deploy("f", { ...deployInput("x"), code }).then(
          () => assert.fail("deployed a bundle that does not load"),
          (e: VirgoError) => e,
        );
        assert.equal(err.code, "INVALID_BUNDLE");
        assert.equal(await stored.get(await sha256Hex(enc.encode(code))), undefined);
      }
      assert.equal(registry.get("f")!.version, good.version);
      assert.ok(await stored.get(good.hash));
    } finally {
      await peer.stop();
    }
  },
);

Deno.test(
  "catalogue: rollback serves the version below; bundles no kept version refers to are deleted",
  opts,
  async () => {
    const mesh = twoPeerMesh();
    const db = openMemoryDatabase();
    const stored = db.store("bundles");
    const hashOf = async (tag: string) => await sha256Hex(enc.encode(source(tag)));
    // Left behind by an earlier run: no entry refers to it, so the start deletes it.
    await stored.put(await hashOf("stray"), enc.encode(source("stray")));
    let peer = await startRegistry(mesh.node("peer-a"), { keepVersions: 3, db });
    try {
      assert.equal(await stored.get(await hashOf("stray")), undefined);
      const { registry } = peer;
      const run = async () => {
        const meta = registry.get("f")!;
        const spec = await registry.spec(meta);
        return await (await peer.sandbox.invoke(spec, new Request("http://fn/"), {
          requestId: "t",
        })).text();
      };
      const v: string[] = [];
      for (const tag of ["one", "two", "three", "four"]) {
        v.push((await registry.deploy("f", deployInput(tag))).version);
      }
      // Bounded at 3: the first version and its bundle are gone.
      assert.deepEqual(ids(registry.versions("f").versions), [v[3], v[2], v[1]]);
      assert.equal(await stored.get(await hashOf("one")), undefined);
      for (const tag of ["two", "three", "four"]) assert.ok(await stored.get(await hashOf(tag)));

      const back = await registry.rollback("f");
      assert.equal(back.version, v[2]);
      assert.equal(await run(), "three");
      assert.equal((await registry.rollback("f")).version, v[1]);
      assert.equal(await run(), "two");
      // The list is the same, only the current one moved.
      assert.deepEqual(registry.versions("f"), {
        current: v[1],
        versions: registry.versions("f").versions,
      });
      assert.deepEqual(ids(registry.versions("f").versions), [v[3], v[2], v[1]]);
      await assert.rejects(registry.rollback("f"), (e: VirgoError) => e.code === "CONFLICT");

      // A deploy on top pushes the oldest (the current one) out, and its bundle with it: from the
      // store and from memory, so the old entry's code cannot be had any more.
      const old = registry.get("f")!;
      v.push((await registry.deploy("f", deployInput("five"))).version);
      assert.deepEqual(ids(registry.versions("f").versions), [v[4], v[3], v[2]]);
      assert.equal(await stored.get(await hashOf("two")), undefined);
      await assert.rejects(registry.spec(old), (e: VirgoError) => e.code === "NO_PEER_AVAILABLE");
      assert.equal(await run(), "five");

      // A restart counts the same references: nothing kept is swept.
      await peer.stop();
      peer = await startRegistry(mesh.node("peer-a2"), { keepVersions: 3, db });
      for (const tag of ["three", "four", "five"]) assert.ok(await stored.get(await hashOf(tag)));
      assert.deepEqual(ids(peer.registry.versions("f").versions), [v[4], v[3], v[2]]);

      // A delete forgets every version, and every bundle goes.
      assert.ok(await peer.registry.remove("f"));
      assert.deepEqual(await stored.list(), []);
    } finally {
      await peer.stop();
      await db.close();
    }
  },
);
