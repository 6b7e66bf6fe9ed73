/**
 * The pool's known membership: every peer this one has ever seen in the mesh, kept on disk, so
 * that a key's replica set and its quorums are taken over the members that exist — not over the
 * ones that happen to be reachable now. A peer that is down, paused or cut off stays a member,
 * and the writes that need it answer `QUORUM_FAILED` instead of being acknowledged by too few
 * copies (Cassandra keeps a down node in the ring the same way). A member leaves only when an
 * operator removes it (`virgo peers remove <id>`), or after {@linkcode DECOMMISSION_MS} unseen.
 *
 * Peers exchange what they know whenever they meet, so a new peer learns the whole membership,
 * down members included, from the first peer it reaches, and a removal spreads the same way.
 *
 * @module
 */
import { DECOMMISSION_MS, MEMBER_SEEN_PERSIST_MS } from "./constants.ts";
import type { Store } from "./store.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** What one peer tells another: the members it knows, and removals (id → when, ms). */
export interface MemberSnapshot {
  m: string[];
  x: Record<string, number>;
}

/**
 * The known members of one pool, persisted in `store`.
 *
 * @example
 * ```ts
 * const members = new KnownMembers(db.store("members"), "peerA");
 * await members.load();
 * members.observe(["peerA", "peerB"]);
 * members.list(); // ["peerA", "peerB"]
 * ```
 */
export class KnownMembers {
  readonly #store: Store;
  readonly #self: string;
  readonly #clock: () => number;
  /** Member → when it was last seen live (ms), as persisted at most every few minutes. */
  readonly #seen = new Map<string, number>();
  readonly #saved = new Map<string, number>();
  /** Removed member → when. */
  readonly #removed = new Map<string, number>();
  #list: string[] | undefined;
  #listedAt = 0;

  constructor(store: Store, self: string, clock: () => number = Date.now) {
    this.#store = store;
    this.#self = self;
    this.#clock = clock;
  }

  /** Reads the persisted membership; the peer itself is always a member. */
  async load(): Promise<void> {
    for (const { key, value } of await this.#store.list()) {
      const at = Number(dec.decode(value));
      if (!Number.isFinite(at)) continue;
      if (key.startsWith("m:")) this.#seen.set(key.slice(2), at), this.#saved.set(key.slice(2), at);
      else if (key.startsWith("x:")) this.#removed.set(key.slice(2), at);
    }
    await this.#touch(this.#self, this.#clock(), true);
  }

  /** Whether this peer knows any member but itself (it has met the mesh at least once). */
  met(): boolean {
    return this.list().length > 1 || this.#removed.size > 0;
  }

  /** The members, sorted: placement ranks keys over exactly this list. */
  list(): string[] {
    const now = this.#clock();
    // Cached (placement asks on every operation); redone now and then for the decommission cut.
    if (this.#list && now - this.#listedAt < 60_000) return this.#list;
    this.#listedAt = now;
    const out: string[] = [];
    for (const [id, at] of this.#seen) {
      if (id !== this.#self && now - at > DECOMMISSION_MS) continue;
      out.push(id);
    }
    return this.#list = out.sort();
  }

  /** Folds in the peers live now: new ones become members, known ones are seen again. */
  async observe(live: readonly string[]): Promise<void> {
    const now = this.#clock();
    for (const id of live) await this.#touch(id, now, false);
  }

  /** What to tell another peer. */
  snapshot(): MemberSnapshot {
    return { m: this.list(), x: Object.fromEntries(this.#removed) };
  }

  /** Merges another peer's snapshot; true when this peer's membership changed. */
  async merge(s: MemberSnapshot): Promise<boolean> {
    const before = this.list().join();
    for (const [id, at] of Object.entries(s.x)) {
      if (id === this.#self) continue;
      if (at > (this.#removed.get(id) ?? -1) && at >= (this.#seen.get(id) ?? -1)) {
        await this.#forget(id, at);
      }
    }
    const now = this.#clock();
    for (const id of s.m) {
      // Removed here and not seen live since: another peer's older list does not bring it back.
      if (this.#seen.has(id) || this.#removed.has(id)) continue;
      await this.#touch(id, now, true);
    }
    return this.list().join() !== before;
  }

  /** An operator's removal of `id`: it stops counting for quorums at once. */
  async remove(id: string): Promise<boolean> {
    if (id === this.#self || !this.#seen.has(id)) return false;
    await this.#forget(id, this.#clock());
    return true;
  }

  async #forget(id: string, at: number): Promise<void> {
    this.#seen.delete(id);
    this.#saved.delete(id);
    this.#removed.set(id, at);
    this.#list = undefined;
    await this.#store.delete(`m:${id}`);
    await this.#store.put(`x:${id}`, enc.encode(String(at)));
  }

  async #touch(id: string, at: number, force: boolean): Promise<void> {
    const removedAt = this.#removed.get(id);
    if (removedAt !== undefined) {
      // Seen live after its removal: it is back (re-added by an operator's restart of it).
      if (at <= removedAt) return;
      this.#removed.delete(id);
      await this.#store.delete(`x:${id}`);
    }
    const isNew = !this.#seen.has(id);
    this.#seen.set(id, at);
    if (isNew) this.#list = undefined;
    if (isNew || force || at - (this.#saved.get(id) ?? 0) > MEMBER_SEEN_PERSIST_MS) {
      this.#saved.set(id, at);
      await this.#store.put(`m:${id}`, enc.encode(String(at)));
    }
  }
}
