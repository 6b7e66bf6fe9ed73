/**
 * Keeping catalogues in step across the mesh. Deploys and deletions are announced on a gossip
 * topic (the fast path). Every peer gossips the digest of its catalogue in its load record, and
 * a peer whose digest differs from one it hears of walks the digest trees with that peer
 * (`walk.ts`), which moves only the entries in which they differ; a peer that joins is walked
 * with at once. No frame is sent while digests agree. Entries settle by their last-writer-wins
 * stamps in the catalogue's `merge`.
 *
 * Freshness, for tombstones collected after {@linkcode TOMBSTONE_HORIZON_MS}: a peer is new
 * until it completes a walk with a peer that is not stale; then fresh, for as long as it
 * completes such a walk (or, fresh and alone, is the whole mesh it knows of) within each
 * horizon; stale after that — back from more than the horizon away. A stale peer offers no
 * entry older than the horizon (it may be a deletion it missed, whose tombstone is gone); at
 * its first walk with a fresh peer it drops those of them that peer does not hold, and is fresh
 * again. A fresh peer refuses an entry older than the horizon for a name it holds nothing for
 * (`registry.ts`); new and stale peers take them, as only fresh and new peers offer them. See
 * the README.
 * @module
 */
import type { Store } from "../../kv/mod.ts";
import type { z } from "zod";
import {
  CATALOG_PROTOCOL,
  CATALOG_SYNC_MS,
  CATALOG_TOPIC,
  TOMBSTONE_HORIZON_MS,
  WALK_MAX_BYTES,
} from "./constants.ts";
import { VirgoError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { type CatalogNet, CatalogSchema, type FunctionMeta } from "./entry.ts";
import { stampWall } from "./stamp.ts";
import {
  answerWalk,
  walk,
  type WalkAsk,
  WalkReplySchemas,
  WalkRequestSchema,
  type WalkSide,
} from "./walk.ts";

/** What the sync needs from the catalogue it keeps in step. */
export interface SyncedCatalog extends Pick<WalkSide, "tree" | "entry"> {
  /** Checks an entry received from peer `from` and applies it if it is newer than ours. */
  merge(meta: FunctionMeta, from: string): Promise<boolean>;
  /** Drops an entry outright (a deletion this peer missed while away, see the module doc). */
  drop(name: string): Promise<void>;
}

/** The running sync. */
export interface CatalogSync {
  start(): Promise<void>;
  stop(): void;
  /** Tells the mesh about a new entry. */
  announce(meta: FunctionMeta): Promise<void>;
  /** Walks with `peerId` now (also what a digest mismatch triggers). */
  reconcile(peerId: string): Promise<void>;
  /** Whether this peer completed a walk with a peer that was not stale within the horizon. */
  isFresh(): boolean;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const SYNCED_AT = "syncedAt";

/** Parses JSON frame bytes; throws `BAD_REQUEST` when malformed. */
function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(dec.decode(bytes));
  } catch {
    throw new VirgoError("BAD_REQUEST", `Malformed ${what}: not JSON`);
  }
}

/**
 * Creates the sync of one catalogue over the mesh. `state` keeps when this peer last completed
 * a walk with a fresh peer.
 *
 * @example
 * ```ts
 * const sync = createCatalogSync({ net: mesh, logger, catalog, state: db.store("catalog-state") });
 * await sync.start();
 * await sync.announce(meta);
 * ```
 */
