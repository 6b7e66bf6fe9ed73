/**
 * `/v1/openapi.json` and `/v1/docs`: the API of the app these routes are
 * mounted in, as an OpenAPI 3.1 document built from its declared routes, and
 * as a page rendered on the peer (nothing fetched from elsewhere).
 *
 * Both sit behind the token like every `/v1` route: the document holds
 * nothing secret, but one rule for all of `/v1` is simpler to keep than a
 * list of exceptions. A browser cannot send the token, so the app mounts
 * them under `/dashboard` too, where the dashboard's session cookie stands for it.
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import pkg from "../../package.json" with { type: "json" };
import { type Json, openapiDocument, referencePage, route } from "../openapi/mod.ts";

/** The reference's groups, in its order. */
const TAGS: Readonly<Record<string, string>> = {
  calls: "Calling functions: any method, any path under `/fn/<name>`.",
  functions: "The function catalogue, replicated on every peer.",
  kv: "The cluster's key-value pool: raw bytes in and out, versions for compare-and-set.",
  mem: "VIRGO's memory API over the replicated pool.",
  mesh: "The mesh as this peer sees it.",
  peer: "This peer: liveness, status, metrics, backup.",
  dashboard:
    "The dashboard: a browser signs in once with the token and then carries a session cookie, accepted on `/` and `/dashboard/*` only.",
  reference:
    "This reference, under `/v1` with the token and under `/dashboard` with a dashboard session.",
};

const DESCRIPTION =
  'The HTTP API every Virgo peer serves. Errors are JSON `{ "error": { "code", "message" } }`. With `virgo start --token`, every route but `/healthz` and `/fn/*` needs `Authorization: Bearer <token>`.';

/** Routes `/openapi.json` and `/docs` describing `root`, the whole app (read when asked). */
export function referenceRoutes(root: Hono): Hono {
  const app = new Hono();
  // Built again only when routes were added since (hono takes none after the first request).
  let built = -1;
  let doc: Json = {};
  let page = "";
  const current = () => {
    if (built !== root.routes.length) {
      doc = openapiDocument(root, { version: pkg.version, description: DESCRIPTION, tags: TAGS });
      page = referencePage(doc);
      built = root.routes.length;
    }
    return { doc, page };
  };
  route(app, "get", "/openapi.json", {
    summary: "This API as an OpenAPI 3.1 document",
    description: "Generated from the same zod schemas that validate the routes.",
    tag: "reference",
    responses: {
      200: { description: "The document", json: z.record(z.string(), z.unknown()) },
    },
  }, (c) => c.json(current().doc));
  route(app, "get", "/docs", {
    summary: "This API as a page to read",
    tag: "reference",
    responses: { 200: { description: "The reference page", media: "text/html" } },
  }, (c) =>
    c.html(current().page, 200, {
      // Nothing but the page itself: no script, and nothing fetched from anywhere.
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
      "x-frame-options": "DENY",
    }));
  return app;
}
