/**
 * Defaults of the runtime, each with the reason for its value.
 * @module
 */

/** Default HTTP listen address: loopback, so a peer without a token is never exposed. */
export const DEFAULT_HTTP = "127.0.0.1:8787";
/**
 * Default libp2p listen multiaddr: loopback, like HTTP. Other hosts can join only a mesh that
 * is locked with a swarm key and an operator key (`virgo init`), listening on a chosen address.
 */
export const DEFAULT_P2P = "/ip4/127.0.0.1/tcp/7878";
/** Default data folder, relative to the working folder (as in the contract). */
export const DEFAULT_DATA = "./.virgo";
/** Upper bound a deployment may ask for: keeps one function from claiming the machine. */
export const MAX_TIMEOUT_MS = 15 * 60_000;
/** Upper bound on a function's memory cap, in MiB. */
export const MAX_MEMORY_MB = 4096;
/** Largest deploy body: 20 MB is far past any edge function bundle (the examples are 1–60 KB). */
export const MAX_DEPLOY_BYTES = 20 * 1024 * 1024;
/** Largest invoke request body by default: 10 MB, bounded so one call cannot fill the peer's memory. */
export const MAX_INVOKE_BYTES = 10 * 1024 * 1024;
/** How long a graceful shutdown waits for in-flight calls before closing anyway. */
export const SHUTDOWN_GRACE_MS = 5_000;
/** Function names: URL- and file-safe, short enough to read in logs. */
export const FUNCTION_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/**
 * V8's young generation of a peer process (`--max-semi-space-size`, MiB), set where a peer is
 * launched: `bin/virgo`, `deno.json`'s tasks, `deploy/virgo.service`, `deploy/netns.sh` and
 * `test/_harness.ts` (a flag of the Deno process, so it cannot be set from here). Measured in
 * alternating rounds of 1 / 4 / 16 MiB (medians): an idle peer of a mesh of 3 holds PSS 64 / 69 /
 * 75 MB (V8's default: 76; 4 rounds), and USS 157 / 161 / 183 MB after `wrk -c50` on `/fn/hello`
 * (default: 203; 12 rounds); the peer's CPU a call is 5% / 8% lower at 4 / 16 than at 1 (paired by
 * round; req/s within noise), and GC falls from 32–35% of the peer's busy profile to 18% / 13–19%.
 * 4 MiB buys most of 16's CPU for under half its memory. Function processes keep their own 1 MiB
 * (`SEMI_SPACE_MB` in `sandbox/constants.ts`).
 */
export const PEER_SEMI_SPACE_MB = 4;
/** Default memory-pool capacity each peer offers, in MiB. */
export const DEFAULT_POOL_MB = 256;
/** Protocol of the key-value pool's replication messages. */
export const KV_PROTOCOL = "/virgo/kv/1.0.0";
/** Largest secret value: keys, tokens and certificates fit; a secret is not a data store. */
export const MAX_SECRET_BYTES = 64 * 1024;
/**
 * `Retry-After` (seconds) told to a caller refused as overloaded or stopping when the refusal
 * carries no better estimate: HTTP counts in whole seconds, and a second lets a queue of
 * sub-second calls drain.
 */
export const RETRY_AFTER_S = 1;
/**
 * Request body bytes kept so that a call refused before it ran (overloaded, stopping) can be
 * sent to another peer: a refusal comes before a function reads the body, so only what was
 * already sent on is needed; past this much the call is not moved, and the bytes are let go.
 */
export const REPLAY_MAX_BYTES = 1024 * 1024;
