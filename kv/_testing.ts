/**
 * An in-memory {@link PoolTransport} network for unit tests and benches: N
 * pools in one process, with members that can be killed (requests to and
 * from them fail, but they stay listed, as in a real mesh before gossip
 * notices), revived, or made to join and leave.
 *
 * @module
 */
import type { PoolMember, PoolTransport } from "./transport.ts";
import { silentLogger } from "./logger.ts";
import { openMemoryDatabase } from "./memory_store.ts";
import { createPool, type Pool, type PoolInit } from "./pool.ts";
import type { Database } from "./store.ts";

interface Node {
  id: string;
  handler?: (body: Uint8Array, from: string) => Promise<Uint8Array>;
  listeners: Set<() => void>;
  down: boolean;
  listed: boolean;
  free: () => number;
}

/**
 * A fake mesh.
 *
 * @example
 * ```ts
 * const net = new MemoryNetwork();
 * const a = createPool({ db: openMemoryDatabase(), transport: net.transport("a"), ... });
 * net.kill("a"); net.revive("a");
 * ```
 */
export class MemoryNetwork {
  readonly #nodes = new Map<string, Node>();
  /** Requests delivered so far (for tests that count hops). */
  requests = 0;

  /** Adds member `id` (visible to all at once, with a membership event) and returns its transport. */
  transport(id: string): PoolTransport {
    const node: Node = { id, listeners: new Set(), down: false, listed: true, free: () => 0 };
    this.#nodes.set(id, node);
    this.#emit(id);
    return {
      self: id,
      members: () => this.#members(),
      onMembership(cb) {
        node.listeners.add(cb);
        return () => node.listeners.delete(cb);
      },
      request: (peer, body) => this.#request(id, peer, body),
      handle(handler) {
        node.handler = handler;
        return Promise.resolve();
      },
    };
  }

  /** Makes member `id` gossip `free()` as its `poolFreeBytes`. */
  setFree(id: string, free: () => number): void {
    const n = this.#nodes.get(id);
    if (n) n.free = free;
  }

  /** Crashes `id`: still listed, but every request to or from it fails. */
  kill(id: string): void {
    this.#node(id).down = true;
  }

  /** Brings `id` back and tells everyone (as a rejoin event would). */
  revive(id: string): void {
    this.#node(id).down = false;
    this.#emit();
  }

  /** Removes `id` from everyone's member list (as the mesh does after a leave). */
  leave(id: string): void {
    this.#node(id).listed = false;
    this.#emit();
  }

  #node(id: string): Node {
    const n = this.#nodes.get(id);
    if (!n) throw new Error(`Unknown node: ${id}`);
    return n;
  }

  #members(): PoolMember[] {
    return [...this.#nodes.values()]
      .filter((n) => n.listed)
      .map((n) => ({ peerId: n.id, poolFreeBytes: n.free() }));
  }

  #emit(except?: string): void {
    for (const n of this.#nodes.values()) {
      if (n.id === except || n.down) continue;
      for (const cb of n.listeners) queueMicrotask(cb);
    }
  }

  async #request(from: string, to: string, body: Uint8Array): Promise<Uint8Array> {
    const src = this.#node(from);
    const dst = this.#nodes.get(to);
    await Promise.resolve();
    if (src.down || !dst || dst.down || !dst.listed || !dst.handler) {
      throw Object.assign(new Error(`Unreachable: ${from} → ${to}`), { unsent: true });
    }
    this.requests++;
    // Copy both ways: peers never share buffers on a real wire. A handler's error comes back
    // with its code and `remote`, as the mesh relays it.
    let reply: Uint8Array;
    try {
      reply = await dst.handler(body.slice(), from);
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown };
      throw Object.assign(new Error(String(e?.message ?? err)), {
        code: typeof e?.code === "string" ? e.code : "PEER_FAILED",
        remote: true,
      });
    }
    return reply.slice();
  }
}

/** A running in-process cluster from {@link startCluster}. */
export interface Cluster {
  net: MemoryNetwork;
  pools: Pool[];
  dbs: Database[];
  ids: string[];
  /** Adds and starts one more member. */
  add(id: string): Promise<Pool>;
  /** Waits for every pool's background work. */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts `n` pools (`p1`..`pn`) on a {@link MemoryNetwork} with in-memory databases.
 *
 * @example
 * ```ts
 * const c = await startCluster(3);
 * await c.pools[0]!.put("a", bytes);
 * await c.stop();
 * ```
 */
export async function startCluster(
  n: number,
  opts: Partial<Omit<PoolInit, "db" | "transport">> = {},
): Promise<Cluster> {
  const net = new MemoryNetwork();
  const pools: Pool[] = [];
  const dbs: Database[] = [];
  const ids: string[] = [];
  const add = async (id: string) => {
    const db = openMemoryDatabase();
    const pool = createPool({
      replicas: 3,
      poolBytes: 1 << 20,
      logger: silentLogger,
      rebalance: { delayMs: 0, debounceMs: 0 },
      ...opts,
      db,
      transport: net.transport(id),
    });
    net.setFree(id, () => pool.capacity().freeBytes);
    await pool.start();
    pools.push(pool);
    dbs.push(db);
    ids.push(id);
    return pool;
  };
  for (let i = 1; i <= n; i++) await add(`p${i}`);
  const drain = async () => {
    // Background work on one pool can start work on another: loop until all are quiet.
    for (let i = 0; i < 3; i++) await Promise.all(pools.map((p) => p.drain?.()));
  };
  return {
    net,
    pools,
    dbs,
    ids,
    add,
    drain,
    async stop() {
      await drain();
      await Promise.all(pools.map((p) => p.stop()));
    },
  };
}
