/** Markdown → Slack mrkdwn (src/channels/slack/mrkdwn.ts): what Slack would otherwise show literally or misread. */
import { expect, test } from "bun:test"
import { tokenHost } from "../../src/channels/slack/files.ts"
import { splitMrkdwn, toMrkdwn } from "../../src/channels/slack/mrkdwn.ts"

test("emphasis, links, code, lists and headings use mrkdwn's markers", () => {
  expect(toMrkdwn("**bold**, *italic*, ~~gone~~ and `code`")).toBe("*bold*, _italic_, ~gone~ and `code`")
  expect(toMrkdwn("see [the docs](https://example.com/a?b=1)")).toBe("see <https://example.com/a?b=1|the docs>")
  expect(toMrkdwn("# Title\n\nbody")).toBe("*Title*\n\nbody")
  expect(toMrkdwn("- one\n- two")).toBe("• one\n• two")
  expect(toMrkdwn("1. one\n2. two")).toBe("1. one\n2. two")
  expect(toMrkdwn("```ts\nconst a = 1 < 2\n```")).toBe("```\nconst a = 1 &lt; 2\n```")
  expect(toMrkdwn("> quoted")).toBe("> quoted")
})

test("&, < and > are escaped, so text never becomes a mention, a channel ping or a link", () => {
  expect(toMrkdwn("a <!channel> ping & <@U123> and 1 < 2 > 0")).toBe(
    "a &lt;!channel&gt; ping &amp; &lt;@U123&gt; and 1 &lt; 2 &gt; 0",
  )
  // A link whose URL would close the <…|…> form early is kept whole.
  expect(toMrkdwn("[x](https://e.com/a|b>c)")).not.toContain("|b>")
  expect(toMrkdwn("[local](file:///etc/passwd)")).toBe("local")
  // Slack reads control sequences inside code too.
  expect(toMrkdwn("run `echo <!here>`")).toBe("run `echo &lt;!here&gt;`")
})

test("long answers split at line breaks within the limit, and a code fence never spans two messages open", () => {
  const text = `${"word ".repeat(300)}\n\n\`\`\`\n${"line of code\n".repeat(100)}\`\`\``
  const pieces = splitMrkdwn(text, 1000)
  expect(pieces.length).toBeGreaterThan(1)
  for (const piece of pieces) {
    expect(piece.length).toBeLessThanOrEqual(1000)
    expect((piece.match(/```/g) ?? []).length % 2).toBe(0)
  }
  expect(
    pieces
      .join("")
      .replace(/```\n?/g, "")
      .replace(/\s+/g, ""),
  ).toBe(text.replace(/```\n?/g, "").replace(/\s+/g, ""))
})

test("the bot token is sent for a file only to Slack's hosts or the configured API's host", () => {
  const api = "https://slack.com/api/"
  expect(tokenHost("https://files.slack.com/files-pri/T1-F1/cat.png", api)).toBe(true)
  expect(tokenHost("https://files.slack.com.evil.example/x.png", api)).toBe(false)
  expect(tokenHost("http://files.slack.com/x.png", api)).toBe(false)
  expect(tokenHost("https://evil.example/files.slack.com/x.png", api)).toBe(false)
  expect(tokenHost("http://127.0.0.1:4000/files-pri/x", "http://127.0.0.1:4000/api/")).toBe(true)
  expect(tokenHost("not a url", api)).toBe(false)
})
