/**
 * The backup file of a peer (`virgo backup`): gzip-compressed lines of JSON, so `zcat` shows it.
 *
 * ```
 * {"virgo":"backup","version":1,"peerId":"12D3KooW…","created":"2026-…Z"}
 * {"file":"peer.key","data":"<base64>"}                 one line a file of the data folder
 * {"k":"<base64>","v":"<base64>"}                       one line a LevelDB entry, in key order
 * {"end":{"files":1,"entries":1234,"sha256":"<hex>"}}  of every line before this one
 * ```
 *
 * The last line makes a cut-off or altered file fail to read, rather than restore part of a peer.
 * @module
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import type { RawEntry } from "../../kv/mod.ts";
import { VirgoError } from "../errors.ts";

/** Version of the format written; a reader refuses any other. */
export const BACKUP_VERSION = 1;

/**
 * The files beside `db/` in a data folder that belong to the peer: its identity, and the key
 * that seals its secrets when it has no swarm key. Nothing else is read or written.
 */
export const DATA_FILES = ["peer.key", "secret.key"] as const;

/** Largest file of {@linkcode DATA_FILES} accepted: they are keys of a few hundred bytes. */
const MAX_FILE_BYTES = 64 * 1024;

/** Lines are gathered into chunks of about this size before compression. */
const CHUNK_CHARS = 64 * 1024;

/** A file of the data folder, by its name in {@linkcode DATA_FILES}. */
export interface DataFile {
  name: typeof DATA_FILES[number];
  data: Uint8Array;
}

/** What a backup holds. */
export interface BackupSource {
  peerId: string;
  files: DataFile[];
  entries: AsyncIterable<RawEntry>;
}

/** One record read back from a backup, in file order. */
export type BackupRecord =
  | { type: "header"; peerId: string; created: string }
  | { type: "file"; file: DataFile }
  | { type: "entry"; entry: RawEntry };

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);
const Header = z.object({
  virgo: z.literal("backup"),
  version: z.literal(BACKUP_VERSION),
  peerId: z.string().min(1).max(200),
  created: z.string().max(40),
}).strict();
const FileLine = z.object({ file: z.enum(DATA_FILES), data: base64 }).strict();
const EntryLine = z.object({ k: base64, v: base64 }).strict();
const EndLine = z.object({
  end: z.object({
    files: z.number().int().min(0),
    entries: z.number().int().min(0),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  }).strict(),
}).strict();

/**
 * Encodes a backup as a gzip stream, reading `source.entries` as the stream is pulled (a slow
 * reader holds the database's snapshot open, not the whole database in memory).
 *
 * @example
 * ```ts
 * const body = encodeBackup({ peerId, files: [], entries: db.dump() });
 * await Deno.writeFile("peer.vbak", body);
 * ```
 */
export function encodeBackup(source: BackupSource): ReadableStream<Uint8Array> {
  const hash = createHash("sha256");
  let files = 0;
  let entries = 0;
  async function* lines(): AsyncGenerator<string> {
    const header = {
      virgo: "backup",
      version: BACKUP_VERSION,
      peerId: source.peerId,
      created: new Date().toISOString(),
    };
    yield JSON.stringify(header) + "\n";
    for (const f of source.files) {
      files++;
      yield JSON.stringify({ file: f.name, data: f.data.toBase64() }) + "\n";
    }
    for await (const e of source.entries) {
      entries++;
      yield JSON.stringify({ k: e.key.toBase64(), v: e.value.toBase64() }) + "\n";
    }
  }
  async function* chunks(): AsyncGenerator<string> {
    let chunk = "";
    for await (const line of lines()) {
      hash.update(line, "utf8");
      chunk += line;
      if (chunk.length >= CHUNK_CHARS) {
        yield chunk;
        chunk = "";
      }
    }
    yield chunk + JSON.stringify({ end: { files, entries, sha256: hash.digest("hex") } }) + "\n";
  }
  return ReadableStream.from(chunks())
    .pipeThrough(new TextEncoderStream())
    .pipeThrough(new CompressionStream("gzip"));
}

function bad(message: string): VirgoError {
  return new VirgoError("BAD_REQUEST", `Not a usable Virgo backup: ${message}`);
}

/** Parses one line with `schema`, or undefined when it is not of that kind. */
function lineOf<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> | undefined {
  const r = schema.safeParse(value);
  return r.success ? r.data : undefined;
}

/** The lines of a gzip stream of text, without their newlines. */
async function* textLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let rest = "";
  try {
    for await (
      const text of (stream as ReadableStream<BufferSource>)
        .pipeThrough(new DecompressionStream("gzip"))
        .pipeThrough(new TextDecoderStream("utf-8", { fatal: true }))
    ) {
      rest += text;
      let i: number;
      while ((i = rest.indexOf("\n")) >= 0) {
        yield rest.slice(0, i);
        rest = rest.slice(i + 1);
      }
    }
  } catch (err) {
    if (err instanceof VirgoError) throw err;
    throw bad(`cannot decompress it (${(err as Error).message})`);
  }
  if (rest.length > 0) throw bad("it ends in the middle of a line (cut off?)");
}

/**
 * Reads a backup record by record, checking each line and, at the end, the count and SHA-256 of
 * what came before: a consumer must treat what it wrote as void if the iteration throws.
 * Throws `BAD_REQUEST` naming what is wrong.
 *
 * @example
 * ```ts
 * for await (const r of readBackup((await Deno.open("peer.vbak")).readable)) {
 *   if (r.type === "entry") count++;
 * }
 * ```
 */
export async function* readBackup(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<BackupRecord> {
  const hash = createHash("sha256");
  let lineNo = 0;
  let files = 0;
  let entries = 0;
  let ended = false;
  for await (const line of textLines(stream)) {
    lineNo++;
    if (ended) throw bad(`line ${lineNo} follows the end line`);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw bad(`line ${lineNo} is not JSON`);
    }
    if (lineNo === 1) {
      const h = lineOf(Header, value);
      if (!h) throw bad(`the first line is not a version ${BACKUP_VERSION} backup header`);
      hash.update(line + "\n", "utf8");
      yield { type: "header", peerId: h.peerId, created: h.created };
      continue;
    }
    const end = lineOf(EndLine, value);
    if (end) {
      const sha = hash.digest("hex");
      if (end.end.files !== files || end.end.entries !== entries || end.end.sha256 !== sha) {
        throw bad("its end line does not match its contents (altered or corrupted)");
      }
      ended = true;
      continue;
    }
    hash.update(line + "\n", "utf8");
    const e = lineOf(EntryLine, value);
    if (e) {
      entries++;
      yield {
        type: "entry",
        entry: { key: Uint8Array.fromBase64(e.k), value: Uint8Array.fromBase64(e.v) },
      };
      continue;
    }
    const f = lineOf(FileLine, value);
    if (f) {
      const data = Uint8Array.fromBase64(f.data);
      if (data.byteLength > MAX_FILE_BYTES) throw bad(`${f.file} is over ${MAX_FILE_BYTES} bytes`);
      files++;
      yield { type: "file", file: { name: f.file, data } };
      continue;
    }
    throw bad(`line ${lineNo} is not a file, an entry or the end`);
  }
  if (lineNo === 0) throw bad("it is empty");
  if (!ended) throw bad("it has no end line (cut off?)");
}
