/**
 * The dashboard's management views in headless Chromium against a real gateway (network blocked but
 * 127.0.0.1, no console error): sessions are searched, switched to another provider, exported and
 * deleted; a broken workspace tool is listed as rejected with its reason; a schedule made over the
 * API is listed; the providers are probed; an evolution shows its steps, gate output and diff.
 */
import { describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { fakeOpenAI } from "../fake/openai.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { ARTEFACTS, CHROMIUM, launch, unlabelled, watchedPage } from "./browser.ts"

describe("dashboard management views", () => {
  test.skipIf(!CHROMIUM && process.env.CI !== "true")(
    "sessions: search, switch provider, export, delete; rejected tools; schedules; probe; evolution with its diff",
    async () => {
      expect(CHROMIUM).toBeDefined()
      await using llm = await fakeOpenAI({ key: null })
      await using ws = await workspace({
        config: {
          providers: {
            profiles: [
              { id: "llm", kind: "openai-compatible", baseUrl: llm.baseUrl, apiKeyEnv: "DROST_WEB_KEY", model: "m" },
              { id: "demo", kind: "demo" },
            ],
          },
          controlApi: { port: 0 },
          evolution: { validation: { commands: [["echo", "gate says fine"]] } },
        },
        files: { "tools/broken.ts": "export default {{ not a tool\n" },
      })
      await using gw = await spawnGateway(ws.path, { env: { DROST_WEB_KEY: "k" } })
      const make = async (title: string) =>
        ((await (await gw.api("/sessions", { method: "POST", json: { title } })).json()) as { id: string }).id
      const alpha = await make("alpha plans")
      const beta = await make("beta notes")
      const scheduled = await gw.api("/schedules", { method: "POST", json: { prompt: "water the plants", in: "2h" } })
      expect(scheduled.status).toBe(201)
      const evolved = await gw.api("/evolution", {
        method: "POST",
        json: { reason: "a calmer tone", changes: [{ path: "prompts/tone.md", content: "Be calm.\n" }] },
      })
      const outcome = (await evolved.json()) as { ok: boolean; output: string }
      expect(outcome).toMatchObject({ ok: true })

      const browser = await launch()
      try {
        const { page, blocked, errors } = await watchedPage(browser)
        await page.goto(`${gw.url}/#/sessions`)
        await page.getByLabel("Control API token").fill(gw.token)
        await page.getByRole("button", { name: "Sign in" }).click()
        await page.locator(`tr[data-session="${alpha}"]`).waitFor()

        await page.getByLabel("Search titles").fill("beta")
        await page.locator(`tr[data-session="${alpha}"]`).waitFor({ state: "detached" })
        expect(await page.locator("tbody tr").count()).toBe(1)
        await page.getByLabel("Search titles").fill("")
        await page.locator(`tr[data-session="${alpha}"]`).waitFor()

        const row = page.locator(`tr[data-session="${alpha}"]`)
        await row.getByLabel("Provider of alpha plans").selectOption("demo")
        await row.getByText("(from next turn)").waitFor()
        const switched = (await (await gw.api(`/sessions/${alpha}`)).json()) as { session: { pendingProvider: string } }
        expect(switched.session.pendingProvider).toBe("demo")

        const download = page.waitForEvent("download")
        await row.getByRole("button", { name: "Export" }).click()
        const file = await download
        expect(file.suggestedFilename()).toBe(`${alpha}.json`)
        expect(readFileSync((await file.path())!, "utf8")).toContain(alpha)

        const doomed = page.locator(`tr[data-session="${beta}"]`)
        await doomed.getByRole("button", { name: "Delete" }).click()
        await doomed.getByRole("button", { name: "Confirm delete" }).click()
        await doomed.waitFor({ state: "detached" })
        expect((await gw.api(`/sessions/${beta}`)).status).toBe(404)
        expect(await unlabelled(page)).toEqual([])

        await page.getByRole("link", { name: "Tools" }).click()
        const rejected = page.locator(".rejected", { hasText: "broken.ts" })
        await rejected.waitFor()
        expect((await rejected.textContent())!.length).toBeGreaterThan("broken.ts: ".length + 5) // with a reason

        await page.getByRole("link", { name: "Schedules and jobs" }).click()
        await page.getByRole("cell", { name: "water the plants", exact: true }).waitFor()

        await page.getByRole("link", { name: "Providers" }).click()
        const probes = llm.hits.length
        await page.getByRole("button", { name: "Probe all" }).click()
        await page.getByRole("button", { name: "Probe all" }).waitFor()
        expect(llm.hits.length).toBeGreaterThan(probes)
        expect(await page.getByRole("alert").count()).toBe(0)

        await page.getByRole("link", { name: "Evolution" }).click()
        const change = page.locator("details.evolution", { hasText: "a calmer tone" })
        await change.locator("summary").first().click()
        await change.locator("td code", { hasText: "prompts/tone.md" }).waitFor()
        const gate = change.locator("details.step", { hasText: "gate" }).first()
        await gate.locator("summary").click()
        expect(await change.textContent()).toContain("gate says fine")
        await change.getByRole("button", { name: "Show diff" }).click()
        await change.locator("pre.diff .add", { hasText: "+Be calm." }).waitFor()
        expect(await change.locator("pre.diff").textContent()).toContain(
          "--- /dev/null\n+++ b/prompts/tone.md\n@@ -0,0 +1,1 @@",
        )
        await page.screenshot({ path: `${ARTEFACTS}/evolution.png` })
        // A change made elsewhere shows up by itself: the view follows the evolution.* events.
        const second = await gw.api("/evolution", {
          method: "POST",
          json: { reason: "a second change", changes: [{ path: "prompts/tone.md", content: "Be calmer.\n" }] },
        })
        expect(second.status).toBe(200)
        await page.locator("details.evolution", { hasText: "a second change" }).waitFor()

        expect(blocked).toEqual([])
        expect(errors).toEqual([])
      } finally {
        await browser.close()
      }
    },
    90_000,
  )
})
