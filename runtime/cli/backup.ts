/**
 * `virgo backup <file|dir>` and `virgo restore <file|dir> --data <dir>`: an online backup of a
 * peer, through its API while it serves, and a new data folder written from one, offline.
 * @module
 */
import type { Command } from "commander";
import { type Code, STATUS, VirgoError } from "../errors.ts";
import { CliError } from "./client.ts";
import { EXIT, exitCodeForStatus } from "./exit_codes.ts";
import { clientFor, peerOptions, print } from "./_shared.ts";

/** The name of a backup file as the peer names it: `virgo-<peer id>-<stamp>.vbak`. */
const BACKUP_NAME = /^virgo-([A-Za-z0-9]{1,200})-(\d{8}T\d{6}Z)\.vbak$/;

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** Where `virgo backup <target>` writes: into `target` when it is a folder, else `target`. */
async function backupPath(target: string, res: Response): Promise<string> {
  if (!await isDir(target)) return target;
  const disposition = res.headers.get("content-disposition") ?? "";
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? "";
  if (!BACKUP_NAME.test(name)) {
    throw new CliError("BAD_RESPONSE", "The peer did not name its backup; give a file name");
  }
  return `${target.replace(/\/+$/, "")}/${name}`;
}

/** The newest backup in `dir`, refusing a folder that holds backups of several peers. */
async function newestBackup(dir: string): Promise<string> {
  const found: Array<{ name: string; peerId: string; stamp: string }> = [];
  for await (const e of Deno.readDir(dir)) {
    const m = e.isFile ? BACKUP_NAME.exec(e.name) : null;
    if (m) found.push({ name: e.name, peerId: m[1]!, stamp: m[2]! });
  }
  if (found.length === 0) {
    throw new CliError("NOT_FOUND", `No virgo-*.vbak backup in ${dir}`, EXIT.NOT_FOUND);
  }
  const peers = [...new Set(found.map((f) => f.peerId))];
  if (peers.length > 1) {
    throw new CliError(
      "BAD_REQUEST",
      `${dir} holds backups of ${peers.length} peers (${peers.join(", ")}): name the file`,
    );
  }
  found.sort((a, b) => a.stamp < b.stamp ? 1 : a.stamp > b.stamp ? -1 : 0);
  return `${dir.replace(/\/+$/, "")}/${found[0]!.name}`;
}

/** Registers these commands on `program`. */
export function backupCommands(program: Command): void {
  peerOptions(program.command("backup"))
    .description(
      "back up a running peer (its data and identity) to a file, or into a folder as virgo-<peer id>-<time>.vbak",
    )
    .argument("<file|dir>")
    .action(async (target: string, _o: unknown, cmd: Command) => {
      const res = await (await clientFor(cmd)).fetch("/v1/backup", { method: "POST" });
      const path = await backupPath(target, res);
      if (await exists(path)) {
        await res.body?.cancel();
        throw new CliError(
          "CONFLICT",
          `${path} exists: a backup never overwrites a file`,
          EXIT.CONFLICT,
        );
      }
      if (!res.body) throw new CliError("BAD_RESPONSE", "The peer sent an empty backup");
      // Written under a temporary name while a second reader checks what arrives; renamed only
      // once the whole backup has been read back and its end line matched.
      const partial = `${path}.partial-${crypto.randomUUID().slice(0, 8)}`;
      // Loaded here, not at start: the CLI's other commands need neither zod nor LevelDB.
      const { readBackup } = await import("../backup/format.ts");
      const [toFile, toCheck] = res.body.tee();
      let peerId = "";
      let files = 0;
      let entries = 0;
      try {
        const file = await Deno.open(partial, { write: true, createNew: true, mode: 0o600 });
        await Promise.all([
          toFile.pipeTo(file.writable),
          (async () => {
            for await (const r of readBackup(toCheck)) {
              if (r.type === "header") peerId = r.peerId;
              else if (r.type === "file") files++;
              else entries++;
            }
          })(),
        ]);
        await Deno.rename(partial, path);
      } catch (err) {
        await Deno.remove(partial).catch(() => {});
        throw err;
      }
      print({ file: path, peerId, files, entries, bytes: (await Deno.stat(path)).size });
    });

  program.command("restore")
    .description(
      "write a new data folder from a backup (a file, or the newest in a folder); then start a peer on it",
    )
    .argument("<file|dir>")
    .requiredOption("--data <dir>", "the data folder to create: missing or empty")
    .action(async (source: string, o: { data: string }) => {
      const path = await isDir(source) ? await newestBackup(source) : source;
      let file: Deno.FsFile;
      try {
        file = await Deno.open(path);
      } catch (err) {
        throw new CliError(
          "NOT_FOUND",
          `Cannot read ${path}: ${(err as Error).message}`,
          EXIT.NOT_FOUND,
        );
      }
      const { restoreDataFolder } = await import("../backup/data_folder.ts");
      const r = await restoreDataFolder(file.readable, o.data).catch((err: unknown) => {
        // A refused target or an unusable backup exits as the class of its code.
        if (!(err instanceof VirgoError)) throw err;
        throw new CliError(err.code, err.message, exitCodeForStatus(STATUS[err.code as Code]));
      });
      print({ from: path, data: o.data, ...r });
      console.error(
        `Start it with: virgo start --data ${o.data} (and the peer's usual flags). It is peer ` +
          `${r.peerId}: run it instead of that peer, never beside it.`,
      );
    });
}
