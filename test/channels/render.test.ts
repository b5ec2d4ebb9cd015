import { expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Api } from "grammy"
import { render } from "../../src/channels/telegram/render.ts"
import { MESSAGE_LIMIT, split } from "../../src/channels/telegram/split.ts"
import { FakeTelegram } from "../fake/telegram.ts"
import { parseHtml } from "../fake/telegram-html.ts"

const corpus = readFileSync(join(import.meta.dir, "fixtures/corpus.md"), "utf8")

test("the strict fake rejects what Telegram rejects", () => {
  for (const bad of [
    "<b>open",
    "a < b",
    "a > b",
    "x & y",
    "<div>x</div>",
    '<a href="https://a"><a href="https://b">x</a></a>',
    "<code><b>x</b></code>",
    "<b><i>x</b></i>",
    "&nbsp;",
    '<a href="javascript:x">x</a>',
  ])
    expect(parseHtml(bad).ok).toBe(false)
  expect(
    parseHtml(
      '<b>a</b> &lt;&amp;&gt;&quot; &#169; <pre><code class="language-ts">x</code></pre> <a href="https://e.com?a=1&amp;b=2">l</a>',
    ),
  ).toEqual({
    ok: true,
    text: 'a <&>" © x l',
  })
})

test("a Markdown corpus renders to HTML the strict fake accepts, displaying exactly the text we counted", async () => {
  const fake = await FakeTelegram.start()
  const api = new Api(fake.token, { apiRoot: fake.apiRoot })
  const whole = render(corpus)
  const parsed = parseHtml(whole.html)
  expect(parsed).toEqual({ ok: true, text: whole.text })
  expect(whole.html).toContain('<a href="https://example.com/path?a=1&amp;b=&lt;2&gt;">a normal link</a>')
  expect(whole.html).not.toContain('javascript:alert(1)">')
  expect(whole.html).toContain(
    '<pre><code class="language-ts">const html = &quot;&lt;b&gt;not bold&lt;/b&gt;&quot; &amp;&amp; a &lt; b',
  )
  expect(whole.text).toContain("🎉🚀👩‍💻")
  expect(whole.text).toContain("      1. fourth level")
  expect(whole.text).toContain("&lt;script&gt;".replace(/&lt;/g, "<").replace(/&gt;/g, ">"))
  // Sent for real: every piece accepted with parse_mode HTML, none too long.
  for (const doc of [corpus, corpus.repeat(12)]) {
    for (const chunk of split(doc)) {
      expect(chunk.text.length).toBeLessThanOrEqual(MESSAGE_LIMIT)
      const sent = await api.sendMessage(1, chunk.html, { parse_mode: "HTML" })
      expect(sent.text).toBe(chunk.text)
    }
  }
  expect(fake.calls.every((call) => call.status === "ok")).toBe(true)
  fake.stop()
})

test("a long answer splits at block boundaries, a giant code block stays code in every piece", () => {
  const paragraphs = Array.from({ length: 30 }, (_, index) => `Paragraph ${index}: ${"word ".repeat(60).trim()}`)
  const chunks = split(paragraphs.join("\n\n"))
  expect(chunks.length).toBeGreaterThan(1)
  expect(chunks.map((chunk) => chunk.text).join("\n\n")).toBe(paragraphs.join("\n\n"))
  for (const chunk of chunks) expect(chunk.text.startsWith("Paragraph")).toBe(true)
  const code = `\`\`\`py\n${Array.from({ length: 600 }, (_, index) => `print(${index})  # < & >`).join("\n")}\n\`\`\``
  const pieces = split(code)
  expect(pieces.length).toBeGreaterThan(2)
  for (const piece of pieces) {
    expect(piece.html.startsWith('<pre><code class="language-py">')).toBe(true)
    expect(parseHtml(piece.html).ok).toBe(true)
    expect(piece.text.length).toBeLessThanOrEqual(MESSAGE_LIMIT)
  }
  expect(pieces.map((piece) => piece.text).join("\n")).toBe(
    Array.from({ length: 600 }, (_, index) => `print(${index})  # < & >`).join("\n"),
  )
})
