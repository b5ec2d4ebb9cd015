/**
 * `web.search`: ask the search backend the owner chose (`tools.web.search`: SearXNG, Brave or Tavily,
 * search-backends.ts) and give the model a numbered list of title, URL, snippet and date. The model
 * chooses only the words and how many results (up to the configured limit); the endpoint and the key
 * are the owner's. Keys live in the auth profiles like model keys (`drost auth set-api-key brave
 * brave:default`), or in the backend's environment variable.
 *
 * The request goes through web.fetch's SSRF guard (web-guard.ts, `follow`): the configured endpoint's
 * own host:port is reachable even when it is private (a self-hosted SearXNG is usually on localhost or
 * the LAN, and the owner named it), every other non-public address only through `tools.web.allowHosts`.
 * Failures (no key, a refusal, the backend's error message) are error results, never exceptions.
 */
import type { WebSearchConfig } from "../../core/tools-config.ts"
import { Type } from "../../core/schema.ts"
import { Flag } from "../../util/flag.ts"
import type { RegisteredTool } from "../registry.ts"
import { BACKENDS, prepare, type SearchResult } from "./search-backends.ts"
import { follow, readCapped } from "./web.ts"
import { allowList } from "./web-guard.ts"

export interface WebSearchOptions {
  search: WebSearchConfig
  timeoutMs: number
  allowHosts: string[]
}

/** A search answer is small; a backend sending more is cut here rather than filling memory. */
const MAX_ANSWER_BYTES = 2_000_000
const MAX_LIMIT = 20

/** The API key of the backend: the auth profile first, then the environment variable. */
export type SecretLookup = (authProfile: string) => string | undefined

export function format(query: string, backend: string, results: SearchResult[]): string {
  if (results.length === 0) return `no results for "${query}" (${backend})`
  const lines = results.map((r, index) => {
    const parts = [`${index + 1}. ${r.title}`, `   ${r.url}`]
    if (r.snippet) parts.push(`   ${r.snippet}`)
    if (r.date) parts.push(`   date: ${r.date}`)
    return parts.join("\n")
  })
  return `${results.length} result${results.length === 1 ? "" : "s"} for "${query}" (${backend}):\n\n${lines.join("\n\n")}`
}

export function webSearchTool(options: () => WebSearchOptions, secret: SecretLookup): RegisteredTool {
  return {
    name: "web.search",
    source: "builtin",
    description:
      "Search the web. Returns a numbered list of results with title, URL, a snippet and the date where known; read a result with web.fetch.",
    parameters: Type.Object(
      {
        query: Type.String({ minLength: 1, maxLength: 400, description: "What to search for" }),
        limit: Type.Optional(
          Type.Integer({
            minimum: 1,
            maximum: MAX_LIMIT,
            description: "Most results to return (default: the configured limit)",
          }),
        ),
      },
      { additionalProperties: false },
    ),
    async execute(args, ctx) {
      const { query, limit: asked } = args as { query: string; limit?: number }
      const { search, timeoutMs, allowHosts } = options()
      const backend = BACKENDS[search.backend]
      const endpoint = search.url ?? backend.defaultUrl
      if (!endpoint) throw new Error(`tools.web.search.url is required for ${backend.name} (the instance's base URL)`)
      const limit = Math.min(asked ?? search.limit, search.limit, MAX_LIMIT)
      let key: string | undefined
      if (backend.keyEnv) {
        const profile = search.authProfile ?? `${backend.name}:default`
        const env = search.apiKeyEnv ?? backend.keyEnv
        key = secret(profile) ?? Flag.get(env)
        if (!key)
          throw new Error(
            `web.search has no API key for ${backend.name}: the owner runs \`drost auth set-api-key ${backend.name} ${profile}\` or sets ${env}`,
          )
      }
      const wire = backend.request(endpoint, query, limit, key)
      const own = `${wire.url.hostname}:${wire.url.port || (wire.url.protocol === "https:" ? 443 : 80)}`
      const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)])
      const headers = new Headers({ "user-agent": "drost-web-search", ...wire.headers })
      const hop = { method: wire.method, body: wire.body, headers, signal }
      const { response } = await follow(wire.url, allowList([own, ...allowHosts]), hop).catch((error: Error) => {
        if (signal.aborted && !ctx.signal.aborted)
          throw new Error(`${backend.name} did not answer within ${timeoutMs} ms`)
        throw error
      })
      const { bytes } = await readCapped(response, MAX_ANSWER_BYTES)
      const text = new TextDecoder().decode(bytes)
      let body: unknown = text
      try {
        body = JSON.parse(text)
      } catch {}
      if (!response.ok)
        throw new Error(`${backend.name} answered HTTP ${response.status}: ${backend.failure(response.status, body)}`)
      if (typeof body === "string") throw new Error(`${backend.name} answered with something other than JSON`)
      await prepare()
      return format(query, backend.name, backend.results(body).slice(0, limit))
    },
  }
}
