/**
 * VIRGO's memory API — `virgo_malloc`, `virgo_set`, `virgo_get`,
 * `virgo_free` — on top of the replicated pool.
 *
 * Addresses mirror the seed's `struct virgo_address { node_id; addr; }`:
 * `<peerId>:<blockId>`, where `peerId` is the member charged for the block and
 * `blockId` is 16 lowercase hex digits. Both parts are URL-safe, so an
 * address goes into `/v1/mem/:addr` as is.
 *
 * A block is one replicated pool key, `\u0000mem/<addr>` (internal: user keys
 * cannot start with a control character), whose value is `[u32 size][data]`;
 * data shorter than `size` reads zero-filled, so `alloc` writes no zeros.
 *
 * Accounting: the member named in the address reserves `size` bytes of its
 * `poolBytes` in a local ledger (namespace `mem-ledger`) at `alloc` and
 * releases them at `free`; `capacity()` reports that. The block's bytes are
 * stored on the key's replicas like any value. Allocation goes to the member
 * gossiping the most free bytes that can hold the block.
 *
 * @module
 */
import type { PoolContext } from "./_context.ts";
import { decodeBlock, encodeBlock } from "./_block.ts";
import { MEM_PREFIX } from "./constants.ts";
import type { Coordinator } from "./coordinator.ts";
import { KvError } from "./errors.ts";
import { isLive } from "./records.ts";
import { PeerUnavailableError } from "./rpc.ts";
import type { Store } from "./store.ts";

const ADDRESS = /^([A-Za-z0-9_-]{1,128}):([0-9a-f]{16})$/;

/**
 * Splits and checks an address; throws INVALID_ADDRESS.
 *
 * @example
 * ```ts
 * parseAddress("12D3KooWAbc:00ff00ff00ff00ff"); // { peerId: "12D3KooWAbc", blockId: "00ff00ff00ff00ff" }
 * ```
 */
export function parseAddress(addr: unknown): { peerId: string; blockId: string } {
  const m = typeof addr === "string" ? ADDRESS.exec(addr) : null;
  if (!m) {
    throw new KvError("INVALID_ADDRESS", `Invalid memory address: ${String(addr).slice(0, 200)}`);
  }
  return { peerId: m[1]!, blockId: m[2]! };
}

function blockKey(addr: string): string {
  return MEM_PREFIX + addr;
}

