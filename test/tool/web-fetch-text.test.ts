/**
 * web.fetch hands the model decoded text (issue 17 item 1): every HTML entity (named such as `&rsquo;`
 * and `&mdash;`, decimal `&#8220;`, hex `&#x2014;`) is decoded, where before only six were and the rest
 * reached the model raw; `mode: "article"` returns the readable article (title, byline, body) without
 * the page's navigation, sidebar and comments, cut at `maxChars`. The model calls the tool through a
 * real in-process gateway; the pages come from a fake site on 127.0.0.1 that the config allows.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { type Workspace, workspace } from "../lib/workspace.ts"
import { type InProcess, inProcess } from "./lib.ts"

const paragraph = (n: number) =>
  `<p>Paragraph ${n} of the story: the council&rsquo;s plan for the river bank was discussed at length, with residents raising concerns about flooding, traffic and the cost of the new bridge over the next decade.</p>`

const ENTITIES = `<!doctype html><html><head><title>Caf&eacute; &amp; Bar</title></head><body>
<p>It&rsquo;s &#8220;quoted&#8221; &mdash; a &#x2014; b &hellip; 5&nbsp;&euro; &copy; &lt;tag&gt; &quot;x&quot; &#39;y&#39;</p>
</body></html>`

const ARTICLE = `<!doctype html><html><head><title>River plan approved | Town News</title>
<meta name="author" content="Ana Lee"></head><body>
<nav><a href="/">Home</a> <a href="/sport">Sport</a> <a href="/weather">Weather</a></nav>
<div class="sidebar"><h3>Most read</h3><ul><li><a href="/x">Celebrity gossip of the week</a></li></ul></div>
<article>
<h1>River plan approved</h1>
<p class="byline">By Ana Lee</p>
${Array.from({ length: 12 }, (_, i) => paragraph(i + 1)).join("\n")}
<p>Read the <a href="/docs/plan.pdf">full plan</a>.</p>
</article>
<div id="comments"><h3>Comments</h3><p>First!</p></div>
<footer>Copyright Town News</footer>
</body></html>`

const APP_SHELL = `<!doctype html><html><head><title>App</title></head><body><div id="root"></div><p>Loading&hellip;</p></body></html>`

let site: ReturnType<typeof Bun.serve>
let ws: Workspace
let drost: InProcess

beforeAll(async () => {
  site = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const page = { "/entities": ENTITIES, "/article": ARTICLE, "/app": APP_SHELL }[new URL(request.url).pathname]
      if (!page) return new Response("not found", { status: 404 })
      return new Response(page, { headers: { "content-type": "text/html; charset=utf-8" } })
    },
  })
  ws = await workspace()
  drost = await inProcess(ws.path, { tools: { web: { timeoutMs: 3000, allowHosts: [`127.0.0.1:${site.port}`] } } })
})

afterAll(async () => {
  await drost?.[Symbol.asyncDispose]()
  site?.stop(true)
  await ws?.[Symbol.asyncDispose]()
})

const url = (path: string) => `http://127.0.0.1:${site.port}${path}`

test("every HTML entity is decoded in the text the model gets", async () => {
  const result = await drost.call("web.fetch", { url: url("/entities") })
  expect(result.isError).toBe(false)
  expect(result.output).toContain("Café & Bar")
  expect(result.output).toContain("It’s “quoted” — a — b … 5 € © <tag> \"x\" 'y'")
  expect(result.output).not.toMatch(/&[a-z]+;|&#x?[0-9a-f]+;/i)
})

test('mode "article" returns the article alone, with its title and links resolved', async () => {
  const result = await drost.call("web.fetch", { url: url("/article"), mode: "article" })
  expect(result.isError).toBe(false)
  expect(result.output).toContain("# River plan approved")
  expect(result.output).toContain("Ana Lee")
  expect(result.output).toContain("Paragraph 12 of the story: the council’s plan")
  expect(result.output).toContain(`full plan (${url("/docs/plan.pdf")})`)
  for (const chrome of ["Celebrity gossip", "Weather", "First!", "Copyright Town News"])
    expect(result.output).not.toContain(chrome)
  // The whole-page reading keeps the chrome that the article reading drops.
  const whole = await drost.call("web.fetch", { url: url("/article") })
  expect(whole.output).toContain("Celebrity gossip")
})

test("the article is cut at maxChars, and says so", async () => {
  const result = await drost.call("web.fetch", { url: url("/article"), mode: "article", maxChars: 600 })
  expect(result.isError).toBe(false)
  expect(result.output).toContain("Paragraph 1 of the story")
  expect(result.output).not.toContain("Paragraph 12")
  expect(result.output).toContain("[article cut at 600 characters]")
  const body = result.output.slice(result.output.indexOf("Paragraph 1"), result.output.indexOf("\n…"))
  expect(body.length).toBeLessThanOrEqual(600)
})

test("a page without an article falls back to its whole text, saying so", async () => {
  const result = await drost.call("web.fetch", { url: url("/app"), mode: "article" })
  expect(result.isError).toBe(false)
  expect(result.output).toContain("no article found on this page")
  expect(result.output).toContain("Loading…")
})
