/**
 * Plugins over the Control API (docs/plugins.md): `GET /control/v1/plugins` lists every listed plugin
 * with its state, what it adds and, when it was skipped, why; `/control/v1/plugins/<package>/<path>`
 * is answered by that plugin's routes. Both sit behind the guard in app.ts like every control route
 * (bearer token; a mutating method needs the admin token).
 */
import { Elysia, t } from "elysia"
import type { Gateway } from "../gateway/gateway.ts"
import { described } from "./schemas.ts"

const PluginSchema = t.Object(
  {
    name: t.String({ description: "The package name, as listed in the config's plugins" }),
    version: t.String(),
    state: t.Union([t.Literal("loaded"), t.Literal("failed")], { description: "failed: skipped, see reason" }),
    reason: t.Union([t.String(), t.Null()], {
      description: "Why it was skipped, or what went wrong later (a channel that did not start)",
    }),
    entry: t.Union([t.String(), t.Null()], { description: "Its entry file, relative to the workspace" }),
    tools: t.Array(t.String()),
    providers: t.Array(t.String()),
    commands: t.Array(t.String()),
    routes: t.Array(t.String(), { description: "METHOD /path, under /control/v1/plugins/<name>" }),
    channels: t.Array(t.String()),
  },
  { description: "A plugin from the workspace's node_modules" },
)

const tags = ["runtime"]

export function pluginRoutes(gw: Gateway) {
  return (
    new Elysia({ prefix: "/control/v1" })
      .get("/plugins", () => ({ plugins: gw.plugins.list() }), {
        response: { 200: described(t.Object({ plugins: t.Array(PluginSchema) }), "Every listed plugin, in order") },
        detail: {
          operationId: "listPlugins",
          tags,
          summary: "List the plugins and their state",
          description:
            "Every package the config lists in `plugins`, in order: `loaded` with what it adds (tools, providers, commands, routes, channels), or `failed` with the reason it was skipped. A plugin's own routes are served under /control/v1/plugins/{name}/ (docs/plugins.md).",
        },
      })
      // The plugin reads the body itself: Elysia must not parse (and consume) it first.
      .all(
        "/plugins/:name/*",
        async ({ params, request, status }) => {
          const path = `/${params["*"]}`
          const answer = await gw.plugins.route(params.name, path, request)
          return (
            answer ??
            status(404, {
              error: "NotFound",
              message: `no route ${request.method} ${path} in plugin "${params.name}" (GET /control/v1/plugins lists them)`,
            })
          )
        },
        { parse: "none", detail: { hide: true } },
      )
  )
}
