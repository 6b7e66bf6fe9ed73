/**
 * The command line of a child: which permissions and limits a process is started with. These
 * are fixed at start, so a process (and a spare) fits only specs with the same {@linkcode Profile}.
 *
 * @module
 */
import { DEFAULT_MEMORY_MB, LOOPBACK_DENY } from "./constants.ts";

/** What fixes a child's flags. */
export interface Profile {
  memoryMb: number;
  allowNet?: string[];
  allowLoopback?: boolean;
}

/** The profile spares are started with: the contract's default deployment. */
export const DEFAULT_PROFILE: Profile = { memoryMb: DEFAULT_MEMORY_MB };

/** A stable key: two specs with the same key can share a spare. */
export function profileKey(p: Profile): string {
  return `${p.memoryMb}|${p.allowLoopback ? 1 : 0}|${p.allowNet?.join(",") ?? "*"}`;
}

/**
 * Arguments after `deno` for a child running `childUrl` with profile `p`, reaching its host over
 * the unix socket at `sock` (which it may open once: it revokes the path before loading code).
 */
export function childArgs(
  p: Profile,
  denyNet: string[],
  childUrl: string,
  sock: string,
): string[] {
  const args = [
    "run",
    "--no-prompt",
    "--no-config",
    "--no-lock",
    "--no-remote",
    "--quiet",
    `--v8-flags=--max-old-space-size=${p.memoryMb}`,
    `--allow-read=${sock}`,
    `--allow-write=${sock}`,
  ];
  // allowNet: [] means no network but the host's socket.
  if (p.allowNet === undefined) args.push("--allow-net");
  else args.push(`--allow-net=${[...p.allowNet, `unix:${sock}`].join(",")}`);
  const deny = p.allowLoopback ? [] : [...LOOPBACK_DENY, ...denyNet];
  if (deny.length > 0 && p.allowNet?.length !== 0) args.push(`--deny-net=${deny.join(",")}`);
  args.push(childUrl, sock);
  return args;
}
