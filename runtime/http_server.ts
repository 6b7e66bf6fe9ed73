/**
 * The peer's HTTP server: `Deno.serve` as a part with a lifecycle, the one
 * place the runtime meets Deno's HTTP server.
 * @module
 */
import type { Startable } from "../core/mod.ts";
import { parseHostPort } from "./config.ts";
import { internalErrorResponse, VirgoError } from "./errors.ts";
import type { Logger } from "./log.ts";

/**
 * The HTTP API on `Deno.serve` as a part: it listens when started (a taken
 * address fails the start, naming it) and, when stopped, stops taking
 * requests and lets those under way finish until `grace()` aborts.
 *
 * @example
 * ```ts
 * const http = httpServer({ address: "127.0.0.1:0", handler: app.fetch, logger, grace });
 * await http.start();
 * console.log(http.url); // http://127.0.0.1:40125
 * await http.stop();
 * ```
 */
export function httpServer(init: {
  address: string;
  handler: (req: Request) => Response | Promise<Response>;
  logger: Logger;
  grace: () => AbortSignal;
}): Startable & { readonly url: string } {
  let server: Deno.HttpServer | undefined;
  let url = "";
  return {
    get url() {
      return url;
    },
    async start() {
      const { hostname, port } = parseHostPort(init.address);
      const ready = Promise.withResolvers<Deno.NetAddr>();
      try {
        server = Deno.serve({
          hostname,
          port,
          onListen: (addr) => ready.resolve(addr),
          onError: (err) => {
            init.logger.error({ err: String(err) }, "Unhandled HTTP error");
            return internalErrorResponse();
          },
        }, init.handler);
      } catch (err) {
        throw new VirgoError(
          "BAD_REQUEST",
          `Cannot serve HTTP on ${init.address}: ${(err as Error).message}`,
          { cause: err },
        );
      }
      const addr = await ready.promise;
      const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
      url = `http://${host}:${addr.port}`;
    },
    async stop() {
      const grace = init.grace();
      const over = new Promise<void>((r) =>
        grace.aborted ? r() : grace.addEventListener("abort", () => r(), { once: true })
      );
      await Promise.race([server?.shutdown(), over]);
    },
  };
}
