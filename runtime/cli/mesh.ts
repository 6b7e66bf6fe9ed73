/**
 * `virgo peers`, `virgo status`, `virgo keygen` and `virgo init`: the mesh.
 * @module
 */
import type { Command } from "commander";
import { CliError } from "./client.ts";
import { clientFor, jsonOption, peerOptions, print } from "./_shared.ts";

/** Registers these commands on `program`. */
export function meshCommands(program: Command): void {
  const peers = peerOptions(program.command("peers")).description(
    "the mesh as this peer sees it, with each peer's load (peers remove <id>: forget a member)",
  );
  jsonOption(peers)
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const view = await (await clientFor(cmd)).json<{
        peers: Array<Record<string, unknown>>;
        members: Array<{ peerId: string; up: boolean }>;
      }>("/v1/peers");
      if (o.json) return print(view);
      const down = view.members.filter((m) => !m.up).map((m) => m.peerId);
      print("peer\tinflight\tqueued\tcores\tloop ms\tpool free MiB\tcatalog\tage ms\thttp");
      for (const p of view.peers) {
        print([
          `${p.self ? "*" : " "}${p.peerId}`,
          p.inflight,
          p.queued,
          p.cores,
          p.loopDelayMs,
          Math.round(Number(p.poolFreeBytes) / 1048576),
          catalogCell(p.catalog),
          Math.round(Number(p.ageMs)),
          p.http ?? "",
        ].join("\t"));
      }
      for (const id of down) print(` ${id}\tdown: still a member (virgo peers remove ${id})`);
    });

  peerOptions(peers.command("remove"))
    .description("remove a member that is gone for good: its keys' quorums stop counting it")
    .argument("<peerId>")
    .action(async (peerId: string, _o: unknown, cmd: Command) => {
      print(
        await (await clientFor(cmd)).json(`/v1/peers/${encodeURIComponent(peerId)}`, {
          method: "DELETE",
        }),
      );
    });

  peerOptions(program.command("status")).description("this peer's status").action(
    async (_o: unknown, cmd: Command) => {
      print(await (await clientFor(cmd)).json("/v1/status"));
    },
  );

  program.command("keygen")
    .description("print a new swarm key for a private mesh (--swarm-key)")
    .action(async () => {
      const { generateSwarmKey } = await import("../../p2p/mod.ts");
      await Deno.stdout.write(generateSwarmKey());
    });

  program.command("init")
    .description("make the keys of a locked mesh: swarm key, operator key and admin token")
    .option("--out <dir>", "folder to write them to", "virgo-keys")
    .action(async (o: { out: string }) => {
      const { generateSwarmKey } = await import("../../p2p/mod.ts");
      const { generateOperatorKey } = await import("../catalog/mod.ts");
      await Deno.mkdir(o.out, { recursive: true, mode: 0o700 });
      const { privateJwk, publicKey } = await generateOperatorKey();
      const token = Array.from(
        crypto.getRandomValues(new Uint8Array(24)),
        (b) => b.toString(16).padStart(2, "0"),
      ).join("");
      const files: Array<[string, Uint8Array | string]> = [
        ["swarm.key", generateSwarmKey()],
        ["operator.key", JSON.stringify(privateJwk) + "\n"],
        ["operator.pub", publicKey + "\n"],
        ["token", token + "\n"],
      ];
      for (const [name, data] of files) {
        const path = `${o.out}/${name}`;
        const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
        try {
          await Deno.writeFile(path, bytes, { mode: 0o600, createNew: true });
        } catch (err) {
          if (err instanceof Deno.errors.AlreadyExists) {
            throw new CliError(
              "BAD_REQUEST",
              `${path} exists already: keep it, or remove it first`,
            );
          }
          throw err;
        }
      }
      const d = o.out;
      print(`Keys of a locked mesh in ${d}/ (mode 0600):
  swarm.key     who may join: copy it to every peer
  operator.key  who may deploy: keep it only on the peers that accept deploys
  operator.pub  ${publicKey}
  token         the admin token for /v1/*, the dashboard and /metrics

First peer:
  virgo start --http 0.0.0.0:8787 --p2p /ip4/0.0.0.0/tcp/7878 \\
    --swarm-key ${d}/swarm.key --operator-key ${d}/operator.key --token "$(cat ${d}/token)"

Every other peer (swarm.key and token copied; the address and peer id from the first one's banner):
  virgo start --http 0.0.0.0:8787 --p2p /ip4/0.0.0.0/tcp/7878 \\
    --swarm-key swarm.key --operator ${publicKey} --token "$(cat token)" \\
    --join /ip4/<first peer's address>/tcp/7878/p2p/<its peer id>

Clients:
  export VIRGO_PEER=http://<a peer>:8787 VIRGO_TOKEN="$(cat ${d}/token)"`);
    });
}

/** A peer's catalogue as `virgo peers` shows it: its entry count and the start of its digest. */
function catalogCell(catalog: unknown): string {
  const c = catalog as { digest?: unknown; count?: unknown } | undefined;
  return `${Number(c?.count ?? 0)} ${String(c?.digest ?? "").slice(0, 8)}`;
}
