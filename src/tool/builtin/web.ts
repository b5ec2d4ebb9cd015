/**
 * `web.fetch`: GET (or POST) a URL with a timeout and a size cap, and hand the model readable text:
 * HTML is reduced to its title, headings, paragraphs and links (scripts, styles and navigation chrome
 * dropped), every entity decoded, or with `mode: "article"` to the readable article alone, cut at
 * `maxChars` (html-text.ts); JSON is pretty-printed; other text is passed as is.
 *
 * It is not a way into the gateway's machine or network (SSRF): every hop, redirects included, goes
 * through web-guard.ts, and the connection goes to the very address that was vetted (see `pinned`).
 */
import { Type } from "../../core/schema.ts"
import type { RegisteredTool } from "../registry.ts"
import { bracket } from "./address.ts"
// Loaded by the first HTML page a fetch reads: linkedom and Readability are not needed to start a gateway.
const htmlText = () => import("./html-text.ts")
import { allowList, type AllowList, vet } from "./web-guard.ts"

export interface WebOptions {
  timeoutMs: number
  maxBytes: number
  /** Hosts, IPs or CIDR ranges (optionally with :port) reachable although not public. */
  allowHosts?: string[]
}

/** Redirects followed, each re-vetted, before giving up. */
const MAX_REDIRECTS = 5
/** Characters of article text returned by default (mode "article"). */
const ARTICLE_CHARS = 20_000
const REDIRECT = new Set([301, 302, 303, 307, 308])
/** Credentials the call sent to one origin are not handed to the next (as browsers do). */
const CREDENTIALS = ["authorization", "cookie", "proxy-authorization"]

/**
 * How to send a request for `url` to the vetted `address` without a second DNS lookup, so the name
 * cannot resolve elsewhere in between (DNS rebinding): the URL's host becomes the address, the name
 * stays in the Host header and, for https, in `tls.serverName`, from which Bun takes both the SNI and
 * the name the certificate is verified against (test/tool/web.test.ts checks this under Bun 1.4.5).
 */
export function pinned(url: URL, address: string): { target: URL; host: string; serverName?: string } {
  const target = new URL(url.href)
  target.hostname = bracket(address)
  const named = target.hostname !== url.hostname
  return { target, host: url.host, serverName: named && url.protocol === "https:" ? url.hostname : undefined }
}

export interface Hop {
  method: string
  body?: string
  headers: Headers
  signal: AbortSignal
}

/** One request to `url` over the first of its vetted addresses that accepts a connection. */
async function send(url: URL, addresses: string[], hop: Hop): Promise<Response> {
  let failure: Error | undefined
  for (const address of addresses) {
    const { target, host, serverName } = pinned(url, address)
    const headers = new Headers(hop.headers)
    headers.set("host", host)
    try {
      return await fetch(target, {
        method: hop.method,
        body: hop.body,
        headers,
        signal: hop.signal,
        redirect: "manual",
        tls: serverName ? { serverName } : undefined,
      })
    } catch (error) {
      if (hop.signal.aborted) throw error
      failure = error as Error
    }
  }
  throw new Error(`cannot fetch ${url.href}: ${failure?.message ?? "no address"}`)
}

/** Fetch `url`, following up to MAX_REDIRECTS redirects; each hop's addresses are vetted first. */
export async function follow(url: URL, list: AllowList, first: Hop): Promise<{ response: Response; url: URL }> {
  const hop = { ...first, headers: new Headers(first.headers) }
  let current = url
  for (let count = 0; ; count++) {
    const addresses = await abortable(vet(current, list), hop.signal)
    const response = await send(current, addresses, hop)
    const location = response.headers.get("location")
    if (!REDIRECT.has(response.status) || location === null) return { response, url: current }
    await response.body?.cancel().catch(() => {})
    if (count === MAX_REDIRECTS)
      throw new Error(`${url.href} redirected more than ${MAX_REDIRECTS} times (the last hop pointed to ${location})`)
    const next = parse(location, current)
    if (response.status === 303 || (hop.method === "POST" && response.status !== 307 && response.status !== 308)) {
      hop.method = "GET"
      hop.body = undefined
      hop.headers.delete("content-type")
    }
    if (next.origin !== current.origin) for (const name of CREDENTIALS) hop.headers.delete(name)
    current = next
  }
}

