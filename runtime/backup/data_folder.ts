/**
 * A peer's data folder as a backup sees it: the files of {@linkcode DATA_FILES} beside `db/`,
 * read while the peer runs, and a whole folder written from a backup while no peer runs on it.
 * @module
 */
import { restoreDatabase } from "../../kv/mod.ts";
import { VirgoError } from "../errors.ts";
import { DATA_FILES, type DataFile, readBackup } from "./format.ts";

/**
 * The files of {@linkcode DATA_FILES} present in `dir` (a peer with a swarm key has no
 * `secret.key`).
 *
 * @example
 * ```ts
 * const files = await readDataFiles("/var/lib/virgo"); // [{ name: "peer.key", data }]
 * ```
 */
export async function readDataFiles(dir: string): Promise<DataFile[]> {
  const out: DataFile[] = [];
  for (const name of DATA_FILES) {
    try {
      out.push({ name, data: await Deno.readFile(`${dir}/${name}`) });
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  return out;
}

/** What {@linkcode restoreDataFolder} wrote. */
export interface Restored {
  /** The peer the backup was made of: the restored folder has its identity. */
  peerId: string;
  /** When the backup was made (ISO 8601). */
  created: string;
  files: string[];
  entries: number;
}

/** Whether `dir` is missing or an empty folder; throws naming it when it is anything else. */
async function checkTarget(dir: string): Promise<boolean> {
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(dir);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
  if (!stat.isDirectory) throw new VirgoError("CONFLICT", `${dir} exists and is not a folder`);
  for await (const _ of Deno.readDir(dir)) {
    throw new VirgoError(
      "CONFLICT",
      `${dir} is not empty: restore only into a new or empty folder (a peer's data is never merged)`,
    );
  }
  return true;
}

/**
 * Writes a new data folder at `dir` from a backup stream: its files and its LevelDB. `dir` must
 * be missing or empty (a mount point, such as a container's volume, is fine). Everything is
 * written into a temporary folder inside it and moved up only once the whole backup has been
 * read and checked, so a failed restore leaves `dir` as it found it.
 *
 * @example
 * ```ts
 * const file = await Deno.open("peer.vbak");
 * const { peerId, entries } = await restoreDataFolder(file.readable, "/var/lib/virgo");
 * ```
 */
export async function restoreDataFolder(
  stream: ReadableStream<Uint8Array>,
  dir: string,
): Promise<Restored> {
  const path = dir.replace(/\/+$/, "") || "/";
  const existed = await checkTarget(path);
  if (!existed) await Deno.mkdir(path, { recursive: true, mode: 0o700 });
  const temp = `${path}/.restoring-${crypto.randomUUID().slice(0, 8)}`;
  await Deno.mkdir(temp, { mode: 0o700 });
  try {
    let header: { peerId: string; created: string } | undefined;
    const files: string[] = [];
    const records = readBackup(stream);
    const entries = async function* () {
      for await (const r of records) {
        if (r.type === "header") header = r;
        else if (r.type === "file") {
          await Deno.writeFile(`${temp}/${r.file.name}`, r.file.data, { mode: 0o600 });
          files.push(r.file.name);
        } else yield r.entry;
      }
    };
    const n = await restoreDatabase(`${temp}/db`, entries());
    if (!header) throw new VirgoError("BAD_REQUEST", "Not a usable Virgo backup: no header");
    for (const name of [...files, "db"]) await Deno.rename(`${temp}/${name}`, `${path}/${name}`);
    await Deno.remove(temp);
    return { peerId: header.peerId, created: header.created, files, entries: n };
  } catch (err) {
    await Deno.remove(existed ? temp : path, { recursive: true }).catch(() => {});
    throw err;
  }
}
