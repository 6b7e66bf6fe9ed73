/**
 * The replicated key-value pool: `createPool` wires the parts (records,
 * replication, coordinator, handoff, rebalance, memory API) over one
 * {@link PoolTransport} and serves the other peers' requests.
 *
 * @module
 */
import { Background } from "./_background.ts";
import type { PoolContext } from "./_context.ts";
import { SeenVersions } from "./_seen.ts";
import {
  DEFAULT_MAX_KEY_BYTES,
  DEFAULT_MAX_VALUE_BYTES,
  DEFAULT_REPLICAS,
  HANDOFF_INTERVAL_MS,
  INTERNAL_PREFIX,
  MAX_CLOCK_AHEAD_MS,
  MEM_PREFIX,
  MEMBER_SYNC_MS,
  REBALANCE_BATCH,
  REBALANCE_DEBOUNCE_MS,
  REBALANCE_DELAY_MS,
  REQUEST_TIMEOUT_MS,
  SEEN_VERSIONS_MAX,
  SWEEP_INTERVAL_MS,
  TOMBSTONE_GC_MS,
} from "./constants.ts";
import { Coordinator } from "./coordinator.ts";
import { KvError } from "./errors.ts";
import { Handoff } from "./handoff.ts";
import { formatVersion, Hlc, NO_VERSION } from "./hlc.ts";
import { hasControl, listLimit, validateKey, validateTtl, validateValue } from "./keys.ts";
import { listKeys, localEntries } from "./list.ts";
import type { Logger } from "./logger.ts";
import { MemPool } from "./mem.ts";
import { KnownMembers } from "./members.ts";
import { owners } from "./placement.ts";
import { isLive, type PoolRecord, type Promise1, RecordStore } from "./records.ts";
import { Rebalancer } from "./rebalance.ts";
import { Replication } from "./replication.ts";
import { PeerUnavailableError, Rpc } from "./rpc.ts";
import { type PoolCounters, poolCounters } from "./stats.ts";
import type { Database } from "./store.ts";
import type { PoolTransport } from "./transport.ts";
import {
  decodeRequest,
  encodeMessage,
  packRecords,
  type RequestHead,
  unpackRecords,
} from "./wire.ts";

/** What {@link createPool} needs. */
export interface PoolInit {
  /** This peer's database; the pool uses namespaces `pool`, `hints` and `mem-ledger`. */
  db: Database;
  transport: PoolTransport;
  /** Copies per key; fewer when the mesh is smaller. @default 3 */
  replicas: number;
  /** Bytes this peer offers to `alloc` (its share of `virgo_malloc` memory). */
  poolBytes: number;
  /** @default 1024 */
  maxKeyBytes?: number;
  /** @default 1048576 */
  maxValueBytes?: number;
  logger: Logger;
  /** Wall clock in ms; inject to test TTLs. @default Date.now */
  clock?: () => number;
  /** Per-request timeout. @default 2000 */
  requestTimeoutMs?: number;
  /** Expired-entry and tombstone sweep interval. @default 60000 */
  sweepIntervalMs?: number;
  /** Tombstone lifetime before GC. @default 86400000 */
  tombstoneGcMs?: number;
  /** Hint delivery retry interval. @default 5000 */
  handoffIntervalMs?: number;
  /** Rebalance pacing. @default { batch: 256, delayMs: 20, debounceMs: 200 } */
  rebalance?: { batch?: number; delayMs?: number; debounceMs?: number };
  /**
   * This peer was told to join a mesh: until it has learned the membership from a member, it
   * does not take itself for the whole pool. @default {false}
   */
  joining?: boolean;
}

/**
 * How a read may answer, as Deno KV names it.
 *
 * - `"strong"`: linearizable — a majority of the key's replicas answers (and settles the key
 *   first when they disagree), so the read sees every write acknowledged before it began.
 * - `"eventual"`: one replica answers — this peer's own when it holds the key, else one that
 *   does — so it may be behind the newest write, or show one still in flight; but never older
 *   than a version this peer acknowledged to a writer or answered from a strong read: when the
 *   replica is behind that, the read is made strong.
 */
export type Consistency = "strong" | "eventual";

/** Options of {@link Pool.get}. */
export interface GetOptions {
  /** @default "strong" */
  consistency?: Consistency;
}

