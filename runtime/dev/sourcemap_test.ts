import assert from "node:assert/strict";
import { bundle } from "../catalog/mod.ts";
import { mapFrames, sourceMapper } from "./sourcemap.ts";

Deno.test("sourceMapper: a bundle's line and column map to the original file", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    await Deno.writeTextFile(
      `${dir}/lib.ts`,
      `// padding\n// padding\nexport function fail(): never {\n  throw new Error("x");\n}\n`,
    );
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      `import { fail } from "./lib.ts";\n\nexport default { fetch: () => fail() };\n`,
    );
    const b = await bundle(`${dir}/main.ts`, { sourcemap: true });
    const lines = b.code.split("\n");
    const i = lines.findIndex((l) => l.includes(`throw new Error("x")`));
    const col = lines[i]!.indexOf("throw") + 1;
    const at = sourceMapper(b.map!);
    assert.deepEqual(at(i + 1, col), { file: `${dir}/lib.ts`, line: 4, column: 3 });
    const text = `Error: x\n    at fail (virgo-dev:/main.js:${
      i + 1
    }:${col})\n    at other (x.js:1:1)`;
    assert.equal(
      mapFrames(text, "virgo-dev:/main.js", at, (f) => f.slice(dir.length + 1)),
      `Error: x\n    at fail (lib.ts:4:3)\n    at other (x.js:1:1)`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
