/**
 * `createSwim`: one SWIM member (SWIM paper + Lifeguard-lite, after hashicorp/memberlist). It
 * keeps the member table, answers pings and ping-reqs, runs the probe loop (`probe.ts`), turns
 * a failed probe into a suspicion and an expired suspicion into a death, refutes news of its own
 * failure by raising its incarnation, and spreads every change by piggybacking it on the pings
 * and acks it sends anyway (`broadcast.ts`). Steady-state cost per member is one ping and one
 * ack per period whatever the mesh size; only a join (or a peer finding itself declared dead)
 * exchanges the full table (`sync`).
 *
 * @module
 */
import { silentLogger } from "../../core/mod.ts";
import { createBroadcastQueue } from "./broadcast.ts";
import { wireSize } from "./codec.ts";
import { DEFAULTS, MAX_META_BYTES, MAX_UPDATES } from "./constants.ts";
import { decide, isMember, mustRefute } from "./members.ts";
import { createProber } from "./probe.ts";
import { realScheduler } from "./scheduler.ts";
import type {
  Member,
  Meta,
  Swim,
  SwimEvent,
  SwimInit,
  SwimMessage,
  SwimStats,
  Update,
} from "./types.ts";

/** A member as the table holds it: what {@linkcode Member} shows, plus bookkeeping. */
interface Rec extends Member {
  /** When it last became dead or left (for forgetting it). */
  goneAt: number;
  suspicion?: unknown;
}

interface Relay {
  requester: string;
  seq: number;
  nack: unknown;
  drop: unknown;
}

/** FNV-1a of `s`, 32 bits: members' ids in the view digest. */
function idHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function snapshot(r: Rec): Member {
  const m: Member = { id: r.id, addrs: r.addrs, incarnation: r.incarnation, state: r.state };
  if (r.meta) m.meta = r.meta;
  if (r.metaAt !== undefined) m.metaAt = r.metaAt;
  return m;
}

/**
 * A stopped SWIM member. Call `start()`, then `join(seeds)`; feed it every message that arrives
 * with `receive`.
 *
 * @example
 * ```ts
 * const swim = createSwim({ self: { id, addrs }, transport: { send: (to, addrs, msg) => out(to, addrs, encodeSwim(msg)) } });
 * swim.onEvent((ev) => console.log(ev.type, ev.member.id));
 * swim.start();
 * swim.join([{ id: seedId, addrs: seedAddrs }]);
 * ```
 */
