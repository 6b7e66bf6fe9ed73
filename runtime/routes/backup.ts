/**
 * `/v1/backup`: an online backup of this peer — its LevelDB read from one snapshot while it
 * serves, and its identity — streamed as the file `virgo restore` reads
 * (`runtime/backup/format.ts`). Behind the token, like every `/v1` route.
 * @module
 */
import { Hono } from "hono";
import { route } from "../openapi/mod.ts";

/** Makes a backup of this peer: its peer id and the stream of the backup file. */
export type BackupSourceFn = () => Promise<{ peerId: string; body: ReadableStream<Uint8Array> }>;

/** Media type of a backup file (gzip-compressed JSON lines). */
export const BACKUP_CONTENT_TYPE = "application/gzip";

/** `20260102T030405Z`: a file name part that sorts by time. */
export function backupStamp(date = new Date()): string {
  return date.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

/** The name a backup of `peerId` made at `date` is saved under: `virgo-<peer id>-<stamp>.vbak`. */
export function backupFileName(peerId: string, date = new Date()): string {
  return `virgo-${peerId}-${backupStamp(date)}.vbak`;
}

/**
 * Routes of the backup: `POST /` streams one. POST because each call reads the whole database
 * (not a cacheable, prefetchable GET).
 */
export function backupRoutes(backup: BackupSourceFn): Hono {
  const app = new Hono();
  route(app, "post", "/", {
    summary:
      "Stream an online backup of this peer (its LevelDB from one snapshot, and its identity)",
    description: "`virgo backup` saves it; `virgo restore` writes a new data folder from it.",
    tag: "peer",
    responses: {
      200: {
        description: "The backup file: gzip'd JSON lines ending in a count and a SHA-256",
        media: BACKUP_CONTENT_TYPE,
        headers: { "content-disposition": { description: "attachment; its file name" } },
      },
    },
    errors: [503],
  }, async (c) => {
    const { peerId, body } = await backup();
    return c.body(body as ReadableStream<Uint8Array<ArrayBuffer>>, 200, {
      "content-type": BACKUP_CONTENT_TYPE,
      "content-disposition": `attachment; filename="${backupFileName(peerId)}"`,
      "cache-control": "no-store",
    });
  });
  return app;
}
