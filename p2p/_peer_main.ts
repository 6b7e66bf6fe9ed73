/**
 * A peer in its own process for tests that need to SIGKILL one: joins the
 * multiaddr given as the first argument, keeps its key in the data folder
 * given as the second (the test removes it: a killed process cannot), and
 * prints its peer id.
 *
 * @module
 */
import { startNode } from "./_testing.ts";

const mesh = await startNode({ join: Deno.args.slice(0, 1), dataDir: Deno.args[1]! });
await Deno.stdout.write(new TextEncoder().encode(`${mesh.peerId}\n`));
await new Promise(() => {});