export function createSwim(init: SwimInit): Swim {
  const config = { ...DEFAULTS, ...init.config };
  const scheduler = init.scheduler ?? realScheduler;
  const random = init.random ?? Math.random;
  const log = init.logger ?? silentLogger;
  const self = { id: init.self.id, addrs: init.self.addrs, incarnation: init.incarnation ?? 0 };
  const table = new Map<string, Rec>();
  // Alive and suspect ids in an array with positions, for O(1) random picks and removal.
  const live: string[] = [];
  const livePos = new Map<string, number>();
  const gone: Array<{ id: string; at: number }> = [];
  const queue = createBroadcastQueue();
  const relays = new Map<number, Relay>();
  const lastSync = new Map<string, number>();
  const asked = new Map<string, number>();
  const listeners = new Set<(ev: SwimEvent) => void>();
  const stats: SwimStats = { sent: 0, sentBytes: 0, received: 0, receivedBytes: 0 };
  let seq = 0;
  let viewHash = idHash(self.id);
  let lastChange = 0;
  let lastRepair = -Infinity;
  let gossipTimer: unknown;
  let running = false;
  let leaving = false;

  const n = () => live.length + 1;
  // A floor of N = 100: in a young mesh of a few peers, 4 sends per update left ~1 peer in 200
  // missing a join, and nothing periodic repairs that (the simulation found it).
  const retransmitLimit = () =>
    config.retransmitMult * Math.ceil(Math.log10(Math.max(n(), 100) + 1));
  const suspicionMs = () =>
    config.suspicionMult * Math.log10(Math.max(n(), 10)) * config.probeIntervalMs;

  function emit(type: SwimEvent["type"], r: Rec): void {
    if (listeners.size === 0) return;
    const ev = { type, member: snapshot(r) };
    for (const cb of listeners) {
      try {
        cb(ev);
      } catch (err) {
        log.warn({ err: String(err), event: type }, "SWIM event listener failed");
      }
    }
  }

  function send(to: string, msg: SwimMessage): void {
    stats.sent++;
    stats.sentBytes += wireSize(msg);
    init.transport.send(to, table.get(to)?.addrs ?? [], msg);
  }

  /** Queues `u` for piggybacking and, while news waits, gossips it (memberlist's gossip). */
  function spread(u: Update): void {
    queue.push(u);
    if (gossipTimer === undefined && running) {
      gossipTimer = scheduler.setTimeout(gossip, config.gossipIntervalMs);
    }
  }

  function gossip(): void {
    gossipTimer = undefined;
    if (!running || queue.size === 0) return;
    for (const id of pick(config.gossipNodes, "")) {
      const updates = piggyback(id);
      if (updates.length > 0) send(id, { t: "gossip", updates });
    }
    if (queue.size > 0) gossipTimer = scheduler.setTimeout(gossip, config.gossipIntervalMs);
  }

  function selfUpdate(): Update {
    return {
      id: self.id,
      addrs: self.addrs,
      incarnation: self.incarnation,
      state: leaving ? "left" : "alive",
    };
  }

  function piggyback(to: string): Update[] {
    // One slot kept for the notice below, so a message never exceeds what decoding accepts.
    const updates = queue.take(config.maxPiggybackBytes, MAX_UPDATES - 1, retransmitLimit());
    // A member we hold dead or left is still talking to us: tell it first, so it refutes.
    const r = table.get(to);
    if (r && !isMember(r.state)) {
      updates.unshift({ id: r.id, addrs: [], incarnation: r.incarnation, state: r.state });
    }
    return updates;
  }

  function myMeta(): Meta | undefined {
    const m = init.meta?.();
    if (m && m.length > MAX_META_BYTES) {
      log.warn({ bytes: m.length, max: MAX_META_BYTES }, "SWIM meta too large: not sent");
      return undefined;
    }
    return m;
  }

  function setLive(id: string, on: boolean): void {
    const at = livePos.get(id);
    if ((at === undefined) === on) viewHash = (viewHash ^ idHash(id)) >>> 0;
    if (on && at === undefined) {
      livePos.set(id, live.length);
      live.push(id);
      prober.added(id);
    } else if (!on && at !== undefined) {
      const last = live.pop()!;
      if (last !== id) {
        live[at] = last;
        livePos.set(last, at);
      }
      livePos.delete(id);
    }
  }

  function startSuspicion(r: Rec): void {
    scheduler.clearTimeout(r.suspicion);
    const inc = r.incarnation;
    r.suspicion = scheduler.setTimeout(() => {
      r.suspicion = undefined;
      if (r.state !== "suspect" || r.incarnation !== inc || table.get(r.id) !== r) return;
      const u: Update = { id: r.id, addrs: [], incarnation: inc, state: "dead" };
      apply(u, true);
    }, suspicionMs());
  }

  /** Applies `u` about another member; true when it changed what we believe. */
  function apply(u: Update, share: boolean): boolean {
    let r = table.get(u.id);
    const next = decide(r, u);
    if (!next) return false;
    const was = r?.state;
    if (!r) {
      r = { id: u.id, addrs: u.addrs, incarnation: next.incarnation, state: next.state, goneAt: 0 };
      table.set(u.id, r);
    }
    r.incarnation = next.incarnation;
    r.state = next.state;
    lastChange = scheduler.now();
    if (u.addrs.length > 0) r.addrs = u.addrs;
    if (next.state !== "suspect") {
      scheduler.clearTimeout(r.suspicion);
      r.suspicion = undefined;
    } else startSuspicion(r);
    setLive(r.id, isMember(next.state));
    if (!isMember(next.state) && (was === undefined || isMember(was))) {
      r.goneAt = scheduler.now();
      gone.push({ id: r.id, at: r.goneAt });
    }
    if (share) {
      spread({
        id: r.id,
        addrs: next.state === "alive" ? r.addrs : [],
        incarnation: r.incarnation,
        state: r.state,
      });
    }
    if (was === undefined || !isMember(was)) {
      if (isMember(next.state)) emit("join", r);
    } else if (!isMember(next.state)) emit("leave", r);
    else if (was !== next.state) emit(next.state === "suspect" ? "suspect" : "alive", r);
    return true;
  }

  /** News about ourselves: refute a suspicion or death by outliving its incarnation. */
  function aboutSelf(u: Update, from: string): void {
    if (!mustRefute(self.incarnation, u, leaving)) return;
    self.incarnation = u.incarnation + 1;
    spread(selfUpdate());
    log.debug({ incarnation: self.incarnation, state: u.state, from }, "SWIM refuting");
    // Declared dead, we probably missed other news while away: exchange full state once.
    if ((u.state === "dead" || u.state === "left") && from !== self.id) {
      const at = lastSync.get(from);
      if (at === undefined || scheduler.now() - at >= config.syncCooldownMs) {
        lastSync.set(from, scheduler.now());
        send(from, { t: "sync", members: fullState(), reply: true });
      }
    }
  }

  function take(updates: Update[], from: string): void {
    for (const u of updates) {
      if (u.id === self.id) aboutSelf(u, from);
      else apply(u, true);
    }
  }

  /** Up to `k` distinct random members other than `exclude`, in O(k). */
  function pick(k: number, exclude: string): string[] {
    const out: string[] = [];
    const max = Math.min(k, live.length - (livePos.has(exclude) ? 1 : 0));
    for (let tries = 0; out.length < max && tries < 4 * k + 8; tries++) {
      const id = live[Math.floor(random() * live.length)]!;
      if (id !== exclude && !out.includes(id)) out.push(id);
    }
    return out;
  }

  function fullState(): Update[] {
    const out: Update[] = [selfUpdate()];
    for (const r of table.values()) {
      out.push({ id: r.id, addrs: r.addrs, incarnation: r.incarnation, state: r.state });
    }
    return out;
  }

  function forgetGone(): void {
    const horizon = scheduler.now() - config.deadRetentionMs;
    while (gone.length > 0 && gone[0]!.at <= horizon) {
      const { id, at } = gone.shift()!;
      const r = table.get(id);
      if (r && !isMember(r.state) && r.goneAt === at) {
        table.delete(id);
        lastSync.delete(id);
      }
    }
  }

  const prober = createProber({
    scheduler,
    random,
    config,
    nextSeq: () => ++seq,
    candidates: () => {
      forgetGone();
      return live.slice();
    },
    probeable: (id) => livePos.has(id),
    ping(target, s) {
      forgetGone();
      const ping: SwimMessage = {
        t: "ping",
        seq: s,
        updates: piggyback(target),
        view: { n: n(), h: viewHash },
      };
      const meta = myMeta();
      if (meta) ping.meta = meta;
      send(target, ping);
    },
    pingReq(via, s, target) {
      send(via, {
        t: "ping-req",
        seq: s,
        target,
        addrs: table.get(target)?.addrs ?? [],
        updates: piggyback(via),
      });
    },
    relays: pick,
    failed(target) {
      const r = table.get(target);
      if (r && r.state === "alive") {
        apply({ id: r.id, addrs: [], incarnation: r.incarnation, state: "suspect" }, true);
      }
    },
  });

  function noteMeta(from: string, meta: Meta | undefined): void {
    if (!meta) return;
    const r = table.get(from);
    if (!r) return;
    r.meta = meta;
    r.metaAt = scheduler.now();
  }

  function onPingReq(from: string, msg: Extract<SwimMessage, { t: "ping-req" }>): void {
    const s = ++seq;
    const relay: Relay = {
      requester: from,
      seq: msg.seq,
      // Lifeguard: say "no answer" in time, so the requester knows we are not the problem.
      nack: scheduler.setTimeout(() => {
        if (running) send(from, { t: "nack", seq: msg.seq, updates: piggyback(from) });
      }, config.probeTimeoutMs),
      drop: scheduler.setTimeout(() => relays.delete(s), config.probeIntervalMs),
    };
    relays.set(s, relay);
    const ping: SwimMessage = { t: "ping", seq: s, updates: piggyback(msg.target) };
    stats.sent++;
    stats.sentBytes += wireSize(ping);
    init.transport.send(msg.target, table.get(msg.target)?.addrs ?? msg.addrs, ping);
  }

  /**
   * Anti-entropy on mismatch: when a peer's view differs from ours while we have had no news for
   * a while (nothing in flight that would explain it), exchange full state with it once. The side
   * with fewer members asks (ties: the smaller id), at most once per `syncCooldownMs`.
   */
  function compareViews(from: string, v: { n: number; h: number }): void {
    const mine = n();
    if (v.n === mine && v.h === viewHash) return;
    if (v.n < mine || (v.n === mine && self.id > from)) return;
    const now = scheduler.now();
    if (queue.size > 0 || now - lastChange < config.suspicionMult * config.probeIntervalMs) return;
    if (now - lastRepair < config.syncCooldownMs || !table.has(from)) return;
    lastRepair = now;
    log.debug({ peer: from, theirs: v.n, ours: mine }, "SWIM views differ: syncing");
    send(from, { t: "sync", members: fullState(), reply: true });
  }

  /** A stranger talks to us: ask it to introduce itself (an ack no probe waits for). */
  function askWho(from: string): void {
    const at = asked.get(from);
    if (at !== undefined && scheduler.now() - at < config.probeIntervalMs) return;
    asked.set(from, scheduler.now());
    if (asked.size > 1024) asked.clear();
    send(from, { t: "ack", seq: 0, updates: [], who: true });
  }

  function onAck(from: string, msg: Extract<SwimMessage, { t: "ack" }>): void {
    noteMeta(from, msg.meta);
    if (msg.who) send(from, { t: "ping", seq: ++seq, updates: [selfUpdate()] });
    if (prober.acked(msg.seq)) return;
    const relay = relays.get(msg.seq);
    if (!relay) return;
    relays.delete(msg.seq);
    scheduler.clearTimeout(relay.nack);
    scheduler.clearTimeout(relay.drop);
    send(relay.requester, { t: "ack", seq: relay.seq, updates: piggyback(relay.requester) });
  }

  function onSync(from: string, msg: Extract<SwimMessage, { t: "sync" }>): void {
    // A fresh joiner learns everyone from its seed; everyone else already knows them, so it
    // spreads nothing (the seed spreads the joiner). Otherwise what is news to us is news.
    const fresh = live.length === 0 && !msg.reply;
    for (const u of msg.members) {
      if (u.id === self.id) {
        aboutSelf(u, from);
        continue;
      }
      // memberlist: another's "dead" becomes our suspicion, so we check before we bury.
      if (u.state === "dead") {
        if (table.has(u.id)) apply({ ...u, state: "suspect" }, !fresh);
      } else apply(u, !fresh);
    }
    if (msg.reply) send(from, { t: "sync", members: fullState(), reply: false });
    // Joined: those who joined before us learn of us only by gossip, which mostly reaches those
    // who joined after us (and know us from their own sync). Tell a few directly.
    else if (fresh) {
      for (const id of pick(retransmitLimit(), from)) {
        send(id, { t: "ping", seq: ++seq, updates: [selfUpdate()] });
      }
    }
  }

  const swim: Swim = {
    self: self.id,
    get incarnation() {
      return self.incarnation;
    },
    stats,
    start() {
      if (running) return;
      running = true;
      prober.start();
    },
    stop() {
      running = false;
      prober.stop();
      scheduler.clearTimeout(gossipTimer);
      gossipTimer = undefined;
      for (const r of relays.values()) {
        scheduler.clearTimeout(r.nack);
        scheduler.clearTimeout(r.drop);
      }
      relays.clear();
      for (const r of table.values()) {
        scheduler.clearTimeout(r.suspicion);
        r.suspicion = undefined;
      }
    },
    join(seeds) {
      spread(selfUpdate());
      for (const s of seeds) {
        if (s.id === self.id) continue;
        stats.sent++;
        const msg: SwimMessage = { t: "sync", members: fullState(), reply: true };
        stats.sentBytes += wireSize(msg);
        init.transport.send(s.id, s.addrs, msg);
      }
    },
    receive(from, msg) {
      if (!running || from === self.id) return;
      stats.received++;
      stats.receivedBytes += wireSize(msg);
      if (msg.t === "sync") return onSync(from, msg);
      take(msg.updates, from);
      if ((msg.t === "ping" || msg.t === "ack") && msg.view) compareViews(from, msg.view);
      switch (msg.t) {
        case "ping": {
          noteMeta(from, msg.meta);
          const meta = myMeta();
          const ack: SwimMessage = {
            t: "ack",
            seq: msg.seq,
            updates: piggyback(from),
            view: { n: n(), h: viewHash },
          };
          if (meta) ack.meta = meta;
          // We missed its join (every update reaches most, not all): ask it to introduce itself.
          if (!table.has(from)) ack.who = true;
          send(from, ack);
          break;
        }
        case "ack":
          onAck(from, msg);
          if (!msg.who && !table.has(from)) askWho(from);
          break;
        case "ping-req":
          onPingReq(from, msg);
          if (!table.has(from)) askWho(from);
          break;
        case "nack":
        case "gossip":
          if (!table.has(from)) askWho(from);
          break;
      }
    },
    hint(id) {
      prober.probeNow(id);
    },
    leave() {
      if (leaving) return;
      leaving = true;
      self.incarnation++;
      const u = selfUpdate();
      spread(u);
      // Tell a few members at once rather than waiting for our next probes to carry it.
      const k = Math.min(live.length, retransmitLimit());
      for (const id of pick(k, "")) send(id, { t: "ping", seq: ++seq, updates: [u] });
    },
    members: () => [...table.values()].map(snapshot),
    alive: () => live.map((id) => snapshot(table.get(id)!)),
    get(id) {
      const r = table.get(id);
      return r ? snapshot(r) : undefined;
    },
    onEvent(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
  };

  return swim;
}
