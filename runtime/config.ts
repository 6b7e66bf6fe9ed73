/**
 * Virgo's configuration: ONE zod schema ({@linkcode ConfigSchema}) for the keys of client
 * commands (`peer`, `token`) and of `virgo start` (`http`, `p2p`, `data`, …, and `token`
 * again), so one `virgo.json` serves both. Every source — command-line flags, `VIRGO_*`
 * environment variables and the config file — is validated against it, so the core only ever
 * sees a typed value. Precedence: flag > environment variable > config file > default.
 *
 * The config file is the one `--config <file>` or `VIRGO_CONFIG` names (it must exist), else
 * `./virgo.json` when there is one, else `/etc/virgo/virgo.json` when there is one (and it can
 * be read); see {@linkcode findConfigFile}.
 *
 * This module is on every CLI command's path, so it imports the few light files it needs
 * rather than the folders' `mod.ts` (which pull in libp2p, LevelDB and esbuild).
 * @module
 */
import { z } from "zod";
import { DEFAULT_DATA, DEFAULT_HTTP, DEFAULT_P2P, DEFAULT_POOL_MB } from "./constants.ts";
import { DEFAULT_KEEP_VERSIONS, MAX_KEEP_VERSIONS } from "./catalog/constants.ts";
import { DEFAULT_REPLICAS } from "../kv/constants.ts";
import { STRATEGIES } from "../p2p/routing.ts";
import { tcpAddress } from "../p2p/addr.ts";
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

/** A peer's base URL, as client commands take it. */
const peerUrl = z.string().refine((v) => /^https?:\/\/[^/\s]+\/?$/.test(v), {
  message: "Expected a peer's base URL, e.g. http://127.0.0.1:8787",
});

/**
 * The one schema of Virgo's configuration: `virgo.json`, `VIRGO_*` variables and flags.
 * `peer` is a client key (where client commands go); `token` is both the admin token a peer
 * requires and the one clients send; every other key is an option of `virgo start`.
 *
 * @example
 * ```ts
 * ConfigSchema.parse({ peer: "http://127.0.0.1:8787", token: "s3cret-token", poolMb: 64 });
 * ```
 */
export const ConfigSchema = z.object({
  /** Client commands: the peer to talk to. */
  peer: peerUrl.optional(),
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
  /** Function processes kept warm at most; by default as many as a quarter of memory holds. */
  maxWarm: intFrom(1, 4096).optional(),
  /** Versions each function keeps for `virgo rollback`. */
  keepVersions: intFrom(1, MAX_KEEP_VERSIONS).default(DEFAULT_KEEP_VERSIONS),
}).strict();

/** A validated configuration (client and server keys). */
export type Config = z.infer<typeof ConfigSchema>;

/** Schema of the options of `virgo start`: {@linkcode ConfigSchema} without the client key. */
export const StartConfigSchema = ConfigSchema.omit({ peer: true });

/** The validated options of a peer. */
export type StartConfig = z.infer<typeof StartConfigSchema>;

/** Where a config file is looked for when neither `--config` nor `VIRGO_CONFIG` names one. */
export const CONFIG_SEARCH = ["./virgo.json", "/etc/virgo/virgo.json"] as const;

/** A config file as read: its path (undefined when there is none) and its raw keys. */
export interface ConfigFile {
  path: string | undefined;
  values: Record<string, unknown>;
}

/**
 * Finds and reads the config file: `explicit` (from `--config` or `VIRGO_CONFIG`; a missing or
 * unreadable file is an error), else the first of {@linkcode CONFIG_SEARCH} that exists
 * (`/etc/virgo/virgo.json` is skipped when this user may not read it). The keys are validated
 * against {@linkcode ConfigSchema}; an error names the file and the key.
 *
 * @example
 * ```ts
 * const { path, values } = await readConfigFile(Deno.env.get("VIRGO_CONFIG"));
 * ```
 */
export async function readConfigFile(explicit?: string): Promise<ConfigFile> {
  const candidates = explicit ? [explicit] : CONFIG_SEARCH;
  for (const path of candidates) {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (err) {
      if (!explicit && err instanceof Deno.errors.NotFound) continue;
      if (!explicit && path.startsWith("/etc/") && err instanceof Deno.errors.PermissionDenied) {
        continue;
      }
      throw new VirgoError(
        "BAD_REQUEST",
        `Cannot read config file ${path}: ${(err as Error).message}`,
      );
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new VirgoError("BAD_REQUEST", `Invalid config file ${path}: ${(err as Error).message}`);
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new VirgoError("BAD_REQUEST", `Invalid config file ${path}: expected a JSON object`);
    }
    const parsed = ConfigSchema.safeParse(value);
    if (!parsed.success) {
      throw new VirgoError(
        "BAD_REQUEST",
        `Invalid config file ${path}: ${describeIssue(parsed.error)}`,
      );
    }
    return { path, values: value as Record<string, unknown> };
  }
  return { path: undefined, values: {} };
}

/** The first issue of a failed parse, as `key: message`. */
function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue?.code === "unrecognized_keys") return `unknown key ${issue.keys.join(", ")}`;
  return `${issue?.path.join(".") || "config"}: ${issue?.message ?? "invalid"}`;
}

/**
 * Where client commands go by the config file: its `peer`, else the peer the same file
 * configures (`http`, with a wildcard address read as loopback), else undefined.
 *
 * @example
 * ```ts
 * clientPeer({ http: "0.0.0.0:9000" }); // "http://127.0.0.1:9000"
 * ```
 */
export function clientPeer(values: Record<string, unknown>): string | undefined {
  if (typeof values.peer === "string") return values.peer;
  if (typeof values.http !== "string") return undefined;
  const { hostname, port } = parseHostPort(values.http);
  const host = hostname === "0.0.0.0"
    ? "127.0.0.1"
    : hostname === "::"
    ? "[::1]"
    : hostname.includes(":")
    ? `[${hostname}]`
    : hostname;
  return `http://${host}:${port}`;
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
  // The client's key may sit in the same file: `virgo start` does not use it.
  delete merged.peer;
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
