import assert from "node:assert/strict";
import { bundle } from "./bundle.ts";

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
