/**
 * The reconciliation walk over two catalogues' digest trees (`digest.ts`): one peer asks the
 * other for the fingerprints of the children of the nodes where they differ, level by level,
 * and descends only where those differ; a node with few entries left is settled by listing its
 * (name, stamp) pairs. Then it pulls the entries the other holds newer and pushes those it holds
 * newer. Every request of a level is one frame (or a few, each bounded), so two catalogues that
 * differ in d of n entries settle in O(log n) frames carrying O(d · log n) fingerprints.
 *
 * The frames are JSON, validated with zod by the side that receives them.
 * @module
 */
import { z } from "zod";
import { DIGEST_DEPTH, DIGEST_FANOUT, WALK_BATCH, WALK_KEYS_PER_FRAME } from "./constants.ts";
import type { DigestTree, Fingerprint } from "./digest.ts";
import { type FunctionMeta, FunctionMetaSchema } from "./entry.ts";
import { compareStamps } from "./stamp.ts";

const level = z.number().int().min(0).max(DIGEST_DEPTH);
const index = z.number().int().min(0).max(DIGEST_FANOUT ** DIGEST_DEPTH - 1);
const name = z.string().min(1).max(63);

/** A request of the walk, as it arrives from another peer. */
export const WalkRequestSchema = z.discriminatedUnion("op", [
  /** Whether the answering peer is fresh (`sync.ts`), and its entry count. */
  z.object({ op: z.literal("state") }),
  /** The children's fingerprints of each node. */
  z.object({ op: z.literal("nodes"), level, indices: z.array(index).max(WALK_BATCH) }),
  /** The (name, stamp) pairs under each node. */
  z.object({ op: z.literal("keys"), level, indices: z.array(index).max(WALK_BATCH) }),
  /** Entries by name. */
  z.object({ op: z.literal("get"), names: z.array(name).max(WALK_BATCH) }),
  /** Entries the asking peer holds newer: the answering peer checks and merges them. */
  z.object({ op: z.literal("put"), entries: z.array(FunctionMetaSchema).max(WALK_BATCH) }),
]);
/** A request of the walk. */
export type WalkRequest = z.infer<typeof WalkRequestSchema>;

const FingerprintSchema = z.object({
  count: z.number().int().nonnegative(),
  sum: z.string().regex(/^[0-9a-f]{64}$/),
});
/** Replies, one schema per request. */
export const WalkReplySchemas = {
  state: z.object({
    freshness: z.enum(["fresh", "new", "stale"]),
    count: z.number().int().nonnegative(),
  }),
  nodes: z.object({
    nodes: z.array(z.array(FingerprintSchema).length(DIGEST_FANOUT)).max(WALK_BATCH),
  }),
  keys: z.object({
    keys: z.array(z.tuple([name, z.string().max(256)])).max(WALK_BATCH * WALK_KEYS_PER_FRAME),
  }),
  get: z.object({ entries: z.array(FunctionMetaSchema).max(WALK_BATCH) }),
  put: z.object({ merged: z.number().int().nonnegative() }),
};

/**
 * How a peer stands to the tombstone horizon (`sync.ts`): fresh (it reconciled within the
 * horizon), new (it never has), or stale (back after more than the horizon).
 */
export type Freshness = "fresh" | "new" | "stale";

/** One side of a walk: its tree and its entries. */
export interface WalkSide {
  tree: DigestTree;
  /** The entry held for `name` (tombstones included). */
  entry(name: string): FunctionMeta | undefined;
  /** Whether an entry may be offered to another peer (see the stale-peer rule in `sync.ts`). */
  offers(meta: FunctionMeta): boolean;
  /** How fresh this side is (`sync.ts`): what a fresh side lacks was deleted, not missed. */
  freshness(): Freshness;
  /** Checks an entry received from the other peer and applies it if it is newer. */
  merge(meta: FunctionMeta): Promise<boolean>;
}

/**
 * Answers one walk request from the local side.
 *
 * @example
 * ```ts
 * const reply = await answerWalk(side, WalkRequestSchema.parse(JSON.parse(text)));
 * ```
 */
export async function answerWalk(side: WalkSide, req: WalkRequest): Promise<unknown> {
  switch (req.op) {
    case "state":
      return { freshness: side.freshness(), count: side.tree.summary().count };
    case "nodes":
      return {
        nodes: req.indices.map((i) => childrenOf(side.tree, req.level, i)),
      };
    case "keys":
      return {
        keys: req.indices.flatMap((i) =>
          side.tree.keys(req.level, i).filter(([n]) => {
            const meta = side.entry(n);
            return meta !== undefined && side.offers(meta);
          })
        ),
      };
    case "get":
      return {
        entries: req.names.map((n) => side.entry(n)).filter((m): m is FunctionMeta =>
          m !== undefined && side.offers(m)
        ),
      };
    case "put": {
      let merged = 0;
      for (const meta of req.entries) if (await side.merge(meta)) merged++;
      return { merged };
    }
  }
}

