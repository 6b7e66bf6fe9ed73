/**
 * Bundling for `virgo deploy`: esbuild turns an entry module and everything
 * it imports (relative files and npm packages from `node_modules`, with or
 * without the `npm:` prefix) into one self-contained ES module, which is what
 * a peer stores and a sandbox loads.
 * @module
 */
import * as esbuild from "esbuild";
import { VirgoError } from "../errors.ts";

/** What {@linkcode bundle} produced. */
export interface Bundle {
  /** The single ES module. */
  code: string;
  /** Its size in bytes. */
  size: number;
}

const npmPrefix: esbuild.Plugin = {
  name: "npm-prefix",
  setup(build) {
    // Deno-style `npm:pkg@1/sub` → `pkg/sub`, resolved from node_modules.
    build.onResolve({ filter: /^npm:/ }, async (args) => {
      const spec = args.path.slice(4).replace(/^(@[^/]+\/[^@/]+|[^@/]+)@[^/]+/, "$1");
      const result = await build.resolve(spec, { kind: args.kind, resolveDir: args.resolveDir });
      if (result.errors.length > 0) return { errors: result.errors };
      return { path: result.path };
    });
    build.onResolve({ filter: /^jsr:/ }, (args) => ({
      errors: [{ text: `jsr: imports are not supported yet: ${args.path}` }],
    }));
  },
};

/**
 * Bundles `entry` into one ES module.
 *
 * @example
 * ```ts
 * const { code } = await bundle("functions/hello.ts");
 * ```
 */
export async function bundle(entry: string): Promise<Bundle> {
  // esbuild writes each module's path into the bundle (a comment above it, the keys of CommonJS
  // wrappers), relative to its working folder: from the entry's own folder, the same source
  // bundles to the same bytes — the same version — wherever it lies and wherever it is deployed from.
  const path = entry.startsWith("/") ? entry : `${Deno.cwd()}/${entry}`;
  try {
    const result = await esbuild.build({
      absWorkingDir: path.slice(0, path.lastIndexOf("/")) || "/",
      entryPoints: [path],
      bundle: true,
      write: false,
      format: "esm",
      platform: "neutral",
      target: "esnext",
      mainFields: ["module", "main"],
      conditions: ["deno", "worker", "browser", "import", "default"],
      external: ["node:*", "https://*", "http://*"],
      plugins: [npmPrefix],
      logLevel: "silent",
      legalComments: "none",
    });
    const file = result.outputFiles[0];
    if (!file) throw new VirgoError("INVALID_BUNDLE", `Bundling produced no output: ${entry}`);
    return { code: file.text, size: file.contents.byteLength };
  } catch (err) {
    if (err instanceof VirgoError) throw err;
    const failure = err as { errors?: esbuild.Message[] };
    const first = failure.errors?.[0];
    const where = first?.location ? `${first.location.file}:${first.location.line}: ` : "";
    throw new VirgoError(
      "INVALID_BUNDLE",
      `Cannot bundle ${entry}: ${where}${first?.text ?? (err as Error).message}`,
    );
  } finally {
    await esbuild.stop();
  }
}
