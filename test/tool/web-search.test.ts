/**
 * web.search (issue 17 item 1): the model calls the tool through an in-process gateway; each backend
 * is a fake on 127.0.0.1 speaking its real wire format (SearXNG's `/search?format=json`, Brave's
 * `/res/v1/web/search` with `X-Subscription-Token`, Tavily's `POST /search` with a bearer key). Checked:
 * title, URL, snippet and date reach the model; the per-call limit; keys from the auth profiles (set with
 * `drost auth set-api-key`) or the environment; every failure (backend errors, no key, a redirect onto
 * another local address) comes back as an error result of the turn.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { runCli } from "../lib/gateway.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"
import { type InProcess, inProcess, wire } from "./lib.ts"

const seen: { backend: string; url: URL; headers: Headers; body: string }[] = []
let victimHits = 0
let victim: ReturnType<typeof Bun.serve>

/** SearXNG: GET /search?q=…&format=json; 403 unless json is enabled (here: the query "no-json"). */
let searxng: ReturnType<typeof Bun.serve>
/** Brave: GET /res/v1/web/search?q=…&count=…, key in X-Subscription-Token. */
let brave: ReturnType<typeof Bun.serve>
/** Tavily: POST /search with a JSON body, key as a bearer token. */
let tavily: ReturnType<typeof Bun.serve>

const BRAVE_KEY = "BSA-test-key"
const TAVILY_KEY = "tvly-test-key"

function searxngAnswer(query: string) {
  const results = Array.from({ length: 8 }, (_, i) => ({
    url: `https://example.org/flat-${i + 1}`,
    title: `Flat hunting guide ${i + 1}`,
    content: i === 0 ? "Rents &amp; deposits: what&rsquo;s normal" : `Result ${i + 1} about ${query}`,
    publishedDate: i === 0 ? "2026-11-03T10:00:00" : null,
    thumbnail: "",
    engine: "duckduckgo",
    template: "default.html",
    parsed_url: ["https", "example.org", `/flat-${i + 1}`, "", "", ""],
    img_src: "",
    priority: "",
    engines: ["duckduckgo", "brave"],
    positions: [i + 1],
    score: 2 / (i + 1),
    category: "general",
  }))
  return {
    query,
    number_of_results: 0,
    results,
    answers: [],
    corrections: [],
    infoboxes: [],
    suggestions: ["flat hunting tips"],
    unresponsive_engines: [],
  }
}

function braveAnswer(query: string, count: number) {
  return {
    type: "search",
    query: { original: query, show_strict_warning: false, is_navigational: false, country: "us" },
    mixed: { type: "mixed", main: [{ type: "web", index: 0, all: false }], top: [], side: [] },
    web: {
      type: "search",
      results: Array.from({ length: count }, (_, i) => ({
        title: `Brave <strong>${query}</strong> ${i + 1}`,
        url: `https://news.example.com/${i + 1}`,
        is_source_local: false,
        is_source_both: false,
        description: `The <strong>${query}</strong> story &mdash; part ${i + 1}`,
        page_age: i === 0 ? "2026-11-30T08:15:00" : undefined,
        age: i === 0 ? "1 day ago" : undefined,
        profile: { name: "Example News", url: "https://news.example.com", long_name: "news.example.com", img: "" },
        language: "en",
        family_friendly: true,
        type: "search_result",
        subtype: "generic",
        meta_url: { scheme: "https", netloc: "news.example.com", hostname: "news.example.com", path: `› ${i + 1}` },
      })),
      family_friendly: true,
    },
  }
}

let ws: Workspace
let wsBrave: Workspace
let wsTavily: Workspace
let wsNoKey: Workspace
let sx: InProcess
let br: InProcess
let tv: InProcess
let noKey: InProcess

