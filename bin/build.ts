/**
 * Builds the CLI that the npm package ships (`npm run build`, run by `prepack`): Deno does not
 * strip types under `node_modules`, so an installed package must carry JavaScript. esbuild
 * bundles `runtime/cli/main.ts` and the sandbox's child program into `dist/cli/` as ES
 * modules, split into chunks: the heavy parts of a peer (libp2p, LevelDB, esbuild), which
 * `virgo start` and `virgo deploy` import on demand, stay out of the chunk every client command
 * loads. npm packages stay imports, resolved from the package's `node_modules` at run time.
 *
 * The chunks sit two folders below the package root, as `runtime/cli/` and `runtime/sandbox/`
 * do, so the paths the code builds from `import.meta.url` hold in both layouts:
 * `../../functions/` (the examples), `./_child.js` next to the sandbox code (see
 * `runtime/sandbox/_child_program.ts`).
 *
 * @example
 * ```sh
 * ./node_modules/.bin/deno run -A bin/build.ts   # writes dist/cli/virgo.js and its chunks
 * ```
 * @module
 */
import * as esbuild from "esbuild";

const root = new URL("../", import.meta.url).pathname;
const outdir = `${root}dist/cli`;

await Deno.remove(`${root}dist`, { recursive: true }).catch(() => {});
const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: [
    { in: "runtime/cli/main.ts", out: "virgo" },
    { in: "runtime/sandbox/_child.ts", out: "_child" },
  ],
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "neutral",
  target: "esnext",
  // npm packages (and node: built-ins) are loaded from node_modules by Deno at run time.
  packages: "external",
  external: ["node:*"],
  chunkNames: "chunk-[hash]",
  legalComments: "none",
  metafile: true,
  logLevel: "warning",
});
await esbuild.stop();

// The sandbox resolves its child program next to itself: it must have been written.
await Deno.stat(`${outdir}/_child.js`);
let bytes = 0;
for (const [file, out] of Object.entries(result.metafile.outputs)) {
  if (file.endsWith(".js")) bytes += out.bytes;
}
console.log(`dist/cli: ${Object.keys(result.metafile.outputs).length} files, ${bytes} bytes`);