/** Options of {@link Pool.put}. */
export interface PutOptions {
  /** Write only if the newest version is this; `"0"` means "only if the key does not exist". */
  ifMatch?: string;
  /** Expire after this many seconds. */
  ttlSeconds?: number;
}

/**
 * The cluster's key-value memory pool, as one peer offers it.
 *
 * @example
 * ```ts
 * const pool = createPool({ db, transport, replicas: 3, poolBytes: 64 << 20, logger });
 * await pool.start();
 * const { version } = await pool.put("a", bytes);
 * const hit = await pool.get("a"); // { value, version } | null
 * await pool.stop();
 * ```
 */
export interface Pool {
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * The key's value and version, or null: by default the newest a majority of the key's
   * replicas holds; with `consistency: "eventual"` one replica's (see {@link Consistency}).
   */
  get(key: string, opts?: GetOptions): Promise<{ value: Uint8Array; version: string } | null>;
  /** Writes through the key's coordinator; resolves once a majority holds it. */
  put(key: string, value: Uint8Array, opts?: PutOptions): Promise<{ version: string }>;
  /** Deletes (a tombstone); false if the key did not exist. */
  delete(key: string, opts?: { ifMatch?: string }): Promise<boolean>;
  /** A page of live keys in order, merged across members. */
  list(
    opts: { prefix?: string; after?: string; limit?: number },
  ): Promise<{ keys: string[]; next?: string }>;
  /** `virgo_malloc`. */
  alloc(size: number): Promise<string>;
  /** `virgo_set`. */
  memSet(addr: string, data: Uint8Array, offset?: number): Promise<void>;
  /** `virgo_get`. */
  memGet(addr: string): Promise<Uint8Array>;
  /** `virgo_free`. */
  free(addr: string): Promise<void>;
  /** This peer's pool bytes: total offered, free (not reserved by blocks it owns). */
  capacity(): { totalBytes: number; freeBytes: number };
  /** The known members, down ones included: what placement and quorums count. */
  members(): string[];
  /** An operator's removal of a member that is gone for good; false if it was not one. */
  removeMember(peerId: string): Promise<boolean>;
  /** Waits for background work started so far (read repair, hints, rebalance). */
  drain?(): Promise<void>;
  /** Hands stored hints to returning peers now (also runs on membership events). */
  deliverHints?(): Promise<void>;
  /** Hints waiting for their peers. */
  pendingHints?(): Promise<number>;
  /** What this peer holds: records (its share of the keys, tombstones included) and pending hints. */
  stats(): Promise<{ records: number; hints: number }>;
  /** Quorums reached and missed, and rebalance progress, since the pool was created. */
  counters(): PoolCounters;
}

/**
 * Creates this peer's pool. Call `start()` to serve other peers.
 *
 * @example
 * ```ts
 * const pool = createPool({ db, transport, replicas: 3, poolBytes: 1 << 26, logger });
 * ```
 */
