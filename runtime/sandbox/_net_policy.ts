/**
 * Which addresses a function may reach, as the child enforces it where Deno's `--deny-net`
 * cannot: IPv6 prefixes. The groups live in {@linkcode NET_DENY}; `_flags.ts` turns the IPv4
 * ones into flags, and {@linkcode installNetPolicy} wraps the network entry points a function
 * uses so that IPv6 literals in denied prefixes fail like Deno's own refusals, and
 * `Deno.permissions` answers `denied` for them.
 *
 * @module
 */
import { ALWAYS_DENIED_HOST, NET_DENY } from "./constants.ts";

/** What a function's profile opens beyond public addresses. */
export interface NetPolicy {
  /** Loopback and unspecified addresses (`allowLoopback`). */
  loopback: boolean;
  /** Private ranges (`allowPrivate`). */
  private: boolean;
}

/** The group of {@linkcode NET_DENY} an address falls in, or `public`. */
export type AddressKind = keyof typeof NET_DENY | "public";

type Prefix = { v6: boolean; bits: bigint; len: number };

/** Parses a strict dotted quad; undefined for anything else. */
function parseIPv4(s: string): bigint | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = (n << 8n) | BigInt(p);
  }
  return n;
}

/**
 * Parses an IPv6 address, with or without brackets and a `%zone`, into its 128 bits; undefined
 * if `s` is not one.
 *
 * @example
 * ```ts
 * parseIPv6("[::ffff:10.0.0.1]"); // 0xffff0a000001n
 * ```
 */
