/**
 * Echo: returns the request it received as JSON — method, path, query,
 * headers and body — which shows what a function sees (the `/fn/echo` prefix
 * is already stripped).
 * @module
 */
export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const body = request.body ? await request.text() : "";
    return Response.json({
      method: request.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: Object.fromEntries(request.headers),
      body,
    });
  },
};
