/**
 * `virgo peers`, `virgo status` and `virgo keygen`: the mesh.
 * @module
 */
import type { Command } from "commander";
import { generateSwarmKey } from "../../p2p/mod.ts";
import { clientFor, peerOptions, print } from "./_shared.ts";

/** Registers these commands on `program`. */
export function meshCommands(program: Command): void {
  peerOptions(program.command("peers")).description(
    "the mesh as this peer sees it, with each peer's load",
  )
    .option("--json", "print JSON")
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const view = await (await clientFor(cmd)).json<{ peers: Array<Record<string, unknown>> }>(
        "/v1/peers",
      );
      if (o.json) return print(view);
      print("peer\tinflight\tqueued\tcores\tloop ms\tpool free MiB\tfunctions\tage ms\thttp");
      for (const p of view.peers) {
        print([
          `${p.self ? "*" : " "}${p.peerId}`,
          p.inflight,
          p.queued,
          p.cores,
          p.loopDelayMs,
          Math.round(Number(p.poolFreeBytes) / 1048576),
          (p.functions as unknown[]).length,
          Math.round(Number(p.ageMs)),
          p.http ?? "",
        ].join("\t"));
      }
    });

  peerOptions(program.command("status")).description("this peer's status").action(
    async (_o: unknown, cmd: Command) => {
      print(await (await clientFor(cmd)).json("/v1/status"));
    },
  );

  program.command("keygen")
    .description("print a new swarm key for a private mesh (--swarm-key)")
    .action(async () => {
      await Deno.stdout.write(generateSwarmKey());
    });
}