export function parseIPv6(s: string): bigint | undefined {
  let h = s.startsWith("[") && s.endsWith("]") ? s.slice(1, -1) : s;
  const zone = h.indexOf("%");
  if (zone >= 0) h = h.slice(0, zone);
  if (!h.includes(":")) return undefined;
  const cut = h.lastIndexOf(":");
  if (h.slice(cut + 1).includes(".")) {
    const v4 = parseIPv4(h.slice(cut + 1));
    if (v4 === undefined) return undefined;
    h = `${h.slice(0, cut + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = h.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves[1] ? halves[1].split(":") : [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return undefined;
  let n = 0n;
  for (const g of [...head, ...Array<string>(halves.length === 1 ? 0 : fill).fill("0"), ...tail]) {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined;
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  return n;
}

function parsePrefix(entry: string): Prefix {
  const [addr, len] = entry.split("/") as [string, string | undefined];
  const v6 = addr.includes(":");
  const bits = v6 ? parseIPv6(addr) : parseIPv4(addr);
  if (bits === undefined) throw new Error(`Bad address in NET_DENY: ${entry}`);
  return { v6, bits, len: len === undefined ? (v6 ? 128 : 32) : Number(len) };
}

let groups: { kind: AddressKind; prefixes: Prefix[] }[] | undefined;

function kindOf(bits: bigint, v6: boolean): AddressKind {
  const width = v6 ? 128n : 32n;
  // Parsed on first use, not as the module loads: a fresh function process installs its policy
  // before its function loads, and parsing every prefix there cost ~0.5 ms of its start.
  groups ??= (["always", "loopback", "private"] as const).map((kind) => ({
    kind,
    prefixes: NET_DENY[kind].map(parsePrefix),
  }));
  for (const { kind, prefixes } of groups) {
    for (const p of prefixes) {
      const shift = width - BigInt(p.len);
      if (p.v6 === v6 && bits >> shift === p.bits >> shift) return kind;
    }
  }
  return "public";
}

/**
 * The kind of an IP literal (`10.0.0.1`, `[fd00::1]`, `fe80::1%eth0`), or undefined for a name
 * or a non-canonical IPv4 form (normalise those with the URL parser first). IPv6 forms that
 * carry an IPv4 address (mapped `::ffff:0:0/96`, translated `::ffff:0:0:0/96`, NAT64
 * `64:ff9b::/96`) are that address; the deprecated IPv4-compatible `::/96` is never routed, so
 * it counts as `always`.
 *
 * @example
 * ```ts
 * addressKind("[::ffff:127.0.0.1]"); // "loopback"
 * addressKind("fd00::1"); // "private"
 * addressKind("example.com"); // undefined
 * ```
 */
export function addressKind(host: string): AddressKind | undefined {
  const v4 = parseIPv4(host);
  if (v4 !== undefined) return kindOf(v4, false);
  const v6 = parseIPv6(host);
  if (v6 === undefined) return undefined;
  const low = v6 & 0xffff_ffffn;
  const high = v6 >> 32n;
  if (high === 0xffffn || high === 0xffff_0000n || high === 0x64_ff9b_0000_0000_0000_0000n) {
    return kindOf(low, false);
  }
  if (high === 0n && low > 1n) return "always";
  return kindOf(v6, true);
}

/** Whether a policy opens addresses of `kind`. */
export function opens(policy: NetPolicy, kind: AddressKind): boolean {
  return kind === "public" || (kind === "loopback" && policy.loopback) ||
    (kind === "private" && policy.private);
}

const WHAT: Record<AddressKind, string> = {
  always: "a link-local, multicast, reserved or metadata address, closed to every function",
  loopback: "a loopback address, closed unless the function allows loopback",
  private: "a private address, closed unless the function allows private ranges",
  public: "",
};

/** The permission error a function sees for a host its policy closes. */
function refusal(where: string, kind: AddressKind): Error {
  return new Deno.errors.NotCapable(`Requires net access to "${where}", ${WHAT[kind]}`);
}

/**
 * Throws the permission error if `hostname` is an IPv6 literal the policy closes. Only IPv6:
 * Deno's flags are the authority for IPv4 and for names (it checks the resolved address), and
 * its own errors say the same thing.
 */
function check(policy: NetPolicy, hostname: string | undefined, port: unknown): void {
  if (hostname === undefined || !hostname.includes(":")) return;
  const kind = addressKind(hostname);
  if (kind === undefined || opens(policy, kind)) return;
  const bare = hostname.startsWith("[") ? hostname : `[${hostname}]`;
  throw refusal(port === undefined || port === "" ? bare : `${bare}:${port}`, kind);
}

/** Checks a URL the way `fetch` and `WebSocket` would resolve it; unparsable URLs pass through. */
function checkUrl(policy: NetPolicy, url: unknown): void {
  let u: URL;
  try {
    u = new URL(url instanceof Request ? url.url : String(url));
  } catch {
    return; // the real API throws its own error
  }
  check(policy, u.hostname, u.port);
}

/**
 * The host of a permission descriptor as Deno would connect to it: names lowercased and IPv4
 * shorthands (`127.1`, `0x7f000001`) spelled out by the URL parser, which is what `fetch` does
 * but `Deno.permissions.query` does not.
 */
function normaliseHost(host: string): { host: string; name: string } {
  let name = host;
  let port = "";
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    if (end < 0) return { host, name };
    name = host.slice(0, end + 1);
    port = host.slice(end + 1);
  } else if (host.split(":").length === 2) {
    const cut = host.indexOf(":");
    name = host.slice(0, cut);
    port = host.slice(cut);
  } else if (host.includes(":")) return { host, name };
  try {
    name = new URL(`http://${name}/`).hostname;
  } catch {
    return { host, name };
  }
  return { host: name + port, name };
}

/** The kind a permission query about `name` should report, if the child decides it. */
function decidedKind(name: string): AddressKind | undefined {
  // RFC 6761: "localhost" and its subdomains are loopback whatever DNS says.
  if (name === "localhost" || name.endsWith(".localhost")) return "loopback";
  return name.includes(":") ? addressKind(name) : undefined;
}

type Desc = Deno.PermissionDescriptor;

/**
 * Wraps the network entry points of this realm so the policy holds for IPv6 literals, and so a
 * function can ask: `Deno.permissions.query({ name: "net", host })` answers `denied` for any
 * host the policy closes. Also closes what a function has no use for and would escape through:
 * listening sockets (`Deno.listen`, `Deno.listenTls`, `Deno.serve`) and `Worker`, whose fresh
 * realm would have none of these wrappers. Call once, before any function code loads.
 */
