/**
 * The dashboard from the compiled executable: its client was bundled into the binary at compile time
 * (the macro in src/api/web/bundle.ts), so a gateway started from `drost` serves it with no source
 * tree and no node_modules beside it. Headless Chromium signs in and opens the health panel with the
 * network blocked but 127.0.0.1, and logs no console error.
 */
import { describe, expect, test } from "bun:test"
import { gzipSync } from "node:zlib"
import { prebuiltOr } from "../binary/binary.ts"
import { demoConfig } from "../lib/config.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { CHROMIUM, launch, watchedPage } from "./browser.ts"

describe("web dashboard from the compiled binary", () => {
  test.skipIf(!CHROMIUM && process.env.CI !== "true")(
    "the binary serves the bundled page; Chromium signs in and shows the gateway's health offline",
    async () => {
      expect(CHROMIUM).toBeDefined()
      const { file } = await prebuiltOr("drost")
      await using ws = await workspace({ config: demoConfig() })
      await using gw = await spawnGateway(ws.path, { command: [file] })
      const script = await fetch(`${gw.url}/ui/app.js`)
      expect(script.status).toBe(200)
      expect(script.headers.get("content-type")).toStartWith("text/javascript")
      const bytes = new Uint8Array(await script.arrayBuffer())
      // The bundle itself (Preact, htm, uPlot and the client), not a stub.
      expect(bytes.byteLength).toBeGreaterThan(50_000)
      expect(gzipSync(bytes).byteLength).toBeLessThan(250 * 1024)

      const browser = await launch()
      try {
        const { page, blocked, errors } = await watchedPage(browser)
        await page.goto(`${gw.url}/#/health`)
        await page.getByLabel("Control API token").fill(gw.token)
        await page.getByRole("button", { name: "Sign in" }).click()
        await page.getByRole("heading", { name: "Health" }).waitFor()
        await page.locator("dd .badge.ok", { hasText: "running" }).waitFor()
        expect(await page.locator("dl.facts").textContent()).toContain("demo")
        expect(blocked).toEqual([])
        expect(errors).toEqual([])
      } finally {
        await browser.close()
      }
    },
    120_000,
  )
})
