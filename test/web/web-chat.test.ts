/**
 * The web chat keeps the channel contract in the page itself (docs/channels.md, "The web chat and the
 * contract"), in headless Chromium: a slash command typed while a turn streams is answered at once by
 * the command registry (not sent to the model, not queued behind the turn), `/stop` stops the turn, and
 * a failed turn ends in one short line with its error id. test/channels/contract/web.test.ts runs the
 * shared suite through the same HTTP calls.
 */
import { expect, test } from "bun:test"
import { demoConfig } from "../lib/config.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { events, waitEvent } from "../channels/helpers.ts"
import { CHROMIUM, launch, watchedPage } from "./browser.ts"

test.skipIf(!CHROMIUM && process.env.CI !== "true")(
  "web chat: /status answers while a turn streams, /stop stops it, a failure shows its error id",
  async () => {
    expect(CHROMIUM).toBeDefined()
    const broken = {
      id: "broken",
      kind: "openai-compatible",
      baseUrl: "http://127.0.0.1:9/v1",
      model: "m",
      api: "chat",
    }
    const config = demoConfig({
      providers: { profiles: [{ id: "demo", kind: "demo", delayMs: 1000 }, broken], failover: { enabled: false } },
    })
    await using ws = await workspace({ config })
    await using gw = await spawnGateway(ws.path)
    const link = ((await (await gw.api("/dashboard/links", { method: "POST", json: {} })).json()) as { url: string })
      .url
    const browser = await launch()
    try {
      const { page, blocked } = await watchedPage(browser)
      await page.goto(link)
      const composer = page.getByRole("textbox", { name: "Message" })
      await composer.waitFor()
      await composer.fill("tell me everything")
      await composer.press("Enter")
      await page.getByText("assistant · streaming").waitFor()
      await composer.fill("/status")
      await composer.press("Enter")
      const answer = page.getByRole("status", { name: "Command answer" })
      await answer.filter({ hasText: "running turns: 1" }).waitFor()
      // Answered by the registry: the model saw one message only, the turn is still the first one. The
      // event log is flushed every 200 ms: wait for the first turn's line, then one flush more.
      await waitEvent(ws, "session.turn.started")
      await Bun.sleep(400)
      const started = () => events(ws).filter((event) => event.type === "session.turn.started").length
      expect(started()).toBe(1)
      await composer.fill("/stop")
      await composer.press("Enter")
      await answer.filter({ hasText: "stopped the running turn" }).waitFor()
      await page.getByRole("alert").filter({ hasText: "Stopped" }).waitFor()
      const failed = await waitEvent(ws, "session.turn.failed")
      expect(String(failed.data.reason)).toStartWith("aborted by user (/stop in web)")

      // A session on a provider that cannot be reached: one short line with the turn id as error id.
      const session = (await (await gw.api("/sessions", { method: "POST", json: { provider: "broken" } })).json()) as {
        id: string
      }
      await page.goto(`${gw.url}/#/chat/${session.id}`)
      await composer.fill("hello")
      await composer.press("Enter")
      const line = page.getByRole("alert").filter({ hasText: "error id" })
      await line.waitFor({ timeout: 30_000 })
      const text = (await line.textContent()) ?? ""
      const turn = await waitEvent(ws, "session.turn.failed", (data) => data.sessionId === session.id)
      expect(text).toContain(String(turn.data.turnId))
      expect(text.length).toBeLessThan(200)
      expect(blocked).toEqual([])
    } finally {
      await browser.close()
    }
    expect(await gw.stop()).toBe(0)
  },
  60_000,
)
