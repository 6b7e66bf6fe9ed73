/**
 * Hello: the smallest Virgo function. `GET /fn/hello?name=ada` →
 * `hello ada from <peer id>`. Under `deno serve functions/hello.ts` there is
 * no peer, so it says `from deno`.
 * @module
 */
export default {
  fetch(request: Request, _env?: unknown, ctx?: { peerId?: string }): Response {
    const name = new URL(request.url).searchParams.get("name") ?? "world";
    return new Response(`hello ${name} from ${ctx?.peerId ?? "deno"}\n`);
  },
};
