import assert from "node:assert/strict";
import { bundle, type BundleError } from "./bundle.ts";

const root = new URL("../../functions/", import.meta.url).pathname;

Deno.test("bundle: relative and npm imports become one module", async () => {
  const { code, size } = await bundle(`${root}router.ts`);
  assert.ok(size > 1000);
  assert.doesNotMatch(code, /^import .* from ["']hono["']/m, "hono is inlined, not imported");
  const mod = await import(`data:text/javascript,${encodeURIComponent(code)}`);
  const res = await mod.default.fetch(new Request("http://x/users/9"));
  assert.deepEqual(await res.json(), { id: "9" });
});

Deno.test("bundle: a missing file or import is a clear INVALID_BUNDLE", async () => {
  await assert.rejects(
    () => bundle(`${root}does-not-exist.ts`),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, "INVALID_BUNDLE");
      assert.match(err.message, /Cannot bundle/);
      return true;
    },
  );
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/bad.ts`,
    `import x from "./nowhere.ts"; export default { fetch: () => new Response(x) };`,
  );
  await assert.rejects(() => bundle(`${dir}/bad.ts`), /nowhere/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("bundle: the same source in two folders bundles to the same bytes", async () => {
  const dirs = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  try {
    const codes: string[] = [];
    for (const dir of dirs) {
      await Deno.mkdir(`${dir}/lib`);
      await Deno.writeTextFile(
        `${dir}/lib/greet.ts`,
        `export const greet = (n: string) => "hi " + n;`,
      );
      await Deno.writeTextFile(
        `${dir}/main.ts`,
        `import { greet } from "./lib/greet.ts";
export default { fetch: () => new Response(greet("x")) };`,
      );
      codes.push((await bundle(`${dir}/main.ts`)).code);
    }
    assert.match(codes[0]!, /\/\/ lib\/greet\.ts/);
    assert.equal(codes[0], codes[1]);
  } finally {
    for (const dir of dirs) await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bundle: a syntax error names the file, line and column", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/broken.ts`,
      `export default {\n  fetch() {\n    return new Response("x" +);\n  },\n};\n`,
    );
    const real = await Deno.realPath(dir);
    await assert.rejects(() => bundle(`${dir}/broken.ts`), (err: BundleError) => {
      assert.equal(err.code, "INVALID_BUNDLE");
      assert.deepEqual(err.location, { file: `${real}/broken.ts`, line: 3, column: 30 });
      assert.match(err.message, /broken\.ts:3:30: SyntaxError/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bundle: with sourcemap, the map comes apart from the code and names the files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/lib.ts`, `export const n = 1;`);
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      `import { n } from "./lib.ts";\nexport default { fetch: () => new Response(String(n)) };`,
    );
    const plain = await bundle(`${dir}/main.ts`);
    const mapped = await bundle(`${dir}/main.ts`, { sourcemap: true });
    assert.equal(mapped.code, plain.code, "the deployed code is the same with or without a map");
    assert.doesNotMatch(mapped.code, /sourceMappingURL/);
    const real = await Deno.realPath(dir);
    assert.deepEqual(mapped.map?.sources.sort(), [`${real}/lib.ts`, `${real}/main.ts`]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bundle: an npm: package bundles to the same bytes from folders at any depth", async () => {
  const top = await Deno.makeTempDir();
  try {
    const dirs = [top, `${top}/a/b/c/d`];
    await Deno.mkdir(dirs[1]!, { recursive: true });
    const codes: string[] = [];
    for (const dir of dirs) {
      await Deno.writeTextFile(
        `${dir}/main.ts`,
        `import isNumber from "npm:is-number@7.0.0";
export default { fetch: () => new Response(String(isNumber(1))) };`,
      );
      codes.push((await bundle(`${dir}/main.ts`)).code);
    }
    assert.match(codes[0]!, /<npm>\/registry\.npmjs\.org\/is-number\/7\.0\.0\/index\.js/);
    assert.doesNotMatch(codes[0]!, /\.\.\//, "no path climbs out of the entry's folder");
    assert.equal(codes[0], codes[1]);
  } finally {
    await Deno.remove(top, { recursive: true });
  }
});
