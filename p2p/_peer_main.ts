/**
 * A peer in its own process for tests that need to SIGKILL one: joins the
 * multiaddr given as the first argument and prints its peer id.
 *
 * @module
 */
import { startNode } from "./_testing.ts";

const mesh = await startNode({ join: Deno.args.slice(0, 1) });
await Deno.stdout.write(new TextEncoder().encode(`${mesh.peerId}\n`));
await new Promise(() => {});
