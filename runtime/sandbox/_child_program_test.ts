import assert from "node:assert/strict";
import { childProgram } from "./_child_program.ts";

const source = new URL("./_child.ts", import.meta.url);

Deno.test("the child program from source: bundled once into the cache, bundled again when an input changes", async () => {
  const root = await Deno.makeTempDir({ prefix: "virgo-child-program-" });
  try {
    const url = await childProgram(root);
    assert.match(url, /^file:\/\/.*\/virgo\/child-[0-9a-f]{24}\.js$/);
    const file = new URL(url).pathname;
    assert.ok((await Deno.readTextFile(file)).includes("Sandbox refuses to start"));
    const [manifest] = [...Deno.readDirSync(`${root}/virgo`)].filter((e) =>
      e.name.endsWith(".json")
    );
    const path = `${root}/virgo/${manifest!.name}`;
    const m = JSON.parse(await Deno.readTextFile(path));
    // Every module the child imports is an input: an edit to any of them is seen.
    for (const f of ["_child.ts", "_frame.ts", "_child_env.ts", "_net_policy.ts", "_stream.ts"]) {
      assert.ok(m.inputs[new URL(`./${f}`, source).pathname], f);
    }
    const built = (await Deno.stat(file)).mtime;
    assert.equal(await childProgram(root), url);
    assert.deepEqual((await Deno.stat(file)).mtime, built, "a current bundle is not made again");
    // An input whose hash no longer matches (as after an edit): bundled again, manifest renewed.
    m.inputs[source.pathname] = "0".repeat(64);
    await Deno.writeTextFile(path, JSON.stringify(m));
    await Deno.writeTextFile(file, "// stale");
    assert.equal(await childProgram(root), url);
    assert.ok((await Deno.readTextFile(file)).includes("Sandbox refuses to start"));
    assert.notEqual(
      JSON.parse(await Deno.readTextFile(path)).inputs[source.pathname],
      "0".repeat(64),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the child program without a cache folder is _child.ts itself", async () => {
  assert.equal(await childProgram(undefined), source.href);
});
