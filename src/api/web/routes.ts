/**
 * The web dashboard: `/` (the page), `/ui/app.js` and `/ui/app.css`, and its one-time sign-in links
 * (links.ts). The page and its assets hold no data, so they need no token; everything the page shows it reads from the Control API with the token the person enters
 * (kept in sessionStorage: gone when the tab closes). The assets load lazily (assets.ts), so a gateway
 * that never serves the page never bundles it. The CSP admits this origin only: no inline script, no
 * external origin, no framing.
 */
import { Elysia } from "elysia"
import type { Tokens } from "../../gateway/token.ts"
import { linkRoutes } from "./links.ts"

export const DASHBOARD_PATH = "/"
export const SCRIPT_PATH = "/ui/app.js"
export const STYLE_PATH = "/ui/app.css"

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ")

const page = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <meta name="referrer" content="no-referrer" />
  <title>Drost dashboard</title>
  <link rel="stylesheet" href="${STYLE_PATH}" />
  <script type="module" src="${SCRIPT_PATH}"></script>
</head>
<body>
  <div id="app"><noscript>The Drost dashboard needs JavaScript.</noscript></div>
</body>
</html>
`

const headers = (type: string, cache: string) => ({
  "content-type": type,
  "cache-control": cache,
  "content-security-policy": CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
})

let loaded: Promise<typeof import("./assets.ts")> | null = null
const assets = () => {
  loaded ??= import("./assets.ts")
  return loaded
}

export function webRoutes(tokens: Tokens) {
  // No plugin `name`: Elysia would dedupe a named plugin, and every gateway (tests run many in one
  // process) needs its own, with its own tokens.
  return new Elysia()
    .use(linkRoutes(tokens))
    .get(DASHBOARD_PATH, () => new Response(page, { headers: headers("text/html; charset=utf-8", "no-cache") }), {
      detail: { hide: true },
    })
    .get(
      SCRIPT_PATH,
      async () =>
        new Response((await assets()).script, { headers: headers("text/javascript; charset=utf-8", "no-cache") }),
      { detail: { hide: true } },
    )
    .get(
      STYLE_PATH,
      async () => new Response((await assets()).style, { headers: headers("text/css; charset=utf-8", "no-cache") }),
      { detail: { hide: true } },
    )
}
