/**
 * The versions this peer has vouched for, per key — what an eventual read must not go below.
 *
 * @module
 */
import { compareVersions } from "./hlc.ts";

/**
 * A bounded record of the newest version of each key this peer acknowledged to a writer or
 * answered from a strong read, so that an eventual read here is never older than what this
 * peer itself said (read-your-writes, and no going back behind a strong read).
 *
 * Memory is bounded by `max` keys. Forgetting a key must not weaken the promise, so a key that
 * leaves the map raises `floor`, which stands for every key not in the map: an eventual read of
 * such a key needs a replica at `floor` or newer, else it reads through a quorum — which, being
 * linearizable, is at or past every version acknowledged before it, so its answer may set that
 * key's entry lower than `floor` again. The first floor is the clock at start plus the most a
 * version may run ahead of it: versions acknowledged before a restart are older.
 *
 * @example
 * ```ts
 * const seen = new SeenVersions(hlc.next(), 10_000);
 * seen.raise("a", version);           // a write of "a" was acknowledged
 * seen.covers("a", localRecord?.version); // true: the local replica may answer
 * const mark = seen.mark();
 * const r = await strongRead("b");
 * seen.learn("b", r?.version ?? "", mark);
 * ```
 */
export class SeenVersions {
  readonly #max: number;
  readonly #versions = new Map<string, string>();
  #floor: string;
  /** Keys forgotten so far. */
  #forgotten = 0;

  constructor(floor: string, max: number) {
    this.#floor = floor;
    this.#max = max;
  }

  /** Whether a replica holding `version` of `key` (undefined: none) is new enough to answer. */
  covers(key: string, version: string | undefined): boolean {
    const need = this.#versions.get(key) ?? this.#floor;
    return version !== undefined ? compareVersions(version, need) >= 0 : need === "";
  }

  /** This peer acknowledged `version` of `key` (a write that took effect): never answer older. */
  raise(key: string, version: string): void {
    const cur = this.#versions.get(key);
    if (cur !== undefined && compareVersions(cur, version) >= 0) return;
    this.#set(key, version);
  }

  /** Taken before a strong read starts; hand it to {@linkcode learn} with the read's answer. */
  mark(): number {
    return this.#forgotten;
  }

  /**
   * A linearizable read that started at `mark` answered `version` of `key` (`""` for no record):
   * every version acknowledged before it started is at most that, so it may stand for the key
   * instead of the floor — unless a key was forgotten meanwhile (it may have been this one,
   * acknowledged during the read, after what the read saw).
   */
  learn(key: string, version: string, mark: number): void {
    const cur = this.#versions.get(key);
    if (cur === undefined) {
      if (mark === this.#forgotten || compareVersions(version, this.#floor) >= 0) {
        this.#set(key, version);
      }
    } else if (compareVersions(cur, version) < 0) this.#set(key, version);
  }

  /** Keys remembered one by one (the rest are bound by the floor). */
  get size(): number {
    return this.#versions.size;
  }

  #set(key: string, version: string): void {
    this.#versions.delete(key);
    this.#versions.set(key, version);
    if (this.#versions.size <= this.#max) return;
    const [oldKey, oldVersion] = this.#versions.entries().next().value!;
    this.#versions.delete(oldKey);
    this.#forgotten++;
    if (compareVersions(oldVersion, this.#floor) > 0) this.#floor = oldVersion;
  }
}
