/**
 * An in-memory {@link PoolTransport} network for unit tests and benches: N
 * pools in one process, with members that can be killed (requests to and
 * from them fail, but they stay listed, as in a real mesh before gossip
 * notices), revived, or made to join and leave.
 *
 * @module
 */
import type { PoolMember, PoolTransport } from "./transport.ts";

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
    const net = this;
    this.#emit(id);
    return {
      self: id,
      members: () => net.#members(),
      onMembership(cb) {
        node.listeners.add(cb);
        return () => node.listeners.delete(cb);
      },
      request: (peer, body) => net.#request(id, peer, body),
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
      throw new Error(`Unreachable: ${from} → ${to}`);
    }
    this.requests++;
    // Copy both ways: peers never share buffers on a real wire.
    return (await dst.handler(body.slice(), from)).slice();
  }
}
