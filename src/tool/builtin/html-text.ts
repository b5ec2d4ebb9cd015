/**
 * HTML to the text `web.fetch` hands the model. Two readings of a page:
 * - `htmlToText`: the whole page reduced to its title, headings, paragraphs, list items and links
 *   (scripts, styles and navigation chrome dropped), streamed through Bun's HTMLRewriter;
 * - `articleText`: only the readable article (Firefox Reader View's algorithm, @mozilla/readability,
 *   over a linkedom document), with its title, byline and date, cut at a length the caller chooses.
 * Either way every HTML entity is decoded (named, decimal and hex, through `entities`): HTMLRewriter
 * hands text chunks over as written in the source, so `&rsquo;` or `&#8220;` would otherwise reach the
 * model raw. All three packages are plain JavaScript, so they work inside the compiled binary.
 */
import { isProbablyReaderable, Readability } from "@mozilla/readability"
import { parseHTML } from "linkedom"
import { decodeEntities } from "./entities.ts"

const SKIP = "script, style, noscript, svg, template, iframe, head > *:not(title), nav, footer"
const BLOCK =
  "p, div, section, article, main, header, br, li, tr, h1, h2, h3, h4, h5, h6, pre, blockquote, table, ul, ol, title, hr, dt, dd"

export { decodeEntities }

const tidy = (text: string) =>
  text
    .replace(/[ \t]+/g, " ")
    .replace(/ *\n */g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim()

export async function htmlToText(html: string): Promise<string> {
  const out: string[] = []
  let skipping = 0
  let href: string | null = null
  const rewriter = new HTMLRewriter()
    .on(SKIP, {
      element(element) {
        // A void element (<meta>, <link>, <br>) has no end tag to wait for: onEndTag would throw.
        if (!element.canHaveContent) return
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
        if (!element.canHaveContent) return
        element.onEndTag(() => {
          out.push("\n")
        })
      },
    })
    .on("a[href]", {
      element(element) {
        href = element.getAttribute("href")
        if (!element.canHaveContent) return
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
  return tidy(decodeEntities(out.join("")))
}

/** Readability's DOM type (the project does not load the DOM lib: linkedom's document stands in for it). */
type ReaderDocument = ConstructorParameters<typeof Readability>[0]

export interface Article {
  text: string
  /** Whether the text was cut at `maxChars`. */
  cut: boolean
}

/**
 * The readable article of `html` (fetched from `url`, against which relative links resolve) as text
 * with a header of title, byline, site and date where the page gives them; at most `maxChars`
 * characters of body. Null when the page has no article-like content (a search form, an app shell).
 */
export async function articleText(html: string, url: string, maxChars: number): Promise<Article | null> {
  // A <base> makes linkedom's document resolve the article's relative links against the page's URL.
  const base = `<base href="${url.replace(/"/g, "%22")}">`
  const withBase = /<head[^>]*>/i.test(html) ? html.replace(/<head[^>]*>/i, (head) => head + base) : base + html
  const { document } = parseHTML(withBase)
  // Readability always returns its best guess; this check (Firefox's, for showing the reader button)
  // says whether there is an article at all, so an app shell is not passed off as one.
  if (!isProbablyReaderable(document as unknown as ReaderDocument)) return null
  let parsed: ReturnType<Readability<string>["parse"]>
  try {
    parsed = new Readability(document as unknown as ReaderDocument, { charThreshold: 200 }).parse()
  } catch {
    return null
  }
  if (!parsed?.content) return null
  const body = await htmlToText(parsed.content)
  if (!body) return null
  const header = [
    parsed.title ? `# ${decodeEntities(parsed.title)}` : "",
    [parsed.byline, parsed.siteName, parsed.publishedTime]
      .filter((value): value is string => Boolean(value?.trim()))
      .map((value) => decodeEntities(value.trim()))
      .join(" · "),
  ]
    .filter(Boolean)
    .join("\n")
  const cut = body.length > maxChars
  const text = cut ? body.slice(0, maxChars).replace(/\s+\S*$/, "") : body
  return { text: header ? `${header}\n\n${text}` : text, cut }
}
