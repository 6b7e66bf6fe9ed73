/**
 * The command line of a child: which permissions and limits a process is started with. These
 * are fixed at start, so a process (and a spare) fits only specs with the same {@linkcode Profile}.
 *
 * @module
 */
import { DEFAULT_MEMORY_MB, NET_DENY, SEMI_SPACE_MB } from "./constants.ts";
import { addressKind, type NetPolicy, opens } from "./_net_policy.ts";

/** What fixes a child's flags. */
export interface Profile {
  memoryMb: number;
  /** Outbound allowlist (`host[:port]`); undefined = any public host. */
  allowNet?: string[];
  /** Opens loopback, unspecified addresses and the peer's own ports. */
  allowLoopback?: boolean;
  /** Opens the private ranges (not loopback, link-local or metadata). */
  allowPrivate?: boolean;
}

/** The profile spares are started with: the contract's default deployment. */
export const DEFAULT_PROFILE: Profile = { memoryMb: DEFAULT_MEMORY_MB };

/** A stable key: two specs with the same key can share a spare. */
export function profileKey(p: Profile): string {
  const open = `${p.allowLoopback ? 1 : 0}${p.allowPrivate ? 1 : 0}`;
  return `${p.memoryMb}|${open}|${p.allowNet?.join(",") ?? "*"}`;
}

/** The part of a profile the child enforces itself (see `_net_policy.ts`). */
export function netPolicy(p: Profile): NetPolicy {
  return { loopback: p.allowLoopback === true, private: p.allowPrivate === true };
}

/**
 * The `--deny-net` entries for profile `p`: the groups of `NET_DENY` it does not open, less the
 * IPv6 prefixes Deno cannot take, plus the peer's own `denyNet` unless loopback is open. Never
 * empty: the `always` group is in every profile.
 *
 * @example
 * ```ts
 * denyList({ memoryMb: 128, allowPrivate: true }, []); // loopback and always groups
 * ```
 */
export function denyList(p: Profile, denyNet: string[]): string[] {
  const policy = netPolicy(p);
  const deny: string[] = [...NET_DENY.always];
  if (!policy.private) deny.push(...NET_DENY.private);
  if (!policy.loopback) deny.push(...NET_DENY.loopback, ...denyNet);
  return deny.filter((e) => !(e.includes(":") && e.includes("/")));
}

/** The address part of an `--allow-net` entry: `[fd00::5]:443` → `[fd00::5]`, `10.0.0.0/8` → `10.0.0.0`. */
function hostOf(entry: string): string {
  if (entry.startsWith("[")) return entry.slice(0, entry.indexOf("]") + 1);
  return entry.split("/")[0]!.split(":")[0]!;
}

/**
 * `allowNet` without the addresses in ranges the profile keeps closed. Listing one would not
 * open it (Deno refuses the connect on the resolved address), but Deno 2.9 lets a listed address
 * win over a denied range in `Deno.permissions.query` (measured: `--allow-net=10.0.0.5
 * --deny-net=10.0.0.0/8` answers `granted` for 10.0.0.5), so the answer would lie.
 */
export function allowList(p: Profile): string[] | undefined {
  const policy = netPolicy(p);
  return p.allowNet?.filter((e) => {
    const kind = addressKind(hostOf(e));
    return kind === undefined || opens(policy, kind);
  });
}

/**
 * Arguments after `deno` for a child running `childUrl` with profile `p`, reaching its host over
 * the unix socket at `sock` (which it may open once: it revokes the path before loading code).
 * The child gets its {@linkcode NetPolicy} as its second argument, and `fresh` as its third
 * when it is started for one function whose LOAD follows at once (not as a spare).
 */
export function childArgs(
  p: Profile,
  denyNet: string[],
  childUrl: string,
  sock: string,
  fresh = false,
): string[] {
  const args = [
    "run",
    "--no-prompt",
    "--no-config",
    "--no-lock",
    "--no-remote",
    // Bundles are self-contained; an npm: import would make the child download the package.
    "--no-npm",
    "--quiet",
    `--v8-flags=--max-old-space-size=${p.memoryMb},--max-semi-space-size=${SEMI_SPACE_MB}`,
    `--allow-read=${sock}`,
    `--allow-write=${sock}`,
  ];
  // allowNet: [] means no network but the host's socket.
  const allow = allowList(p);
  if (allow === undefined) args.push("--allow-net");
  else args.push(`--allow-net=${[...allow, `unix:${sock}`].join(",")}`);
  args.push(`--deny-net=${denyList(p, denyNet).join(",")}`);
  args.push(childUrl, sock, JSON.stringify(netPolicy(p)));
  if (fresh) args.push("fresh");
  return args;
}