beforeAll(async () => {
  victim = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch() {
      victimHits++
      return Response.json({ results: [{ title: "secret", url: "http://internal/" }] })
    },
  })
  searxng = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const url = new URL(request.url)
      seen.push({ backend: "searxng", url, headers: request.headers, body: "" })
      if (url.pathname !== "/searx/search") return new Response("not found", { status: 404 })
      const q = url.searchParams.get("q") ?? ""
      if (url.searchParams.get("format") !== "json" || q === "no-json")
        return new Response("<html>403 Forbidden</html>", { status: 403, headers: { "content-type": "text/html" } })
      if (q === "redirect")
        return new Response(null, { status: 302, headers: { location: `http://127.0.0.2:${victim.port}/` } })
      return Response.json(searxngAnswer(q))
    },
  })
  brave = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const url = new URL(request.url)
      seen.push({ backend: "brave", url, headers: request.headers, body: "" })
      if (url.pathname !== "/res/v1/web/search") return new Response("not found", { status: 404 })
      if (request.headers.get("x-subscription-token") !== BRAVE_KEY)
        return Response.json(
          {
            type: "ErrorResponse",
            error: {
              id: "c8f2c4a7-0e52-4c10-a0b4-1c5e1e6c0000",
              status: 422,
              code: "SUBSCRIPTION_TOKEN_INVALID",
              detail: "The provided subscription token is invalid.",
              meta: { component: "authentication" },
            },
            time: 1764547200,
          },
          { status: 422 },
        )
      const count = Number(url.searchParams.get("count") ?? 20)
      return Response.json(braveAnswer(url.searchParams.get("q") ?? "", Math.min(count, 20)))
    },
  })
  tavily = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url)
      const body = await request.text()
      seen.push({ backend: "tavily", url, headers: request.headers, body })
      if (request.method !== "POST" || url.pathname !== "/search") return new Response("not found", { status: 404 })
      if (request.headers.get("authorization") !== `Bearer ${TAVILY_KEY}`)
        return Response.json({ detail: { error: "Unauthorized: missing or invalid API key." } }, { status: 401 })
      const { query, max_results } = JSON.parse(body) as { query: string; max_results: number }
      return Response.json({
        query,
        follow_up_questions: null,
        answer: null,
        images: [],
        results: Array.from({ length: max_results }, (_, i) => ({
          url: `https://docs.example.net/${i + 1}`,
          title: `Tavily ${query} ${i + 1}`,
          content: `Content about ${query}, number ${i + 1}.`,
          score: 0.9 - i / 10,
          raw_content: null,
          ...(i === 1 ? { published_date: "Mon, 01 Dec 2026 09:00:00 GMT" } : {}),
        })),
        response_time: 0.42,
        request_id: "4a1c0f2e-test",
      })
    },
  })
  const web = (search: Record<string, unknown>) => ({ tools: { web: { timeoutMs: 3000, search } } })
  ;[ws, wsBrave, wsTavily, wsNoKey] = await Promise.all([workspace(), workspace(), workspace(), workspace()])
  // The Brave key goes into the auth profiles the way the owner does it.
  const set = await runCli(["auth", "set-api-key", "brave", "brave:default", BRAVE_KEY], { cwd: wsBrave.path })
  expect(set.code).toBe(0)
  expect(set.stdout).toContain("web.search uses it")
  process.env.DROST_TEST_TAVILY_KEY = TAVILY_KEY
  ;[sx, br, tv, noKey] = await Promise.all([
    inProcess(ws.path, web({ backend: "searxng", url: `http://127.0.0.1:${searxng.port}/searx`, limit: 5 })),
    inProcess(wsBrave.path, web({ backend: "brave", url: `http://127.0.0.1:${brave.port}/res/v1/web/search` })),
    inProcess(
      wsTavily.path,
      web({ backend: "tavily", url: `http://127.0.0.1:${tavily.port}/search`, apiKeyEnv: "DROST_TEST_TAVILY_KEY" }),
    ),
    inProcess(
      wsNoKey.path,
      web({ backend: "brave", url: `http://127.0.0.1:${brave.port}/res/v1/web/search`, apiKeyEnv: "DROST_TEST_UNSET" }),
    ),
  ])
})

afterAll(async () => {
  await Promise.all([sx, br, tv, noKey].map((gw) => gw?.[Symbol.asyncDispose]()))
  for (const server of [victim, searxng, brave, tavily]) server?.stop(true)
  await Promise.all([ws, wsBrave, wsTavily, wsNoKey].map((w) => w?.[Symbol.asyncDispose]()))
  delete process.env.DROST_TEST_TAVILY_KEY
})

/** The tool message the model received on its next request of the turn. */
function toolMessageSent(drost: InProcess): string {
  const body = drost.llm.hits.at(-1)?.body as { messages?: { role: string; content: unknown }[] }
  const message = body.messages?.findLast((m) => m.role === "tool")
  return typeof message?.content === "string" ? message.content : JSON.stringify(message?.content)
}

