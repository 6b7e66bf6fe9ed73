import assert from "node:assert/strict";
import { openDatabase, openMemoryDatabase } from "../../kv/mod.ts";
import { encodeBackup, readBackup, readDataFiles, restoreDataFolder } from "./mod.ts";

const enc = new TextEncoder();

async function bytesOf(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return ReadableStream.from([bytes]);
}
async function gzip(text: string): Promise<Uint8Array> {
  return await bytesOf(
    ReadableStream.from([enc.encode(text)]).pipeThrough(new CompressionStream("gzip")),
  );
}

/** A backup of a memory database with `n` entries and a peer key. */
async function sample(n: number): Promise<Uint8Array> {
  const db = openMemoryDatabase();
  for (let i = 0; i < n; i++) await db.store("kv").put(`k${i}`, enc.encode(`value ${i}`));
  const files = [{ name: "peer.key" as const, data: new Uint8Array([1, 2, 3]) }];
  return await bytesOf(encodeBackup({ peerId: "peer-a", files, entries: db.dump() }));
}

Deno.test("backup format: what is written reads back, header, files and entries in order", async () => {
  const records = [];
  for await (const r of readBackup(streamOf(await sample(2000)))) records.push(r);
  assert.deepEqual(records[0]?.type === "header" && records[0].peerId, "peer-a");
  assert.deepEqual(records[1], {
    type: "file",
    file: { name: "peer.key", data: new Uint8Array([1, 2, 3]) },
  });
  const entries = records.filter((r) => r.type === "entry");
  assert.equal(entries.length, 2000);
  assert.deepEqual(
    entries[0]?.type === "entry" && new TextDecoder().decode(entries[0].entry.key),
    "!kv!k0",
  );
});

Deno.test("backup format: a cut-off, altered or foreign file is refused", async () => {
  const good = await sample(50);
  const text = new TextDecoder().decode(
    await bytesOf(
      (streamOf(good) as ReadableStream<BufferSource>).pipeThrough(new DecompressionStream("gzip")),
    ),
  );
  const lines = text.trimEnd().split("\n");
  const read = async (bytes: Uint8Array) => {
    for await (const _ of readBackup(streamOf(bytes))) { /* drain */ }
  };
  await assert.rejects(() => read(good.slice(0, good.length - 20)), /Not a usable Virgo backup/);
  await assert.rejects(
    async () => await read(await gzip(lines.slice(0, -1).join("\n") + "\n")),
    /no end line/,
  );
  const altered = [...lines];
  altered[5] = altered[5]!.replace(/"v":"[^"]*"/, '"v":"AAAA"');
  await assert.rejects(
    async () => await read(await gzip(altered.join("\n") + "\n")),
    /does not match/,
  );
  await assert.rejects(async () => await read(await gzip('{"hello":1}\n')), /header/);
  await assert.rejects(async () => await read(enc.encode("not gzip")), /decompress/);
});

Deno.test("restore: a data folder from a backup, only into a new or empty folder", async () => {
  const root = await Deno.makeTempDir({ prefix: "virgo-restore-" });
  try {
    const src = await openDatabase(`${root}/src/db`);
    await src.store("catalogue").put("hello", enc.encode("{}"));
    await Deno.writeFile(`${root}/src/peer.key`, new Uint8Array([9, 9]));
    const files = await readDataFiles(`${root}/src`);
    const backup = await bytesOf(encodeBackup({ peerId: "p", files, entries: src.dump() }));
    await src.close();

    const r = await restoreDataFolder(streamOf(backup), `${root}/new`);
    assert.deepEqual({ ...r, created: "" }, {
      peerId: "p",
      created: "",
      files: ["peer.key"],
      entries: 1,
    });
    assert.deepEqual(await Deno.readFile(`${root}/new/peer.key`), new Uint8Array([9, 9]));
    const db = await openDatabase(`${root}/new/db`);
    assert.deepEqual(await db.store("catalogue").get("hello"), enc.encode("{}"));
    await db.close();

    await assert.rejects(() => restoreDataFolder(streamOf(backup), `${root}/new`), /not empty/);
    // A failed restore leaves nothing behind: no new folder, an empty one as it was.
    await assert.rejects(() => restoreDataFolder(streamOf(backup.slice(0, 40)), `${root}/cut`));
    await Deno.mkdir(`${root}/empty`);
    await assert.rejects(() => restoreDataFolder(streamOf(backup.slice(0, 40)), `${root}/empty`));
    assert.deepEqual([...Deno.readDirSync(`${root}/empty`)], []);
    assert.deepEqual([...Deno.readDirSync(root)].map((e) => e.name).sort(), [
      "empty",
      "new",
      "src",
    ]);
    // An empty folder (a volume's mount point) is restored into in place.
    await restoreDataFolder(streamOf(backup), `${root}/empty`);
    assert.deepEqual([...Deno.readDirSync(`${root}/empty`)].map((e) => e.name).sort(), [
      "db",
      "peer.key",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
