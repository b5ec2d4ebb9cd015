/**
 * The wire formats of the web search backends `web.search` can use, each a request builder and a
 * response reader, so search-web.ts only knows "a query in, results out":
 * - SearXNG: `GET <url>/search?q=…&format=json` (self-hosted, no key; the instance must list `json`
 *   in `search.formats` of its settings.yml, or it answers 403);
 * - Brave Search API: `GET https://api.search.brave.com/res/v1/web/search?q=…&count=…` with the key in
 *   `X-Subscription-Token`; results under `web.results[]` (`title`, `url`, `description`, `page_age`);
 * - Tavily: `POST https://api.tavily.com/search` with a JSON body and `Authorization: Bearer <key>`;
 *   results under `results[]` (`title`, `url`, `content`, `published_date`).
 */

export type BackendName = "searxng" | "brave" | "tavily"

export interface SearchResult {
  title: string
  url: string
  snippet: string
  /** When the page was published or last changed, as the backend gives it (absent when it gives none). */
  date?: string
}

export interface WireRequest {
  url: URL
  method: "GET" | "POST"
  headers: Record<string, string>
  body?: string
}

export interface Backend {
  name: BackendName
  /** The endpoint used when the config gives no `url`. */
  defaultUrl?: string
  /** The environment variable read when no auth profile holds a key (none: no key needed). */
  keyEnv?: string
  request(endpoint: string, query: string, limit: number, key: string | undefined): WireRequest
  /** The results of a 2xx answer's JSON body. */
  results(body: unknown): SearchResult[]
  /** What went wrong, from a non-2xx answer's status and body (JSON or text). */
  failure(status: number, body: unknown): string
}

type Json = Record<string, unknown>
const object = (value: unknown): Json => (value && typeof value === "object" ? (value as Json) : {})
const string = (value: unknown): string => (typeof value === "string" ? value : "")

/**
 * The entity decoder (entities.ts), loaded by `prepare()` before the first results are read: its decode
 * tables were on every start's import graph through the toolset, for a tool most turns never call.
 */
let decode: ((text: string) => string) | null = null

/** Load what `results()` needs; awaited before it (search-web.ts). */
export async function prepare(): Promise<void> {
  decode ??= (await import("./entities.ts")).decodeEntities
}

/** Snippets arrive with highlight markup (`<strong>`) and entities; the model gets plain text. */
export function plain(text: string): string {
  if (!decode) throw new Error("search-backends: prepare() must be awaited before results are read")
  return decode(text.replace(/<[^>]*>/g, ""))
    .replace(/\s+/g, " ")
    .trim()
}

function result(title: unknown, url: unknown, snippet: unknown, date: unknown): SearchResult | null {
  const link = string(url)
  if (!link) return null
  const when = string(date).trim()
  return {
    title: plain(string(title)) || link,
    url: link,
    snippet: plain(string(snippet)),
    ...(when ? { date: when } : {}),
  }
}

const described = (body: unknown) =>
  typeof body === "string" ? body.slice(0, 300) : JSON.stringify(body).slice(0, 300)

const searxng: Backend = {
  name: "searxng",
  request(endpoint, query) {
    const url = new URL("search", endpoint.endsWith("/") ? endpoint : `${endpoint}/`)
    url.searchParams.set("q", query)
    url.searchParams.set("format", "json")
    return { url, method: "GET", headers: { accept: "application/json" } }
  },
  results(body) {
    const list = object(body).results
    if (!Array.isArray(list)) throw new Error("the SearXNG answer has no results list (is this the JSON API?)")
    return list.flatMap((item) => {
      const r = object(item)
      return result(r.title, r.url, r.content, r.publishedDate) ?? []
    })
  },
  failure(status, body) {
    if (status === 403)
      return "the SearXNG instance refused format=json (403): add json to search.formats in its settings.yml"
    return string(object(body).error) || described(body)
  },
}

const brave: Backend = {
  name: "brave",
  defaultUrl: "https://api.search.brave.com/res/v1/web/search",
  keyEnv: "BRAVE_API_KEY",
  request(endpoint, query, limit, key) {
    const url = new URL(endpoint)
    url.searchParams.set("q", query)
    url.searchParams.set("count", String(limit))
    return { url, method: "GET", headers: { accept: "application/json", "x-subscription-token": key ?? "" } }
  },
  results(body) {
    const list = object(object(body).web).results
    if (list === undefined) return []
    if (!Array.isArray(list)) throw new Error("the Brave answer's web.results is not a list")
    return list.flatMap((item) => {
      const r = object(item)
      return result(r.title, r.url, r.description, r.page_age ?? r.age) ?? []
    })
  },
  failure(_status, body) {
    const error = object(object(body).error)
    const detail = string(error.detail)
    return detail ? `${detail}${error.code ? ` (${string(error.code)})` : ""}` : described(body)
  },
}

const tavily: Backend = {
  name: "tavily",
  defaultUrl: "https://api.tavily.com/search",
  keyEnv: "TAVILY_API_KEY",
  request(endpoint, query, limit, key) {
    return {
      url: new URL(endpoint),
      method: "POST",
      headers: { accept: "application/json", "content-type": "application/json", authorization: `Bearer ${key ?? ""}` },
      body: JSON.stringify({ query, max_results: limit, search_depth: "basic", topic: "general" }),
    }
  },
  results(body) {
    const list = object(body).results
    if (!Array.isArray(list)) throw new Error("the Tavily answer has no results list")
    return list.flatMap((item) => {
      const r = object(item)
      return result(r.title, r.url, r.content, r.published_date) ?? []
    })
  },
  failure(_status, body) {
    const detail = object(body).detail
    return string(object(detail).error) || string(detail) || described(body)
  },
}

export const BACKENDS: Record<BackendName, Backend> = { searxng, brave, tavily }
