/**
 * Online backup of a peer and offline restore of its data folder (`virgo backup`,
 * `virgo restore`, `POST /v1/backup`). The peer's LevelDB is read from one snapshot while it
 * serves, never copied as files; a restore writes a new folder that a peer then starts on.
 *
 * @example
 * ```ts
 * import { encodeBackup, readDataFiles, restoreDataFolder } from "./runtime/backup/mod.ts";
 * const body = encodeBackup({ peerId, files: await readDataFiles(dir), entries: db.dump() });
 * await restoreDataFolder(body, "/tmp/restored");
 * ```
 * @module
 */
export {
  BACKUP_VERSION,
  type BackupRecord,
  type BackupSource,
  DATA_FILES,
  type DataFile,
  encodeBackup,
  readBackup,
} from "./format.ts";
export { readDataFiles, type Restored, restoreDataFolder } from "./data_folder.ts";