function newBlockId(): string {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/**
 * The memory pool of one peer.
 *
 * @example
 * ```ts
 * const addr = await mem.alloc(1024);
 * await mem.set(addr, bytes, 16);
 * const all = await mem.get(addr); // 1024 bytes
 * await mem.free(addr);
 * ```
 */
export class MemPool {
  readonly #ctx: PoolContext;
  readonly #coordinator: Coordinator;
  readonly #ledger: Store;
  readonly #poolBytes: number;
  #used = 0;

  constructor(
    ctx: PoolContext,
    deps: { coordinator: Coordinator; ledger: Store; poolBytes: number },
  ) {
    this.#ctx = ctx;
    this.#coordinator = deps.coordinator;
    this.#ledger = deps.ledger;
    this.#poolBytes = deps.poolBytes;
  }

  /** Loads the ledger (what this peer has reserved) from disk. */
  async load(): Promise<void> {
    let used = 0;
    for (const e of await this.#ledger.list()) used += decodeBlock(e.value).size;
    this.#used = used;
  }

  /** This peer's reserved and free pool bytes. */
  capacity(): { totalBytes: number; freeBytes: number } {
    return { totalBytes: this.#poolBytes, freeBytes: Math.max(0, this.#poolBytes - this.#used) };
  }

  /** `virgo_malloc`: reserves `size` bytes on the member with the most room. */
  async alloc(size: number): Promise<string> {
    if (!Number.isInteger(size) || size < 1) {
      throw new KvError("OUT_OF_BOUNDS", `Block size must be a positive integer: ${size}`);
    }
    if (size > this.#ctx.maxValueBytes) {
      throw new KvError(
        "VALUE_TOO_LARGE",
        `Block is too large: ${size} bytes, limit ${this.#ctx.maxValueBytes}`,
      );
    }
    const candidates = this.#ctx.transport.members()
      .map((m) =>
        m.peerId === this.#ctx.self ? { ...m, poolFreeBytes: this.capacity().freeBytes } : m
      )
      .filter((m) => m.poolFreeBytes >= size)
      .sort((a, b) => b.poolFreeBytes - a.poolFreeBytes);
    for (const m of candidates) {
      if (m.peerId === this.#ctx.self) {
        try {
          return await this.allocLocal(size);
        } catch (err) {
          if (err instanceof KvError && err.code === "POOL_FULL") continue;
          throw err;
        }
      }
      try {
        const { head } = await this.#ctx.rpc.call(m.peerId, { t: "alloc", s: size });
        if (head.t === "addr") return head.a;
      } catch (err) {
        // Its gossip was stale (full now) or it is gone: try the next roomiest.
        if (
          err instanceof PeerUnavailableError ||
          (err instanceof KvError && err.code === "POOL_FULL")
        ) continue;
        throw err;
      }
    }
    throw new KvError("POOL_FULL", `No member has ${size} free bytes`);
  }

  /** Reserves `size` bytes here and creates the block (the handler of remote `alloc`). */
  async allocLocal(size: number): Promise<string> {
    if (
      !Number.isInteger(size) || size < 1 || size > this.#ctx.maxValueBytes ||
      this.#used + size > this.#poolBytes
    ) {
      throw new KvError("POOL_FULL", `This peer cannot hold ${size} more bytes`);
    }
    this.#used += size;
    const blockId = newBlockId();
    const addr = `${this.#ctx.self}:${blockId}`;
    try {
      await this.#ledger.put(blockId, encodeBlock(size, new Uint8Array()));
      await this.#coordinator.write({
        key: blockKey(addr),
        value: encodeBlock(size, new Uint8Array()),
        tombstone: false,
        ifMatch: "0",
      });
      return addr;
    } catch (err) {
      await this.releaseLocal(blockId);
      throw err;
    }
  }

  /** Releases a block's reservation here (the handler of remote `release`). */
  async releaseLocal(blockId: string): Promise<void> {
    const cur = await this.#ledger.get(blockId);
    if (!cur) return;
    await this.#ledger.delete(blockId);
    this.#used = Math.max(0, this.#used - decodeBlock(cur).size);
  }

  async #read(addr: string) {
    const key = blockKey(addr);
    const rec = await this.#coordinator.read(key);
    if (!isLive(rec, this.#ctx.clock())) {
      throw new KvError("NOT_FOUND", `No block at address: ${addr}`);
    }
    return { version: rec.version, ...decodeBlock(rec.value) };
  }

  /** `virgo_get`: the whole block, `size` bytes. */
  async get(addr: string): Promise<Uint8Array> {
    parseAddress(addr);
    const { size, data } = await this.#read(addr);
    const out = new Uint8Array(size);
    out.set(data.subarray(0, size));
    return out;
  }

  /** `virgo_set`: writes `data` at `offset`; OUT_OF_BOUNDS past the block's end. */
  async set(addr: string, data: Uint8Array, offset = 0): Promise<void> {
    parseAddress(addr);
    if (!(data instanceof Uint8Array)) {
      throw new KvError("OUT_OF_BOUNDS", "Data must be a Uint8Array");
    }
    if (!Number.isInteger(offset) || offset < 0) {
      throw new KvError("OUT_OF_BOUNDS", `Offset must be a non-negative integer: ${offset}`);
    }
    // The coordinator patches the block under its per-key lock: concurrent sets all land.
    const { existed } = await this.#coordinator.write({
      key: blockKey(addr),
      value: data.slice(),
      tombstone: false,
      patchAt: offset,
    });
    if (!existed) throw new KvError("NOT_FOUND", `No block at address: ${addr}`);
  }

  /** `virgo_free`: deletes the block and releases its owner's reservation. */
  async free(addr: string): Promise<void> {
    const { peerId, blockId } = parseAddress(addr);
    const { existed } = await this.#coordinator.write({
      key: blockKey(addr),
      value: new Uint8Array(),
      tombstone: true,
    });
    if (!existed) throw new KvError("NOT_FOUND", `No block at address: ${addr}`);
    if (peerId === this.#ctx.self) return this.releaseLocal(blockId);
    try {
      await this.#ctx.rpc.call(peerId, { t: "release", b: blockId });
    } catch (err) {
      // The block is gone; only the owner's count stays high until it is back.
      this.#ctx.logger.warn({ addr, err }, "free: owner did not release its reservation");
    }
  }
}