export function installNetPolicy(policy: NetPolicy): void {
  const d = Deno as unknown as Record<string, unknown>;
  const g = globalThis as unknown as Record<string, unknown>;
  const origFetch = globalThis.fetch;
  g.fetch = function fetch(input: RequestInfo | URL, init?: RequestInit) {
    try {
      checkUrl(policy, input);
    } catch (e) {
      return Promise.reject(e);
    }
    return origFetch(input, init);
  };
  for (const key of ["connect", "connectTls"]) {
    const orig = d[key] as (o: { hostname?: string; port?: number }) => Promise<unknown>;
    d[key] = function (this: unknown, o: { hostname?: string; port?: number }) {
      try {
        check(policy, o?.hostname, o?.port);
      } catch (e) {
        return Promise.reject(e);
      }
      return orig.call(this, o);
    };
  }
  const origClient = Deno.createHttpClient;
  d.createHttpClient = function createHttpClient(o: Deno.CreateHttpClientOptions) {
    const proxy = o?.proxy as { url?: string } | undefined;
    if (proxy?.url !== undefined) checkUrl(policy, proxy.url);
    return origClient(o);
  };
  for (const key of ["WebSocket", "WebSocketStream", "EventSource"]) {
    // Deno loads `WebSocket` and `EventSource` on first use (reading both costs a child's start
    // ~3 ms): the guard is made on first use too, from the original kept in this closure.
    const desc = Object.getOwnPropertyDescriptor(globalThis, key);
    if (!desc) continue;
    let value: unknown;
    let made = false;
    const guard = () => {
      const Orig = (desc.get ? desc.get.call(globalThis) : desc.value) as
        | (new (url: unknown, ...rest: unknown[]) => object)
        | undefined;
      if (typeof Orig !== "function") return Orig;
      const Guarded = class extends Orig {
        constructor(url: unknown, ...rest: unknown[]) {
          checkUrl(policy, url);
          super(url, ...rest);
        }
      };
      Object.defineProperty(Guarded, "name", { value: key });
      return Guarded;
    };
    Object.defineProperty(globalThis, key, {
      get: () => made ? value : (made = true, value = guard()),
      set: (v: unknown) => {
        made = true;
        value = v;
      },
      configurable: true,
    });
  }
  const closed = (what: string) => () => {
    throw new Deno.errors.NotCapable(`${what} is not available to functions`);
  };
  d.listen = closed("Listening for connections");
  d.listenTls = closed("Listening for connections");
  d.serve = closed("Deno.serve");
  g.Worker = class Worker {
    constructor() {
      closed("Worker")();
    }
  };
  wrapPermissions(policy);
}

/** Makes `Deno.permissions` answer for the hosts the policy closes (see installNetPolicy). */
function wrapPermissions(policy: NetPolicy): void {
  const perms = Deno.permissions;
  const denied = { name: "net", host: ALWAYS_DENIED_HOST } as const;
  const rewrite = (desc: Desc): Desc | "denied" => {
    if (desc?.name !== "net" || typeof desc.host !== "string") return desc;
    const { host, name } = normaliseHost(desc.host);
    const kind = decidedKind(name);
    if (kind !== undefined && !opens(policy, kind)) return "denied";
    return { name: "net", host };
  };
  // Asking Deno about a host denied in every profile yields a genuine `denied` status.
  const origQuery = perms.query.bind(perms);
  const origQuerySync = perms.querySync.bind(perms);
  for (const key of ["query", "request"] as const) {
    const orig = perms[key].bind(perms);
    perms[key] = (desc: Desc) => {
      const d = rewrite(desc);
      return d === "denied" ? origQuery(denied) : orig(d);
    };
  }
  for (const key of ["querySync", "requestSync"] as const) {
    const orig = perms[key].bind(perms);
    perms[key] = (desc: Desc) => {
      const d = rewrite(desc);
      return d === "denied" ? origQuerySync(denied) : orig(d);
    };
  }
}
