/**
 * Private: libp2p's TCP transport with one socket write per send.
 *
 * @libp2p/tcp 11 writes each chunk of a send on its own (`sendData` walks
 * the list), and noise hands it every frame as two chunks — its 2-byte
 * length, then the ciphertext — so each frame cost two `sendto` calls and,
 * with TCP_NODELAY (on by default), two TCP segments: measured on a remote
 * call, 4 writes a direction where 2 would do. This wrapper joins the chunks
 * of a send into one buffer before the socket sees them (a copy of at most
 * one yamux frame, ~64 KiB).
 *
 * It hooks the upgrader the transport is handed, so it sees each raw
 * connection before pnet, noise and yamux are stacked on it; a connection of
 * another shape (no `sendData`) is left as it is.
 *
 * @module
 */
import type { MultiaddrConnection, Transport, Upgrader } from "@libp2p/interface";
import { tcp } from "@libp2p/tcp";
import { Uint8ArrayList } from "uint8arraylist";

type TcpFactory = ReturnType<typeof tcp>;
type SendData = (data: Uint8ArrayList) => { sentBytes: number; canSendMore: boolean };

/** Make `maConn` write each send as one buffer. */
export function oneWritePerSend(maConn: MultiaddrConnection): void {
  const conn = maConn as unknown as { sendData?: SendData };
  const send = conn.sendData;
  if (typeof send !== "function") return;
  conn.sendData = function (this: unknown, data: Uint8ArrayList) {
    // `subarray()` of a one-chunk list is that chunk; of several, their concatenation.
    return send.call(this, new Uint8ArrayList(data.subarray()));
  };
}

function wrapUpgrader(upgrader: Upgrader): Upgrader {
  return new Proxy(upgrader, {
    get(target, prop) {
      if (prop === "upgradeInbound" || prop === "upgradeOutbound") {
        const upgrade = target[prop] as (c: MultiaddrConnection, o: unknown) => Promise<unknown>;
        return (maConn: MultiaddrConnection, opts: unknown) => {
          oneWritePerSend(maConn);
          return upgrade.call(target, maConn, opts);
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/**
 * `tcp()` from @libp2p/tcp, whose connections write each send in one write.
 *
 * @example
 * ```ts
 * createLibp2p({ transports: [tcpOneWrite()], ... });
 * ```
 */
export function tcpOneWrite(init?: Parameters<typeof tcp>[0]): TcpFactory {
  const make = tcp(init);
  return (components) => {
    const transport: Transport = make(components);
    return new Proxy(transport, {
      get(target, prop) {
        if (prop === "dial") {
          return (ma: Parameters<Transport["dial"]>[0], opts: Parameters<Transport["dial"]>[1]) =>
            target.dial(ma, { ...opts, upgrader: wrapUpgrader(opts.upgrader) });
        }
        if (prop === "createListener") {
          return (opts: Parameters<Transport["createListener"]>[0]) =>
            target.createListener({ ...opts, upgrader: wrapUpgrader(opts.upgrader) });
        }
        const v = Reflect.get(target, prop, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
  };
}
