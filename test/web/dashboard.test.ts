/**
 * The web dashboard at `/`, used in headless Chromium as a person would, against a real gateway
 * (`bun src/index.ts start`) whose model is the loopback fake OpenAI server: sign in (a wrong token is
 * refused; the token lives in sessionStorage only), send a message and watch it stream, open the tool
 * call it made, approve a call waiting under `tools.approve`, watch a live event arrive, rename a
 * session, see the usage chart drawn from data, and use the read token for a read-only view. The
 * network is blocked except 127.0.0.1 (any other request fails the test), the page logs no console
 * error, every control has an accessible name, the sections are reachable by keyboard, and the whole
 * page is at most 250 KB gzipped. Screenshots go to the test temp root; with
 * DROST_UPDATE_SCREENSHOTS=1 the chat view is also written to docs/dashboard.png (README shows it).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { copyFileSync, existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import { type FakeOpenAI, fakeOpenAI, reply } from "../fake/openai.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { ARTEFACTS, CHROMIUM, launch, unlabelled, watchedPage } from "./browser.ts"

const READ_TOKEN = "read-token-for-dashboard-tests"
const ROOT = join(import.meta.dir, "../..")
/** A 1×1 PNG. */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
)
const FINAL = "The notes say: hello from the workspace."

let llm: FakeOpenAI
beforeAll(async () => {
  llm = await fakeOpenAI({ key: null })
})
afterAll(() => llm.close())

function config() {
  return {
    providers: {
      profiles: [
        {
          id: "llm",
          kind: "openai-compatible",
          baseUrl: llm.baseUrl,
          apiKeyEnv: "DROST_WEB_FAKE_KEY",
          model: "m",
          prices: { input: 1000, output: 2000 },
        },
      ],
    },
    controlApi: { port: 0, readToken: READ_TOKEN },
    tools: { approve: ["file.write"] },
  }
}