/** A name lookup cannot be cancelled; the timeout still ends the call without waiting for it. */
function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted()
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(signal.reason)
    signal.addEventListener("abort", stop, { once: true })
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", stop))
  })
}

function parse(text: string, base?: URL): URL {
  let url: URL
  try {
    url = new URL(text, base)
  } catch {
    throw new Error(
      base
        ? `${base.href} redirected to "${text}", which is not a valid URL`
        : `"${text}" is not an absolute URL; include the scheme, e.g. https://example.com`,
    )
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new Error(`only http and https URLs are fetched, not ${url.protocol} (${text})`)
  return url
}

export async function readCapped(
  response: Response,
  maxBytes: number,
): Promise<{ bytes: Uint8Array; truncated: boolean }> {
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

export function webTool(options: () => WebOptions): RegisteredTool {
  return {
    name: "web.fetch",
    source: "builtin",
    description:
      'Fetch a web page or API (http/https) and return its text: HTML is reduced to readable text with links (mode "article": only the main article), JSON is pretty-printed. Large responses are cut at the size limit.',
    parameters: Type.Object(
      {
        url: Type.String({ minLength: 1, description: "Absolute http(s) URL" }),
        method: Type.Optional(Type.Union([Type.Literal("GET"), Type.Literal("POST")], { description: "Default GET" })),
        body: Type.Optional(Type.String({ description: "Request body for POST" })),
        headers: Type.Optional(Type.Record(Type.String(), Type.String(), { description: "Extra request headers" })),
        raw: Type.Optional(Type.Boolean({ description: "Return HTML as is instead of readable text" })),
        mode: Type.Optional(
          Type.Union([Type.Literal("text"), Type.Literal("article"), Type.Literal("raw")], {
            description:
              'HTML pages: "text" (default) the whole page as readable text; "article" only the main article (title, byline, body), for news and blog posts; "raw" the HTML as is',
          }),
        ),
        maxChars: Type.Optional(
          Type.Integer({
            minimum: 200,
            maximum: 200_000,
            description: `Most characters of article text (mode "article"; default ${ARTICLE_CHARS})`,
          }),
        ),
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
        mode?: "text" | "article" | "raw"
        maxChars?: number
      }
      const url = parse(a.url)
      const { timeoutMs, maxBytes, allowHosts = [] } = options()
      const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)])
      const headers = new Headers({
        "user-agent": "drost-web-fetch",
        accept: "text/html, application/json, text/*;q=0.9, */*;q=0.5",
      })
      for (const [name, value] of Object.entries(a.headers ?? {})) headers.set(name, value)
      const method = a.method ?? "GET"
      const body = method === "POST" ? a.body : undefined
      const hop = { method, body, headers, signal }
      const { response, url: final } = await follow(url, allowList(allowHosts), hop).catch((error: Error) => {
        if (signal.aborted && !ctx.signal.aborted)
          throw new Error(`no response from ${url.host} within ${timeoutMs} ms`)
        throw error
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
      const mode = a.mode ?? (a.raw ? "raw" : "text")
      if (type.includes("html") && mode === "article") {
        const { articleText, htmlToText } = await htmlText()
        const article = await articleText(text, final.href, a.maxChars ?? ARTICLE_CHARS)
        if (article)
          text = `${article.text}${article.cut ? `\n… [article cut at ${a.maxChars ?? ARTICLE_CHARS} characters]` : ""}`
        else text = `(no article found on this page; its whole text follows)\n\n${await htmlToText(text)}`
      } else if (type.includes("html") && mode === "text") text = await (await htmlText()).htmlToText(text)
      else if (type.includes("json") && !truncated) {
        try {
          text = JSON.stringify(JSON.parse(text), null, 2)
        } catch {}
      }
      const note = truncated ? `\n… [cut at ${maxBytes} bytes]` : ""
      return `HTTP ${response.status} ${response.statusText} (${type || "no content type"}) ${final.href}\n\n${text}${note}`
    },
  }
}