export function createPool(init: PoolInit): Pool {
  const { transport, logger } = init;
  const clock = init.clock ?? Date.now;
  const maxKeyBytes = init.maxKeyBytes ?? DEFAULT_MAX_KEY_BYTES;
  const maxValueBytes = init.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
  const replicas = Math.max(1, Math.floor(init.replicas || DEFAULT_REPLICAS));
  const members = new KnownMembers(init.db.store("members"), transport.self, clock);
  const peers = () => members.list();
  // Asked several times by every operation (which replicas to contact): built once per change
  // of the mesh's view, not per call.
  let liveSet: Set<string> | undefined;
  const live = () => {
    if (liveSet) return liveSet;
    liveSet = new Set(transport.members().map((m) => m.peerId));
    liveSet.add(transport.self);
    return liveSet;
  };
  const hlc = new Hlc(transport.self, clock);
  const ctx: PoolContext = {
    self: transport.self,
    transport,
    rpc: new Rpc(transport, init.requestTimeoutMs ?? REQUEST_TIMEOUT_MS),
    requestTimeoutMs: init.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
    records: new RecordStore(init.db.store("pool"), {
      clock,
      tombstoneGcMs: init.tombstoneGcMs ?? TOMBSTONE_GC_MS,
      floor: hlc.next(),
    }),
    hlc,
    clock,
    logger,
    replicas,
    maxValueBytes,
    bg: new Background(),
    counters: poolCounters(),
    peers,
    live,
    ownersOf: (key, among) => owners(key, among ?? peers(), replicas),
  };
  const handoff = new Handoff(ctx, init.db.store("hints"));
  const replication = new Replication(ctx, handoff);
  handoff.bind((peer, records) => replication.applyOn(peer, records));
  const coordinator = new Coordinator(ctx, replication);
  // Every version acknowledged before a restart is below this: this peer's clock never ran more
  // than MAX_CLOCK_AHEAD_MS past the wall clock (versions further ahead are refused, never adopted).
  const seen = new SeenVersions(
    formatVersion({ wall: clock() + MAX_CLOCK_AHEAD_MS, counter: 0, peerId: transport.self }),
    SEEN_VERSIONS_MAX,
  );

  /** A linearizable read, remembered as a floor for later eventual reads of the key. */
  async function strongRead(key: string): Promise<PoolRecord | undefined> {
    const mark = seen.mark();
    const r = await coordinator.read(key);
    seen.learn(key, r?.version ?? "", mark);
    return r;
  }

  /** One replica's record — this peer's own if it holds the key — unless it is behind `seen`. */
  async function eventualRead(key: string): Promise<PoolRecord | undefined> {
    const owners = ctx.ownersOf(key);
    let r: PoolRecord | undefined;
    if (owners.includes(ctx.self)) {
      r = await ctx.records.get(key);
      if (seen.covers(key, r?.version)) return r;
    } else {
      const live = ctx.live();
      const peer = owners.find((p) => live.has(p));
      if (peer !== undefined) {
        try {
          r = await replication.readOn(peer, key);
          if (seen.covers(key, r?.version)) return r;
        } catch (err) {
          if (!(err instanceof PeerUnavailableError)) throw err;
        }
      }
    }
    return await strongRead(key);
  }
  const mem = new MemPool(ctx, {
    coordinator,
    ledger: init.db.store("mem-ledger"),
    poolBytes: init.poolBytes,
  });
  const rebalancer = new Rebalancer(ctx, (peer, records) => replication.applyOn(peer, records), {
    batch: init.rebalance?.batch ?? REBALANCE_BATCH,
    delayMs: init.rebalance?.delayMs ?? REBALANCE_DELAY_MS,
    debounceMs: init.rebalance?.debounceMs ?? REBALANCE_DEBOUNCE_MS,
  });

  let running = false;
  const timers: Array<ReturnType<typeof setInterval>> = [];
  let unsubscribe: (() => void) | undefined;

  // A key arriving from another peer: a user key, or a memory block's internal key.
  const checkWireKey = (key: string) => {
    if (key.startsWith(MEM_PREFIX)) return;
    if (key.startsWith(INTERNAL_PREFIX)) throw new KvError("INVALID_KEY", "Unknown internal key");
    validateKey(key, maxKeyBytes);
  };

  async function serve(head: RequestHead, payload: Uint8Array): Promise<Uint8Array> {
    switch (head.t) {
      case "get": {
        const r = await ctx.records.get(head.k);
        if (!r) return encodeMessage({ t: "rec", r: null });
        const { metas, payload: p } = packRecords([r]);
        return encodeMessage({ t: "rec", r: metas[0]! }, p);
      }
      case "mget": {
        const found = await Promise.all(head.k.map((k) => ctx.records.get(k)));
        const { metas, payload: p } = packRecords(found.filter((r) => r !== undefined));
        let i = 0;
        return encodeMessage({ t: "recs", r: found.map((r) => r ? metas[i++]! : null) }, p);
      }
      case "apply": {
        const records = unpackRecords(head.r, payload);
        for (const r of records) {
          checkWireKey(r.key);
          if (ctx.hlc.isAhead(r.version)) {
            logger.warn({ key: r.key, version: r.version }, "kv: refused a record from the future");
            throw new KvError(
              "INVALID_VERSION",
              `Version ${r.version} is ahead of this peer's clock`,
            );
          }
        }
        const v = await Promise.all(records.map((r) => ctx.records.apply(r)));
        return encodeMessage({ t: "vers", v });
      }
      case "write": {
        ready();
        checkWireKey(head.k);
        if (head.dl !== undefined && clock() > head.dl) {
          throw new KvError("QUORUM_FAILED", `Write of ${head.k} arrived after its deadline`);
        }
        // Block values carry a 4-byte size header on top of the data.
        validateValue(payload, head.k.startsWith(MEM_PREFIX) ? maxValueBytes + 4 : maxValueBytes);
        const op = { key: head.k, value: payload.slice(), tombstone: head.d === 1 };
        const res = await coordinator.coordinate({
          ...op,
          ...(head.m !== undefined ? { ifMatch: head.m } : {}),
          ...(head.ttl !== undefined ? { ttlSeconds: head.ttl } : {}),
          ...(head.o !== undefined && head.k.startsWith(MEM_PREFIX) ? { patchAt: head.o } : {}),
          ...(head.dl !== undefined ? { deadline: head.dl } : {}),
        });
        return encodeMessage({ t: "put", v: res.version, e: res.existed });
      }
      case "list":
        return encodeMessage({ t: "keys", e: await localEntries(ctx, head.p, head.a, head.l) });
      case "alloc":
        return encodeMessage({ t: "addr", a: await mem.allocLocal(head.s) });
      case "release":
        await mem.releaseLocal(head.b);
        return encodeMessage({ t: "ok" });
      case "settle": {
        ready();
        checkWireKey(head.k);
        const r = (await coordinator.coordinate({ key: head.k, read: true })).record;
        if (!r) return encodeMessage({ t: "rec", r: null });
        const { metas, payload: p } = packRecords([r]);
        return encodeMessage({ t: "rec", r: metas[0]! }, p);
      }
      case "prep":
        checkWireKey(head.k);
        return paxosReply(await ctx.records.prepare(head.k, head.b));
      case "acc": {
        const [r] = unpackRecords([head.r], payload) as [PoolRecord];
        checkWireKey(r.key);
        if (ctx.hlc.isAhead(head.b)) {
          throw new KvError("INVALID_VERSION", `Ballot ${head.b} is ahead of this peer's clock`);
        }
        return paxosReply(await ctx.records.accept(r, head.b));
      }
      case "members":
        if (await members.merge({ m: head.m, x: head.x })) rebalancer.schedule();
        return encodeMessage({ t: "members", ...members.snapshot() });
    }
  }

  function paxosReply(p: Promise1): Uint8Array {
    if (!p.record) return encodeMessage({ t: "paxos", ok: p.ok, ...ballot(p), r: null });
    const { metas, payload } = packRecords([p.record]);
    return encodeMessage({ t: "paxos", ok: p.ok, ...ballot(p), r: metas[0]! }, payload);
  }
  const ballot = (p: Promise1) => p.ballot === undefined ? {} : { b: p.ballot };

  /** Tells `peer` the membership this peer knows and merges what it knows back. */
  async function syncMembers(peer: string): Promise<void> {
    try {
      const { head } = await ctx.rpc.call(peer, { t: "members", ...members.snapshot() });
      if (head.t === "members" && await members.merge({ m: head.m, x: head.x })) {
        rebalancer.schedule();
      }
      synced = true;
    } catch (err) {
      logger.debug({ peer, err }, "kv: membership sync failed");
    }
  }

  /**
   * A peer that was told to join a mesh and has never met it knows only itself: it must not
   * take itself for the whole pool, so it answers `QUORUM_FAILED` until it has learned the
   * membership from a member.
   */
  function ready(): void {
    if (init.joining && !synced && !members.met()) {
      throw new KvError(
        "QUORUM_FAILED",
        "This peer has not learned the pool's membership from the mesh yet",
      );
    }
  }

  let synced = false;

  /**
   * Answers another member. Errors are thrown, not encoded: the transport carries them back with
   * their code on the mesh's one error channel (a `KvError` arrives as itself, anything else as
   * an unavailable peer).
   */
  async function handler(body: Uint8Array, from: string): Promise<Uint8Array> {
    if (!running) throw new Error("Pool is not running");
    let req;
    try {
      req = decodeRequest(body);
    } catch (err) {
      logger.warn({ from, err: String(err) }, "kv: malformed request");
      throw err; // the decoder's typed BAD_FRAME
    }
    try {
      return await serve(req.head, req.payload);
    } catch (err) {
      if (!(err instanceof KvError)) {
        logger.error({ from, op: req.head.t, err }, "kv: request failed");
      }
      throw err;
    }
  }

  let met = new Set<string>();
  const onMembership = () => {
    liveSet = undefined;
    const now = live();
    ctx.bg.track((async () => {
      const before = members.list().join();
      await members.observe([...now]);
      // Each peer newly in sight learns what this one knows (and tells back), down members too.
      await Promise.all([...now].filter((p) => p !== ctx.self && !met.has(p)).map(syncMembers));
      met = now;
      if (members.list().join() !== before) rebalancer.schedule();
      await handoff.deliver();
    })());
  };

  return {
    async start() {
      if (running) return;
      await mem.load();
      await members.load();
      running = true;
      await transport.handle(handler);
      unsubscribe = transport.onMembership(onMembership);
      onMembership();
      timers.push(setInterval(() => {
        const others = [...live()].filter((p) => p !== ctx.self);
        const peer = others[Math.floor(Math.random() * others.length)];
        if (peer !== undefined) ctx.bg.track(syncMembers(peer));
      }, MEMBER_SYNC_MS));
      timers.push(setInterval(() => {
        ctx.bg.track(ctx.records.sweep().catch((err) => logger.warn({ err }, "kv: sweep failed")));
      }, init.sweepIntervalMs ?? SWEEP_INTERVAL_MS));
      timers.push(
        setInterval(
          () => ctx.bg.track(handoff.deliver()),
          init.handoffIntervalMs ?? HANDOFF_INTERVAL_MS,
        ),
      );
      rebalancer.schedule();
    },
    async stop() {
      if (!running) return;
      running = false;
      unsubscribe?.();
      for (const t of timers) clearInterval(t);
      timers.length = 0;
      rebalancer.stop();
      await ctx.bg.idle();
    },
    async get(key, opts = {}) {
      validateKey(key, maxKeyBytes);
      ready();
      const r = opts.consistency === "eventual" ? await eventualRead(key) : await strongRead(key);
      return isLive(r, clock()) ? { value: r.value, version: r.version } : null;
    },
    async put(key, value, opts = {}) {
      validateKey(key, maxKeyBytes);
      ready();
      validateValue(value, maxValueBytes);
      if (opts.ttlSeconds !== undefined) validateTtl(opts.ttlSeconds);
      const res = await coordinator.write({
        key,
        value: value.slice(),
        tombstone: false,
        ...(opts.ifMatch !== undefined ? { ifMatch: opts.ifMatch } : {}),
        ...(opts.ttlSeconds !== undefined ? { ttlSeconds: opts.ttlSeconds } : {}),
      });
      seen.raise(key, res.version);
      return { version: res.version };
    },
    async delete(key, opts = {}) {
      validateKey(key, maxKeyBytes);
      ready();
      const res = await coordinator.write({
        key,
        value: new Uint8Array(),
        tombstone: true,
        ...(opts.ifMatch !== undefined ? { ifMatch: opts.ifMatch } : {}),
      });
      if (res.version !== NO_VERSION) seen.raise(key, res.version);
      return res.existed;
    },
    async list(opts = {}) {
      const prefix = opts.prefix ?? "";
      if (typeof prefix !== "string" || hasControl(prefix)) {
        throw new KvError("INVALID_KEY", "Prefix must not contain control characters");
      }
      const o = { prefix, limit: listLimit(opts.limit) };
      return await listKeys(ctx, opts.after === undefined ? o : { ...o, after: opts.after });
    },
    alloc: (size) => (ready(), mem.alloc(size)),
    memSet: (addr, data, offset = 0) => (ready(), mem.set(addr, data, offset)),
    memGet: (addr) => (ready(), mem.get(addr)),
    free: (addr) => (ready(), mem.free(addr)),
    members: () => members.list(),
    async removeMember(peerId) {
      if (live().has(peerId)) {
        throw new KvError("PRECONDITION_FAILED", `${peerId} is up: stop it before removing it`);
      }
      if (!(await members.remove(peerId))) return false;
      logger.warn({ peer: peerId }, "kv: member removed by the operator");
      rebalancer.schedule();
      // Tell everyone now rather than at the next sync.
      await Promise.all([...live()].filter((p) => p !== ctx.self).map(syncMembers));
      return true;
    },
    capacity: () => mem.capacity(),
    drain: () => ctx.bg.idle(),
    deliverHints: () => handoff.deliver(),
    pendingHints: () => handoff.count(),
    stats: async () => ({ records: await ctx.records.count(), hints: await handoff.count() }),
    counters: () => ctx.counters,
  };
}
