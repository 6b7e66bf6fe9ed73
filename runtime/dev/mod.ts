/**
 * `virgo dev`: a function on one local peer, reloaded on save.
 *
 * ```ts
 * import { startDev } from "./runtime/dev/mod.ts";
 *
 * const dev = await startDev({ entry: "functions/counter.ts", port: 0 });
 * console.log(dev.functionUrl); // http://127.0.0.1:40125/fn/counter
 * await dev.stop();
 * ```
 * @module
 */
export { DEV_PORT, type DevInit, type DevSession, startDev } from "./session.ts";
export { parseDotenv, readSecretsFile } from "./dotenv.ts";
export { devLogger, type DevLoggerInit } from "./logger.ts";
export { mapFrames, type PositionMapper, sourceMapper, type SourcePosition } from "./sourcemap.ts";
export { type FileWatch, watchFiles } from "./watch.ts";
