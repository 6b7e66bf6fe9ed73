/**
 * `virgo versions <fn>` and `virgo rollback <fn> [version]`: a function's kept versions, and a
 * switch back to one of them across the mesh (the one before the current by default).
 * @module
 */
import type { Command } from "commander";
import { clientFor, jsonOption, peerOptions, print } from "./_shared.ts";

/** One kept version, as `GET /v1/functions/:name/versions` lists it. */
interface VersionRow {
  version: string;
  hash: string;
  size: number;
  deployedAt: string;
  current: boolean;
}

const path = (fn: string, rest: string) => `/v1/functions/${encodeURIComponent(fn)}/${rest}`;

/** Registers these commands on `program`. */
export function versionCommands(program: Command): void {
  jsonOption(peerOptions(program.command("versions")))
    .description("list a function's kept versions, newest first; * marks the current one")
    .argument("<fn>")
    .action(async (fn: string, o: { json?: boolean }, cmd: Command) => {
      const res = await (await clientFor(cmd)).json<{ versions: VersionRow[] }>(
        path(fn, "versions"),
      );
      if (o.json) return print(res);
      for (const v of res.versions) {
        print(
          `${v.current ? "*" : " "} ${v.version}\t${v.deployedAt}\t${v.size} B\t${
            v.hash.slice(0, 12)
          }`,
        );
      }
    });

  peerOptions(program.command("rollback"))
    .description(
      "make an older version current again, mesh-wide (default: the one before the current)",
    )
    .argument("<fn>")
    .argument("[version]", "a version from virgo versions, or a prefix of one")
    .action(async (fn: string, version: string | undefined, _o: unknown, cmd: Command) => {
      print(
        await (await clientFor(cmd)).json(path(fn, "rollback"), {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(version === undefined ? {} : { version }),
        }),
      );
    });
}
