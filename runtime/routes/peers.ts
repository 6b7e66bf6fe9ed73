/**
 * `/v1/peers` and `/v1/status`: the mesh as this peer sees it, a member
 * removed from the pool, and this peer's own status.
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import type { Pool } from "../../kv/mod.ts";
import type { PeerInfo } from "../../p2p/mod.ts";
import { VirgoError } from "../errors.ts";
import { route } from "../openapi/mod.ts";

/** One peer of the live view with its last heard load, as `GET /v1/peers` lists it. */
export const PeerInfoSchema = z.object({
  peerId: z.string(),
  self: z.boolean().describe("this peer's own entry (always first)"),
  incarnation: z.number(),
  ageMs: z.number().nullable().describe("ms since its load was heard; null while none was"),
  addrs: z.array(z.string()),
  leaving: z.literal(true).optional(),
  suspect: z.literal(true).optional(),
  inflight: z.number(),
  queued: z.number(),
  cores: z.number(),
  loopDelayMs: z.number(),
  poolTotalBytes: z.number(),
  poolFreeBytes: z.number(),
  catalog: z.object({ digest: z.string(), count: z.number() }),
  http: z.string().optional(),
});

/** What the peer routes read. */
export interface PeerRoutesDeps {
  peerId: string;
  pool: Pool;
  net: { peers(): PeerInfo[] };
  status(): Promise<Record<string, unknown>>;
}

/** Routes `/peers`, `/peers/:id` and `/status` (mounted under `/v1`). */
export function peerRoutes(deps: PeerRoutesDeps): Hono {
  const app = new Hono();
  route(app, "get", "/peers", {
    summary: "The mesh as this peer sees it, with each peer's load",
    tag: "mesh",
    responses: {
      200: {
        description:
          "The live view and the pool's members (a member that is down still counts for quorums until removed)",
        json: z.object({
          self: z.string(),
          count: z.number().int(),
          peers: z.array(PeerInfoSchema),
          members: z.array(z.object({ peerId: z.string(), up: z.boolean() })),
        }),
      },
    },
  }, (c) => {
    const peers = deps.net.peers();
    const up = new Set(peers.map((p) => p.peerId));
    // The pool's known members: down ones still count for quorums until removed.
    const members = deps.pool.members().map((peerId) => ({ peerId, up: up.has(peerId) }));
    return c.json({ self: deps.peerId, count: peers.length, peers, members });
  });
  route(app, "delete", "/peers/:id", {
    summary: "Remove a member from the pool for good (its keys move to the others)",
    tag: "mesh",
    params: z.object({ id: z.string().describe("the member's peer id") }),
    responses: {
      200: {
        description: "Removed",
        json: z.object({ peerId: z.string(), removed: z.literal(true) }),
      },
    },
    errors: [404],
  }, async (c, { params: { id } }) => {
    if (!(await deps.pool.removeMember(id))) {
      throw new VirgoError("NOT_FOUND", `${id.slice(0, 80)} is not a member of the pool`);
    }
    return c.json({ peerId: id, removed: true });
  });
  route(app, "get", "/status", {
    summary: "This peer's status",
    tag: "peer",
    responses: {
      200: {
        description: "Its id, addresses, load, pool and catalogue",
        json: z.record(z.string(), z.unknown()),
      },
    },
  }, async (c) => c.json(await deps.status()));
  return app;
}
