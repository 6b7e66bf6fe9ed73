/**
 * `virgo start`: run a peer, with the example functions on `--with-examples`.
 * @module
 */
import { type Command, Option } from "commander";
import { resolveConfig } from "../config.ts";
import { collect, configFor } from "./_shared.ts";
import { startupError } from "./startup_errors.ts";

const EXAMPLES = ["hello", "echo", "fib", "router", "counter"];

/** Registers these commands on `program`. */
export function startCommand(program: Command): void {
  program.command("start")
    .description("run a peer")
    .addOption(
      new Option("--http <host:port>", "HTTP listen address (default 127.0.0.1:8787)").env(
        "VIRGO_HTTP",
      ),
    )
    .addOption(
      new Option(
        "--p2p <multiaddr>",
        "libp2p listen multiaddr (default /ip4/127.0.0.1/tcp/7878; off loopback needs --swarm-key and --operator)",
      )
        .env(
          "VIRGO_P2P",
        ),
    )
    .addOption(new Option("--data <dir>", "data folder (default ./.virgo)").env("VIRGO_DATA"))
    .addOption(
      new Option("--join <multiaddr>", "peer to join (repeatable; env comma-separated)").env(
        "VIRGO_JOIN",
      ).argParser(collect),
    )
    .addOption(new Option("--mdns", "discover peers on the LAN with mDNS").env("VIRGO_MDNS"))
    .addOption(
      new Option("--routing <strategy>", "p2c | least-loaded | random | local (default p2c)").env(
        "VIRGO_ROUTING",
      ),
    )
    .addOption(new Option("--replicas <n>", "copies of each key (default 3)").env("VIRGO_REPLICAS"))
    .addOption(
      new Option("--pool-mb <n>", "memory-pool capacity this peer offers (default 256)").env(
        "VIRGO_POOL_MB",
      ),
    )
    .addOption(
      new Option(
        "--token <token>",
        "admin token for /v1/*, the dashboard and /metrics; needed to serve HTTP off loopback",
      )
        .env(
          "VIRGO_TOKEN",
        ),
    )
    .addOption(
      new Option("--swarm-key <file>", "libp2p swarm key: a private mesh").env("VIRGO_SWARM_KEY"),
    )
    .addOption(
      new Option("--operator <public key>", "the operator's public key: only what it signed runs")
        .env("VIRGO_OPERATOR"),
    )
    .addOption(
      new Option("--operator-key <file>", "the operator's private key: this peer signs deploys")
        .env("VIRGO_OPERATOR_KEY"),
    )
    .addOption(
      new Option("--spares <n>", "pre-started generic sandboxes (default 1)").env("VIRGO_SPARES"),
    )
    .addOption(
      new Option(
        "--max-warm <n>",
        "function processes kept warm at most (default: what a quarter of memory holds, 32–128)",
      ).env("VIRGO_MAX_WARM"),
    )
    .addOption(
      new Option("--keep-versions <n>", "versions each function keeps for rollback (default 10)")
        .env("VIRGO_KEEP_VERSIONS"),
    )
    .addOption(
      new Option("--with-examples", "deploy the example functions on first start").env(
        "VIRGO_WITH_EXAMPLES",
      ),
    )
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const cfg = resolveConfig((await configFor(cmd)).values, opts);
      // The peer's parts (libp2p, LevelDB, esbuild) load only here, not for client commands.
      const { bundle, createLogger, startPeer } = await import("../mod.ts");
      const logger = createLogger();
      let peer: Awaited<ReturnType<typeof startPeer>>;
      try {
        peer = await startPeer(cfg, logger);
      } catch (err) {
        throw startupError(err, cfg);
      }
      // A peer that holds only the operator's public key cannot sign, so it deploys nothing.
      if (cfg.withExamples && (!cfg.operator || cfg.operatorKey)) {
        const root = new URL("../../functions/", import.meta.url);
        for (const name of EXAMPLES) {
          if (peer.functions().includes(name)) continue;
          const { code } = await bundle(new URL(`${name}.ts`, root).pathname);
          await peer.deploy(name, {
            code,
            vars: {},
            timeoutMs: 10_000,
            memoryMb: 128,
            allowLoopback: false,
          });
        }
      }
      const fns = peer.functions();
      console.log(`Virgo peer ${peer.peerId}`);
      console.log(`  http       ${peer.url}`);
      for (const a of peer.addrs()) console.log(`  p2p        ${a}`);
      console.log(`  routing    ${cfg.routing}, ${cfg.replicas} replicas, ${cfg.poolMb} MiB pool`);
      console.log(
        `  functions  ${fns.length ? fns.join(", ") : "(none yet: virgo deploy <entry.ts>)"}`,
      );
      console.log(
        `  http auth  ${
          cfg.token
            ? "token required for /v1/*, the dashboard and /metrics"
            : "none: listening on loopback only (a token is needed to listen elsewhere)"
        }`,
      );
      console.log(
        `  mesh       ${
          cfg.swarmKey
            ? "private: only peers with the swarm key can connect"
            : "open: listening on loopback only (a swarm key is needed to listen elsewhere)"
        }`,
      );
      console.log(
        `  deploys    ${
          cfg.operatorKey
            ? "signed here with the operator key; unsigned entries from peers are refused"
            : cfg.operator
            ? "only entries signed by operator " + cfg.operator + " are run; this peer cannot sign"
            : "unsigned: any member of this loopback mesh may deploy"
        }`,
      );
      console.log(`Ready at ${peer.url}`);
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, "Shutting down");
        await peer.stop();
        Deno.exit(0);
      };
      Deno.addSignalListener("SIGINT", () => void stop("SIGINT"));
      Deno.addSignalListener("SIGTERM", () => void stop("SIGTERM"));
    });
}