function childrenOf(tree: DigestTree, level: number, index: number): Fingerprint[] {
  if (level >= DIGEST_DEPTH) return [];
  const out: Fingerprint[] = [];
  for (let c = 0; c < DIGEST_FANOUT; c++) out.push(tree.node(level + 1, index * DIGEST_FANOUT + c));
  return out;
}

/** Sends one walk request to the other side and returns its validated reply. */
export type WalkAsk = <R extends WalkRequest>(
  req: R,
) => Promise<z.infer<(typeof WalkReplySchemas)[R["op"]]>>;

/** What a walk did. */
export interface WalkResult {
  /** Request frames sent. */
  frames: number;
  /** Entries pulled and merged here. */
  pulled: number;
  /** Entries pushed to the other peer. */
  pushed: number;
  /** How fresh the other side said it was. */
  theirs: Freshness;
  /** Entries of ours this side does not offer and the other holds nothing newer for. */
  withheld: FunctionMeta[];
}

/**
 * Reconciles the local side with a remote one reached through `ask` (one request frame each
 * call, its reply validated by the caller with {@linkcode WalkReplySchemas}).
 *
 * @example
 * ```ts
 * const result = await walk(side, (req) => requestOverMesh(peer, req));
 * ```
 */
export async function walk(side: WalkSide, ask: WalkAsk): Promise<WalkResult> {
  const result: WalkResult = { frames: 0, pulled: 0, pushed: 0, theirs: "stale", withheld: [] };
  const send: WalkAsk = (req) => {
    result.frames++;
    return ask(req);
  };
  const remoteRoot = await send({ op: "state" });
  result.theirs = remoteRoot.freshness;
  // Nodes known to differ, with the other side's count under each.
  let frontier: Array<{ index: number; count: number }> = [{ index: 0, count: remoteRoot.count }];
  const toPull = new Set<string>();
  const toPush = new Set<string>();
  for (let lvl = 0; lvl <= DIGEST_DEPTH && frontier.length > 0; lvl++) {
    const descend = lvl < DIGEST_DEPTH ? frontier.filter((n) => n.count > WALK_KEYS_PER_FRAME) : [];
    const list = frontier.filter((n) => !descend.includes(n));
    const next: Array<{ index: number; count: number }> = [];
    for (const batch of chunks(descend, WALK_BATCH)) {
      const reply = await send({ op: "nodes", level: lvl, indices: batch.map((n) => n.index) });
      batch.forEach((n, k) => {
        const theirs = reply.nodes[k] ?? [];
        theirs.forEach((fp, c) => {
          const child = n.index * DIGEST_FANOUT + c;
          const ours = side.tree.node(lvl + 1, child);
          if (ours.count !== fp.count || ours.sum !== fp.sum) {
            next.push({ index: child, count: fp.count });
          }
        });
      });
    }
    // Listed by keys: batches whose other side holds at most about a frame's worth of keys.
    let batch: number[] = [];
    let inBatch = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const reply = await send({ op: "keys", level: lvl, indices: batch });
      const theirs = new Map(reply.keys);
      for (const i of batch) {
        for (const [n, stamp] of side.tree.keys(lvl, i)) {
          const other = theirs.get(n);
          const order = other === undefined ? -1 : compareStamps(other, stamp);
          if (order < 0) toPush.add(n);
          else if (order > 0) toPull.add(n);
          theirs.delete(n);
        }
      }
      for (const [n, stamp] of theirs) {
        const ours = side.entry(n);
        if (!ours || compareStamps(ours.stamp, stamp) < 0) toPull.add(n);
      }
      batch = [];
      inBatch = 0;
    };
    for (const n of list) {
      if (batch.length >= WALK_BATCH || (inBatch + n.count > WALK_KEYS_PER_FRAME && batch.length)) {
        await flush();
      }
      batch.push(n.index);
      inBatch += n.count;
    }
    await flush();
    frontier = next;
  }
  for (const names of chunks([...toPull], WALK_BATCH)) {
    const reply = await send({ op: "get", names });
    for (const meta of reply.entries) if (await side.merge(meta)) result.pulled++;
  }
  const push: FunctionMeta[] = [];
  for (const n of toPush) {
    const meta = side.entry(n);
    if (!meta) continue;
    if (side.offers(meta)) push.push(meta);
    else result.withheld.push(meta);
  }
  for (const entries of chunks(push, WALK_BATCH)) {
    await send({ op: "put", entries });
    result.pushed += entries.length;
  }
  return result;
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
