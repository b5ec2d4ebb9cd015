/**
 * `web.fetch`: GET (or POST) a URL with a timeout and a size cap, and hand the model readable text:
 * HTML is reduced to its title, headings, paragraphs and links (scripts, styles and navigation chrome
 * dropped) with Bun's streaming HTMLRewriter; JSON is pretty-printed; other text is passed as is.
 */
import { Type } from "../../core/schema.ts"
import type { RegisteredTool } from "../registry.ts"

export interface WebOptions {
  timeoutMs: number
  maxBytes: number
}

const SKIP = "script, style, noscript, svg, template, iframe, head > *:not(title), nav, footer"
const BLOCK =
  "p, div, section, article, main, header, br, li, tr, h1, h2, h3, h4, h5, h6, pre, blockquote, table, ul, ol, title, hr, dt, dd"

async function readCapped(response: Response, maxBytes: number): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  const chunks: Uint8Array[] = []
  let size = 0
  let truncated = false
  if (!response.body) return { bytes: new Uint8Array(), truncated }
  for await (const chunk of response.body) {
    const room = maxBytes - size
    chunks.push(chunk.subarray(0, room))
    size += Math.min(room, chunk.length)
    if (chunk.length >= room) {
      truncated = chunk.length > room
      break
    }
  }
  if (truncated) await response.body.cancel().catch(() => {})
  return { bytes: Buffer.concat(chunks), truncated }
}

export async function htmlToText(html: string): Promise<string> {
  const out: string[] = []
  let skipping = 0
  let href: string | null = null
  const rewriter = new HTMLRewriter()
    .on(SKIP, {
      element(element) {
        skipping++
        element.onEndTag(() => {
          skipping--
        })
      },
    })
    .on(BLOCK, {
      element(element) {
        const heading = /^h[1-6]$/.exec(element.tagName)
        out.push(heading ? `\n\n${"#".repeat(Number(element.tagName[1]))} ` : element.tagName === "li" ? "\n- " : "\n")
        element.onEndTag(() => {
          out.push("\n")
        })
      },
    })
    .on("a[href]", {
      element(element) {
        href = element.getAttribute("href")
        element.onEndTag(() => {
          if (href && !href.startsWith("#") && !href.startsWith("javascript:")) out.push(` (${href})`)
          href = null
        })
      },
    })
    .on("*", {
      text(text) {
        if (skipping === 0) out.push(text.text)
      },
    })
  await rewriter.transform(new Response(html)).text()
  return out
    .join("")
    .replace(/&nbsp;/g, " ")
    .replace(/&amp;/g, "&")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/[ \t]+/g, " ")
    .replace(/ *\n */g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim()
}

export function webTool(options: () => WebOptions): RegisteredTool {
  return {
    name: "web.fetch",
    source: "builtin",
    description:
      "Fetch a web page or API (http/https) and return its text: HTML is reduced to readable text with links, JSON is pretty-printed. Large responses are cut at the size limit.",
    parameters: Type.Object(
      {
        url: Type.String({ minLength: 1, description: "Absolute http(s) URL" }),
        method: Type.Optional(Type.Union([Type.Literal("GET"), Type.Literal("POST")], { description: "Default GET" })),
        body: Type.Optional(Type.String({ description: "Request body for POST" })),
        headers: Type.Optional(Type.Record(Type.String(), Type.String(), { description: "Extra request headers" })),
        raw: Type.Optional(Type.Boolean({ description: "Return HTML as is instead of readable text" })),
      },
      { additionalProperties: false },
    ),
    async execute(args, ctx) {
      const a = args as {
        url: string
        method?: "GET" | "POST"
        body?: string
        headers?: Record<string, string>
        raw?: boolean
      }
      let url: URL
      try {
        url = new URL(a.url)
      } catch {
        throw new Error(`"${a.url}" is not an absolute URL; include the scheme, e.g. https://example.com`)
      }
      if (url.protocol !== "http:" && url.protocol !== "https:")
        throw new Error(`only http and https URLs are fetched, not ${url.protocol}`)
      const { timeoutMs, maxBytes } = options()
      const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)])
      const response = await fetch(url, {
        method: a.method ?? "GET",
        body: a.method === "POST" ? a.body : undefined,
        headers: {
          "user-agent": "drost-web-fetch",
          accept: "text/html, application/json, text/*;q=0.9, */*;q=0.5",
          ...a.headers,
        },
        signal,
        redirect: "follow",
      }).catch((error: Error) => {
        if (signal.aborted && !ctx.signal.aborted)
          throw new Error(`no response from ${url.host} within ${timeoutMs} ms`)
        throw new Error(`cannot fetch ${url.href}: ${error.message}`)
      })
      const type = response.headers.get("content-type") ?? ""
      const { bytes, truncated } = await readCapped(response, maxBytes).catch((error: Error) => {
        throw new Error(
          signal.aborted
            ? `the response from ${url.host} took longer than ${timeoutMs} ms`
            : `reading the response failed: ${error.message}`,
        )
      })
      if (!/text|json|xml|javascript|html/.test(type) && bytes.subarray(0, 4000).includes(0))
        return `HTTP ${response.status} ${type}: binary content (${bytes.length}${truncated ? "+" : ""} bytes) not shown`
      let text = new TextDecoder().decode(bytes)
      if (type.includes("html") && !a.raw) text = await htmlToText(text)
      else if (type.includes("json") && !truncated) {
        try {
          text = JSON.stringify(JSON.parse(text), null, 2)
        } catch {}
      }
      const note = truncated ? `\n… [cut at ${maxBytes} bytes]` : ""
      return `HTTP ${response.status} ${response.statusText} (${type || "no content type"}) ${response.url}\n\n${text}${note}`
    },
  }
}
