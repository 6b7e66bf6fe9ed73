/**
 * `list`: keys in order, merged across every live member, paged.
 *
 * Each member returns its next `limit` entries (tombstones included, so a
 * delete on one replica hides a stale copy on another). Entries past the
 * smallest "last key" of any member that returned a full page may be
 * incomplete, so a page ends there and `next` resumes from it. A page can
 * therefore hold fewer than `limit` keys; stop when `next` is absent.
 *
 * @module
 */
import type { PoolContext } from "./_context.ts";
import { INTERNAL_PREFIX } from "./constants.ts";
import { compareVersions } from "./hlc.ts";
import { isLive } from "./records.ts";
import { compareKeys } from "./store.ts";

/** One entry a member reports: key, version, 1 if deleted or expired. */
export type ListEntry = [string, string, 0 | 1];

// User keys start at U+0020 or above; starting after U+001F skips internal keys.
const USER_START = "\u001f";

/** A member's own entries for a page (local half of `list`). */
export async function localEntries(
  ctx: PoolContext,
  prefix: string,
  after: string | undefined,
  limit: number,
): Promise<ListEntry[]> {
  let from = after;
  if (
    !prefix.startsWith(INTERNAL_PREFIX) && (from === undefined || compareKeys(from, USER_START) < 0)
  ) {
    from = USER_START;
  }
  const records = await ctx.records.scan(
    from === undefined ? { prefix, limit } : { prefix, after: from, limit },
  );
  const now = ctx.clock();
  return records.map((r) => [r.key, r.version, isLive(r, now) ? 0 : 1]);
}

/**
 * One page of live keys with `prefix` after `after`, merged from all members.
 *
 * @example
 * ```ts
 * let page = await listKeys(ctx, { prefix: "users/", limit: 100 });
 * while (page.next) page = await listKeys(ctx, { prefix: "users/", after: page.next, limit: 100 });
 * ```
 */
export async function listKeys(
  ctx: PoolContext,
  opts: { prefix: string; after?: string; limit: number },
): Promise<{ keys: string[]; next?: string }> {
  const { prefix, after, limit } = opts;
  const answers = await Promise.all(
    [...ctx.live()].map(async (peer) => {
      if (peer === ctx.self) return localEntries(ctx, prefix, after, limit);
      try {
        const head = after === undefined
          ? { t: "list" as const, p: prefix, l: limit }
          : { t: "list" as const, p: prefix, a: after, l: limit };
        const reply = await ctx.rpc.call(peer, head);
        return reply.head.t === "keys" ? reply.head.e : undefined;
      } catch (err) {
        // Its keys are on other replicas too; a page without it is still useful.
        ctx.logger.debug({ peer, err }, "list: member did not answer");
        return undefined;
      }
    }),
  );
  let cutoff: string | undefined;
  const merged = new Map<string, { version: string; dead: boolean }>();
  for (const entries of answers) {
    if (!entries) continue;
    const last = entries[entries.length - 1];
    if (
      entries.length >= limit && last && (cutoff === undefined || compareKeys(last[0], cutoff) < 0)
    ) {
      cutoff = last[0];
    }
    for (const [key, version, dead] of entries) {
      const cur = merged.get(key);
      if (!cur || compareVersions(version, cur.version) > 0) {
        merged.set(key, { version, dead: dead === 1 });
      }
    }
  }
  const sorted = [...merged.keys()].sort(compareKeys);
  const keys: string[] = [];
  for (const key of sorted) {
    if (cutoff !== undefined && compareKeys(key, cutoff) > 0) break;
    if (merged.get(key)!.dead) continue;
    keys.push(key);
    if (keys.length === limit) return { keys, next: key };
  }
  return cutoff === undefined ? { keys } : { keys, next: cutoff };
}