export function createCatalogSync(
  init: {
    net: CatalogNet;
    logger: Logger;
    catalog: SyncedCatalog;
    state: Store;
    /** The wall clock, in ms. @default {Date.now} */
    now?: () => number;
  },
): CatalogSync {
  const { net, logger, catalog, state } = init;
  const now = init.now ?? Date.now;
  const lastWalk = new Map<string, number>();
  /** Per peer, its digest and ours when we last walked with it on a mismatch. */
  const walkedAt = new Map<string, string>();
  const walking = new Set<string>();
  let syncedAt: number | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;

  const isNew = () => syncedAt === undefined;
  const isStale = () => syncedAt !== undefined && now() - syncedAt > TOMBSTONE_HORIZON_MS;
  const isFresh = () => !isNew() && !isStale();

  async function markSynced(): Promise<void> {
    syncedAt = now();
    await state.put(SYNCED_AT, enc.encode(String(syncedAt)));
  }

  /** Entries this peer offers: all, except old ones while it is stale. */
  const offers = (meta: FunctionMeta) =>
    !isStale() || stampWall(meta.stamp) >= now() - TOMBSTONE_HORIZON_MS;

  /** The local side of a walk with `peerId`. */
  const sideFor = (peerId: string): WalkSide => ({
    tree: catalog.tree,
    entry: (name) => catalog.entry(name),
    offers,
    freshness: () => isNew() ? "new" : isStale() ? "stale" : "fresh",
    merge: (meta) => catalog.merge(meta, peerId),
  });

  /** Parses a walk reply by the schema of its request; throws `BAD_REQUEST` when malformed. */
  const askOf = (peerId: string): WalkAsk => async (req) => {
    const reply = await net.request(peerId, CATALOG_PROTOCOL, enc.encode(JSON.stringify(req)), {
      maxBytes: WALK_MAX_BYTES,
    });
    const parsed = (WalkReplySchemas[req.op] as z.ZodType).safeParse(
      parseJson(reply, "walk reply"),
    );
    if (!parsed.success) throw new VirgoError("BAD_REQUEST", `Malformed walk reply to ${req.op}`);
    // deno-lint-ignore no-explicit-any
    return parsed.data as any;
  };

  async function reconcile(peerId: string): Promise<void> {
    if (walking.has(peerId)) return;
    walking.add(peerId);
    lastWalk.set(peerId, now());
    try {
      const result = await walk(sideFor(peerId), askOf(peerId));
      // What a fresh peer does not hold, of what we withheld, was deleted while we were away.
      if (result.theirs === "fresh") {
        for (const meta of result.withheld) {
          logger.warn(
            { fn: meta.name, stamp: meta.stamp, peer: peerId },
            "Dropped an entry older than the tombstone horizon that the mesh no longer holds",
          );
          await catalog.drop(meta.name);
        }
      }
      // A walk with a peer that is not stale leaves this one holding all that peer holds.
      if (result.theirs !== "stale") await markSynced();
      logger.debug(
        { peer: peerId, frames: result.frames, pulled: result.pulled, pushed: result.pushed },
        "Catalogue reconciled",
      );
    } catch (err) {
      walkedAt.delete(peerId); // to be tried again, after CATALOG_SYNC_MS
      logger.debug({ peer: peerId, err: String(err) }, "Catalogue reconciliation failed");
    } finally {
      walking.delete(peerId);
    }
  }

  /** Walks with peers whose gossiped digest differs from ours; no frame while they agree. */
  function check(): void {
    const others = net.peers().filter((p) => !p.self);
    // Alone, a fresh peer is the whole mesh it knows of: nothing is deleted behind its back.
    if (others.length === 0 && isFresh() && now() - syncedAt! > CATALOG_SYNC_MS * 30) {
      void markSynced();
    }
    const ours = catalog.tree.summary();
    const t = now();
    for (const p of others) {
      // "" is a member whose load this peer has not heard yet: nothing to compare.
      if (p.catalog.digest === "") continue;
      if (p.catalog.digest === ours.digest && p.catalog.count === ours.count && !isStale()) {
        continue;
      }
      // A digest heard a while ago may be older than the walk that already settled it.
      const pair = `${p.catalog.digest}/${ours.digest}`;
      if (walkedAt.get(p.peerId) === pair && !isStale()) continue;
      if (t - (lastWalk.get(p.peerId) ?? 0) < CATALOG_SYNC_MS) continue;
      walkedAt.set(p.peerId, pair);
      void reconcile(p.peerId);
    }
  }

  return {
    async start() {
      const stored = await state.get(SYNCED_AT);
      if (stored) syncedAt = Number(dec.decode(stored));
      net.subscribe(CATALOG_TOPIC, (data, from) => {
        let value: unknown;
        try {
          value = JSON.parse(dec.decode(data));
        } catch { /* refused below */ }
        const parsed = CatalogSchema.safeParse(value);
        if (!parsed.success) {
          logger.warn({ from }, "Dropped a malformed catalogue announcement");
          return;
        }
        for (const meta of parsed.data) {
          catalog.merge(meta, from).catch((err) =>
            logger.error({ err: String(err) }, "Catalogue merge failed")
          );
        }
      });
      await net.handle(CATALOG_PROTOCOL, async (req, from) => {
        const parsed = WalkRequestSchema.safeParse(parseJson(req, "walk request"));
        if (!parsed.success) throw new VirgoError("BAD_REQUEST", "Malformed walk request");
        const reply = await answerWalk(sideFor(from), parsed.data);
        return enc.encode(JSON.stringify(reply));
      }, { maxBytes: WALK_MAX_BYTES });
      net.onMembership((ev) => {
        if (ev.type === "join") void reconcile(ev.peerId);
        else {
          lastWalk.delete(ev.peerId);
          walkedAt.delete(ev.peerId);
        }
      });
      timer = setInterval(check, CATALOG_SYNC_MS);
      check();
    },

    stop() {
      clearInterval(timer);
    },

    async announce(meta) {
      await net.publish(CATALOG_TOPIC, enc.encode(JSON.stringify([meta]))).catch((err) =>
        logger.warn({ err: String(err) }, "Catalogue announce failed")
      );
    },

    reconcile,
    isFresh,
  };
}