describe("web dashboard in headless Chromium", () => {
  test.skipIf(!CHROMIUM && process.env.CI !== "true")(
    "sign in, stream a turn, open its tool call, approve a call, see an event, rename, chart; read-only with the read token",
    async () => {
      expect(CHROMIUM).toBeDefined()
      await using ws = await workspace({ config: config(), files: { "notes.txt": "hello from the workspace\n" } })
      await using gw = await spawnGateway(ws.path, { env: { DROST_WEB_FAKE_KEY: "test-key" } })

      // The whole page, as a browser fetches it, compressed: the budget is 250 KB.
      const sizes: Record<string, number> = {}
      for (const path of ["/", "/ui/app.js", "/ui/app.css"]) {
        const response = await fetch(`${gw.url}${path}`)
        expect(response.status).toBe(200)
        expect(response.headers.get("content-security-policy")).toContain("default-src 'none'")
        expect(response.headers.get("content-security-policy")).not.toMatch(/https?:|\*/)
        sizes[path] = gzipSync(new Uint8Array(await response.arrayBuffer())).byteLength
      }
      const total = Object.values(sizes).reduce((sum, size) => sum + size, 0)
      console.info(`dashboard size gzipped: ${JSON.stringify(sizes)} = ${(total / 1024).toFixed(1)} KB`)
      expect(total).toBeLessThanOrEqual(250 * 1024)

      const browser = await launch()
      try {
        const { page, context, blocked, errors, served, resumes } = await watchedPage(browser)
        await page.goto(`${gw.url}/`)

        // Sign in by keyboard: the token field is the first stop; a wrong token is refused.
        const token = page.getByLabel("Control API token")
        await token.waitFor()
        await page.keyboard.press("Tab")
        expect(await page.evaluate(() => (globalThis as unknown as Doc).document.activeElement?.id)).toBe("token")
        await page.keyboard.type("not-the-token")
        await page.keyboard.press("Enter")
        await page.getByRole("alert").filter({ hasText: "not valid" }).waitFor()
        // Chromium logs the refused request itself ("401 (Unauthorized)"): expected here, and the only one.
        expect(errors).toEqual([expect.stringContaining("401")])
        errors.length = 0
        await token.fill(gw.token)
        await page.keyboard.press("Enter")
        await page.getByRole("navigation", { name: "Sections" }).waitFor()
        const storage = () =>
          page.evaluate(() => {
            const scope = globalThis as unknown as Doc
            return {
              local: JSON.stringify({ ...scope.localStorage }),
              session: JSON.stringify({ ...scope.sessionStorage }),
            }
          })
        expect((await storage()).local).not.toContain(gw.token)
        expect((await storage()).session).toContain(gw.token)
        await page.locator(".badge.feed-live").waitFor()

        // Chat: a new session; the answer streams in deltas, after a tool call.
        llm.queue(
          reply().text("Let me read it.").tool("file.read", { path: "notes.txt" }),
          reply().text(FINAL).chunk(4).delay(30),
        )
        await page.evaluate(() => {
          // Record every state of the streaming bubble (it is replaced by the stored answer at the end).
          const scope = globalThis as unknown as Doc & { seen: { deltas: number; texts: string[] } }
          scope.seen = { deltas: 0, texts: [] }
          new scope.MutationObserver(() => {
            const live = scope.document.querySelector(".live")
            if (!live) return
            scope.seen.deltas = Math.max(scope.seen.deltas, Number(live.getAttribute("data-deltas")))
            scope.seen.texts.push(live.textContent ?? "")
          }).observe(scope.document.body, { subtree: true, childList: true, characterData: true, attributes: true })
        })
        await page.getByRole("textbox", { name: "Message" }).fill("What do my notes say?")
        await page.getByRole("textbox", { name: "Message" }).press("Enter")
        await page.locator(".msg-assistant:not(.live) .msg-text", { hasText: FINAL }).waitFor()
        const seen = await page.evaluate(
          () => (globalThis as unknown as { seen: { deltas: number; texts: string[] } }).seen,
        )
        expect(seen.deltas).toBeGreaterThan(2)
        // A partial answer was on screen before the whole one.
        expect(seen.texts.some((text) => text.includes("The notes") && !text.includes(FINAL))).toBe(true)
        expect(page.url()).toMatch(/#\/chat\/ses_/)
        const sessionId = page.url().split("#/chat/")[1]!

        // Open the tool call: arguments, output and timing.
        const call = page.locator("details.tool", { hasText: "file.read" })
        await call.locator("summary").click()
        expect(await call.getAttribute("open")).not.toBeNull()
        expect(await call.locator(".tool-args").textContent()).toContain('"path": "notes.txt"')
        expect(await call.locator(".tool-output").textContent()).toContain("hello from the workspace")
        expect(await call.locator("summary").textContent()).toMatch(/\d+(\.\d)? (ms|s)/)
        await page.screenshot({ path: join(ARTEFACTS, "chat.png") })
        if (process.env.DROST_UPDATE_SCREENSHOTS === "1")
          copyFileSync(join(ARTEFACTS, "chat.png"), join(ROOT, "docs/dashboard.png"))

        // A call under tools.approve waits in the chat; Approve runs it and the turn completes.
        llm.queue(reply().tool("file.write", { path: "approved.txt", content: "yes" }), reply().text("Written it."))
        await page.getByRole("textbox", { name: "Message" }).fill("Write the file")
        await page.getByLabel("Attach image").setInputFiles({ name: "dot.png", mimeType: "image/png", buffer: PNG })
        await page.getByText("1 image(s) attached").waitFor()
        await page.getByRole("button", { name: "Send" }).click()
        const approval = page.getByRole("group", { name: "Approval for file.write" })
        await approval.waitFor()
        expect(await approval.textContent()).toContain("approved.txt")
        // The call in the streaming answer says what it waits for; the message just sent is on screen.
        await page.locator(".live details.tool", { hasText: "waiting for approval" }).waitFor()
        expect(await page.locator(".msg-user", { hasText: "Write the file" }).count()).toBe(1)
        expect(existsSync(ws.file("approved.txt"))).toBe(false)
        await page.locator(".badge.feed-live").waitFor()
        await page.screenshot({ path: join(ARTEFACTS, "approval.png") })
        await approval.getByRole("button", { name: "Approve", exact: true }).click()
        await page.locator(".msg-assistant:not(.live) .msg-text", { hasText: "Written it." }).waitFor()
        expect(readFileSync(ws.file("approved.txt"), "utf8")).toBe("yes")
        // The image went with the message, to the model and into the history, and is drawn from a data: URL.
        const image = page.locator('.msg-user:not([aria-label$="(sending)"]) img.chat-image').last()
        await image.waitFor()
        expect(await image.getAttribute("src")).toStartWith("data:image/png;base64,")
        expect(await image.evaluate((element) => (element as unknown as { naturalWidth: number }).naturalWidth)).toBe(1)
        expect(JSON.stringify(llm.hits.at(-2)?.body)).toContain(PNG.toString("base64"))
        expect(await approval.count()).toBe(0)

        // The event log: a session made elsewhere shows up live.
        await page.getByRole("link", { name: "Events" }).click()
        await page.getByLabel("Types").fill("session.created")
        const created = (await (
          await gw.api("/sessions", { method: "POST", json: { title: "from elsewhere" } })
        ).json()) as {
          id: string
        }
        await page.locator('li[data-type="session.created"]', { hasText: created.id }).waitFor()
        expect(await page.locator('li[data-type="tool.call.completed"]').count()).toBe(0) // filtered out
        // The stream drops (the browser goes offline); what happens meanwhile arrives after the reconnect,
        // which resumes from the last id it saw.
        await context.setOffline(true)
        await page.locator(".top .badge.feed-reconnecting").waitFor()
        const missed = (await (
          await gw.api("/sessions", { method: "POST", json: { title: "while away" } })
        ).json()) as {
          id: string
        }
        await context.setOffline(false)
        await page.locator('li[data-type="session.created"]', { hasText: missed.id }).waitFor()
        await page.locator(".top .badge.feed-live").waitFor()
        expect(resumes[0]).toBeNull()
        expect(Number(resumes.at(-1))).toBeGreaterThan(0)
        expect(await page.locator('li[data-type="session.created"]', { hasText: created.id }).count()).toBe(1)
        await page.getByLabel("Types").fill("tool.call")
        await page.locator('li[data-type="tool.call.completed"]').first().waitFor()
        await page.screenshot({ path: join(ARTEFACTS, "events.png") })

        // Rename the chat's session from the sessions list.
        await page.getByRole("link", { name: "Sessions" }).click()
        const row = page.locator(`tr[data-session="${sessionId}"]`)
        await row.getByRole("button", { name: /^Rename/ }).click()
        await row.getByLabel("New title").fill("Notes, renamed")
        await row.getByLabel("New title").press("Enter")
        await row.getByRole("link", { name: "Notes, renamed" }).waitFor()
        const renamed = (await (await gw.api(`/sessions/${sessionId}`)).json()) as { session: { title: string } }
        expect(renamed.session.title).toBe("Notes, renamed")
        expect(await unlabelled(page)).toEqual([])

        // The usage chart draws the tokens of the turns above.
        await page.getByRole("link", { name: "Usage" }).click()
        const chart = page.getByRole("img", { name: "Tokens per provider over time" })
        await chart.locator("canvas").waitFor()
        expect(await chart.locator(".u-legend").textContent()).toContain("llm")
        const cells = await page
          .locator("details", { hasText: "Data: tokens per provider" })
          .locator("td")
          .allTextContents()
        expect(cells.map(Number).some((value) => value > 0)).toBe(true)
        await page.getByRole("img", { name: "Tokens per session" }).locator("canvas").waitFor()
        expect(await page.getByRole("table", { name: "Latency percentiles per provider" }).textContent()).toContain(
          "llm",
        )
        // Cost at the profile's prices: 4 model calls of 10 input and 5 output tokens at $1000/$2000 per million.
        await page.getByRole("img", { name: "Cost per provider over time (USD)" }).locator("canvas").waitFor()
        expect(await page.getByRole("table", { name: "Cost per session" }).textContent()).toContain(
          "Notes, renamed$0.08",
        )
        await page.screenshot({ path: join(ARTEFACTS, "usage.png") })
        expect(await unlabelled(page)).toEqual([])

        // Keyboard only: from the Usage link, Tab reaches the next sections; Enter opens one.
        await page.getByRole("link", { name: "Usage" }).focus()
        await page.keyboard.press("Tab")
        await page.keyboard.press("Tab")
        expect(await page.evaluate(() => (globalThis as unknown as Doc).document.activeElement?.textContent)).toBe(
          "Tools",
        )
        await page.keyboard.press("Enter")
        await page.getByRole("heading", { name: "Tools" }).waitFor()
        await page.locator("td code", { hasText: "file.read" }).waitFor()
        for (const section of ["Providers", "Schedules and jobs", "Evolution", "Health", "Approvals"]) {
          await page.getByRole("link", { name: section, exact: true }).click()
          await page.getByRole("heading", { name: section }).waitFor()
          expect(await unlabelled(page)).toEqual([])
        }
        await page.getByRole("link", { name: "Health" }).click()
        await page.locator("dd .badge.ok", { hasText: "running" }).waitFor()

        // Signing out forgets the token.
        await page.getByRole("button", { name: "Sign out" }).click()
        await page.getByLabel("Control API token").waitFor()
        expect((await storage()).session).not.toContain(gw.token)

        // The read token: the same views, nothing that changes anything.
        const reader = await watchedPage(browser)
        await reader.page.goto(`${gw.url}/#/sessions`)
        await reader.page.getByLabel("Control API token").fill(READ_TOKEN)
        await reader.page.getByRole("button", { name: "Sign in" }).click()
        await reader.page.getByText("read-only", { exact: true }).waitFor()
        await reader.page.locator(`tr[data-session="${sessionId}"]`).waitFor()
        expect(await reader.page.getByRole("button", { name: /^Rename|^Delete/ }).count()).toBe(0)
        await reader.page.getByRole("link", { name: "Chat" }).click()
        await reader.page.getByText("Read-only: sign in with the admin token to send messages.").waitFor()
        expect(await reader.page.getByRole("textbox", { name: "Message" }).count()).toBe(0)

        expect(blocked).toEqual([])
        expect(reader.blocked).toEqual([])
        expect(errors).toEqual([])
        expect(reader.errors).toEqual([])
        expect(served).toEqual(expect.arrayContaining(["/", "/ui/app.js", "/ui/app.css", "/control/v1/events"]))
      } finally {
        await browser.close()
      }
    },
    90_000,
  )
})

/** The browser globals the page.evaluate callbacks use (the test's tsconfig has no DOM library). */
interface Doc {
  document: {
    activeElement: { id: string; textContent: string | null } | null
    querySelector(selector: string): { getAttribute(name: string): string | null; textContent: string | null } | null
    body: unknown
  }
  localStorage: Record<string, string>
  sessionStorage: Record<string, string>
  MutationObserver: new (callback: () => void) => { observe(target: unknown, options: object): void }
}