describe("SearXNG", () => {
  test("title, URL, snippet and date reach the model, at most the asked-for number", async () => {
    const result = await sx.call("web.search", { query: "flat hunting berlin", limit: 3 })
    expect(result.offered).toContain(wire("web.search"))
    expect(result.isError).toBe(false)
    expect(result.output).toContain('3 results for "flat hunting berlin" (searxng)')
    expect(result.output).toContain(
      "1. Flat hunting guide 1\n   https://example.org/flat-1\n   Rents & deposits: what’s normal",
    )
    expect(result.output).toContain("date: 2026-11-03T10:00:00")
    expect(result.output).toContain("3. Flat hunting guide 3")
    expect(result.output).not.toContain("Flat hunting guide 4")
    const request = seen.findLast((r) => r.backend === "searxng")!
    expect(request.url.searchParams.get("q")).toBe("flat hunting berlin")
    expect(request.url.searchParams.get("format")).toBe("json")
    expect(toolMessageSent(sx)).toContain("https://example.org/flat-3")
  })

  test("the configured limit caps what the model asks for", async () => {
    const result = await sx.call("web.search", { query: "rent", limit: 20 })
    expect(result.output).toContain('5 results for "rent"')
    expect(result.output).not.toContain("6. ")
  })

  test("an instance without the JSON format enabled is an error result that says how to fix it", async () => {
    const result = await sx.call("web.search", { query: "no-json" })
    expect(result.isError).toBe(true)
    expect(result.output).toContain("HTTP 403")
    expect(result.output).toContain("search.formats")
    expect(toolMessageSent(sx)).toContain("search.formats")
  })

  test("the endpoint's own host is reachable, a redirect onto another local address is not", async () => {
    const result = await sx.call("web.search", { query: "redirect" })
    expect(result.isError).toBe(true)
    expect(result.output).toMatch(/127\.0\.0\.2.*loopback/)
    expect(victimHits).toBe(0)
  })
})

describe("Brave Search API", () => {
  test("the key from `drost auth set-api-key brave` is sent; markup is stripped; page_age is the date", async () => {
    const result = await br.call("web.search", { query: "election", limit: 2 })
    expect(result.isError).toBe(false)
    const request = seen.findLast((r) => r.backend === "brave")!
    expect(request.headers.get("x-subscription-token")).toBe(BRAVE_KEY)
    expect(request.url.searchParams.get("count")).toBe("2")
    expect(result.output).toContain(
      "1. Brave election 1\n   https://news.example.com/1\n   The election story — part 1\n   date: 2026-11-30T08:15:00",
    )
    expect(result.output).toContain("2. Brave election 2")
    expect(result.output).not.toContain("<strong>")
  })

  test("no key anywhere: an error result naming the command, and no request is made", async () => {
    const before = seen.filter((r) => r.backend === "brave").length
    const result = await noKey.call("web.search", { query: "anything" })
    expect(result.isError).toBe(true)
    expect(result.output).toContain("drost auth set-api-key brave brave:default")
    expect(result.output).toContain("DROST_TEST_UNSET")
    expect(seen.filter((r) => r.backend === "brave").length).toBe(before)
  })
})

describe("Tavily", () => {
  test("POST with a bearer key and max_results; published_date is the date", async () => {
    const result = await tv.call("web.search", { query: "bun sqlite fts5", limit: 2 })
    expect(result.isError).toBe(false)
    const request = seen.findLast((r) => r.backend === "tavily")!
    expect(request.headers.get("authorization")).toBe(`Bearer ${TAVILY_KEY}`)
    expect(JSON.parse(request.body)).toMatchObject({ query: "bun sqlite fts5", max_results: 2 })
    expect(result.output).toContain("1. Tavily bun sqlite fts5 1\n   https://docs.example.net/1\n   Content about")
    expect(result.output).toContain("date: Mon, 01 Dec 2026 09:00:00 GMT")
  })

  test("the backend's error message comes back as an error result", async () => {
    process.env.DROST_TEST_TAVILY_KEY = "tvly-wrong"
    try {
      const result = await tv.call("web.search", { query: "x" })
      expect(result.isError).toBe(true)
      expect(result.output).toContain("tavily answered HTTP 401: Unauthorized: missing or invalid API key.")
    } finally {
      process.env.DROST_TEST_TAVILY_KEY = TAVILY_KEY
    }
  })
})
