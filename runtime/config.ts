/**
 * The peer's configuration: one zod schema that every source — command-line
 * flags, `VIRGO_*` environment variables and `virgo.json` in the working
 * folder — is validated against, so the core only ever sees a typed value.
 * Precedence: flag > environment variable > `virgo.json` > default.
 * @module
 */
import { z } from "zod";
import { DEFAULT_DATA, DEFAULT_HTTP, DEFAULT_P2P, DEFAULT_POOL_MB } from "./constants.ts";
import { DEFAULT_KEEP_VERSIONS, MAX_KEEP_VERSIONS } from "./catalog/mod.ts";
import { DEFAULT_REPLICAS } from "../kv/mod.ts";
import { STRATEGIES, tcpAddress } from "../p2p/mod.ts";
import { VirgoError } from "./errors.ts";

/** Routing strategies a peer can default to (`--routing`): the mesh's own list. */
export const ROUTINGS = STRATEGIES;
/** One of {@linkcode ROUTINGS}. */
export type Routing = typeof ROUTINGS[number];

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, {
  message: "Expected host:port, e.g. 127.0.0.1:8787",
});
const multiaddr = z.string().refine((v) => tcpAddress(v) !== undefined, {
  message: "Expected a TCP multiaddr, e.g. /ip4/127.0.0.1/tcp/7878",
});
const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
/** A switch from a flag (true), a JSON boolean, or an environment string ("true", "1", "false", "0", ""). */
const flag = z.union([
  z.boolean(),
  z.enum(["true", "1", "yes", "on"]).transform(() => true),
  z.enum(["false", "0", "no", "off", ""]).transform(() => false),
]);

/** Schema of the options of `virgo start`. */
export const StartConfigSchema = z.object({
  http: hostPort.default(DEFAULT_HTTP),
  p2p: multiaddr.default(DEFAULT_P2P),
  data: z.string().min(1).default(DEFAULT_DATA),
  join: z.array(multiaddr).default([]),
  mdns: flag.default(false),
  routing: z.enum(ROUTINGS as readonly [Routing, ...Routing[]]).default("p2c"),
  replicas: intFrom(1, 15).default(DEFAULT_REPLICAS),
  poolMb: intFrom(0, 1024 * 1024).default(DEFAULT_POOL_MB),
  token: z.string().min(8, { message: "A token needs at least 8 characters" }).optional(),
  swarmKey: z.string().min(1).optional(),
  /** The operator's public key (base64url): only entries it signed are run. */
  operator: z.string().min(1).optional(),
  /** The operator's private key file: this peer signs the changes its users make. */
  operatorKey: z.string().min(1).optional(),
  withExamples: flag.default(false),
  spares: intFrom(0, 16).default(1),
  /** Versions each function keeps for `virgo rollback`. */
  keepVersions: intFrom(1, MAX_KEEP_VERSIONS).default(DEFAULT_KEEP_VERSIONS),
}).strict();

/** The validated options of a peer. */
export type StartConfig = z.infer<typeof StartConfigSchema>;

/** Reads `virgo.json` from a folder; a missing file is an empty config. */
export async function readConfigFile(dir = "."): Promise<Record<string, unknown>> {
  const path = `${dir}/virgo.json`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return {};
    throw new VirgoError("BAD_REQUEST", `Cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new Error("expected a JSON object");
    }
    return value as Record<string, unknown>;
  } catch (err) {
    throw new VirgoError("BAD_REQUEST", `Invalid ${path}: ${(err as Error).message}`);
  }
}

/**
 * Merges the sources (later wins) and validates the result.
 *
 * @example
 * ```ts
 * const cfg = resolveConfig({ routing: "random" }, { http: "127.0.0.1:9000" });
 * // cfg.http === "127.0.0.1:9000", cfg.routing === "random"
 * ```
 */
export function resolveConfig(...sources: Record<string, unknown>[]): StartConfig {
  const merged: Record<string, unknown> = {};
  for (const source of sources) {
    for (const [k, v] of Object.entries(source)) if (v !== undefined) merged[k] = v;
  }
  if (typeof merged.join === "string") merged.join = splitList(merged.join);
  const parsed = StartConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join(".") || "config";
    throw new VirgoError("BAD_REQUEST", `Invalid option ${where}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

/** Splits a comma-separated list, as `VIRGO_JOIN` is. */
export function splitList(value: string): string[] {
  return value.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

/** Whether a host names the loopback interface. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\./.test(h);
}

/** Splits `host:port` (IPv6 in brackets) into its parts. */
export function parseHostPort(value: string): { hostname: string; port: number } {
  const i = value.lastIndexOf(":");
  return { hostname: value.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(value.slice(i + 1)) };
}

/** The host of a TCP multiaddr (`/ip4/127.0.0.1/tcp/7878` → `127.0.0.1`). */
export function multiaddrHost(addr: string): string {
  return tcpAddress(addr)?.host ?? "";
}

/**
 * Refuses a configuration that would expose this peer without a lock: HTTP off loopback needs a
 * token, libp2p off loopback needs a swarm key (who may join) and the operator's key (who may
 * deploy). Throws `BAD_REQUEST` naming the flag or command that fixes it.
 *
 * @example
 * ```ts
 * checkExposure(resolveConfig({ p2p: "/ip4/0.0.0.0/tcp/7878" })); // throws: needs --swarm-key
 * ```
 */
export function checkExposure(cfg: StartConfig): void {
  const http = parseHostPort(cfg.http).hostname;
  if (!cfg.token && !isLoopbackHost(http)) {
    throw new VirgoError(
      "BAD_REQUEST",
      `Refusing to serve HTTP on ${cfg.http} without a token: give --token <token> (virgo init ` +
        "makes one), or listen on loopback with --http 127.0.0.1:8787",
    );
  }
  if (isLoopbackHost(multiaddrHost(cfg.p2p))) return;
  if (!cfg.swarmKey) {
    throw new VirgoError(
      "BAD_REQUEST",
      `Refusing to listen for peers on ${cfg.p2p} without a swarm key: give --swarm-key <file> ` +
        "(virgo init, or virgo keygen > swarm.key), or listen on loopback with " +
        "--p2p /ip4/127.0.0.1/tcp/7878",
    );
  }
  if (!cfg.operator && !cfg.operatorKey) {
    throw new VirgoError(
      "BAD_REQUEST",
      `Refusing to listen for peers on ${cfg.p2p} without the operator's key: give ` +
        "--operator <public key> (or --operator-key <file> on a peer that accepts deploys); " +
        "virgo init makes both",
    );
  }
}
