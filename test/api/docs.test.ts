/**
 * The Swagger UI at /control/v1/docs renders with the network blocked, from the compiled binary: the
 * UI's JS and CSS are embedded in the executable (`with { type: "file" }`), not fetched from a CDN.
 * A token entered in its Authorize box is used but never stored (no localStorage, gone on reload).
 *
 * The binary: `dist/drost` when it exists and is newer than every source file, else one compiled for
 * this test through build.ts (about 7 s). Needs Debian's chromium (.ci/run installs it).
 */
import { afterAll, describe, expect, test } from "bun:test"
import { existsSync, readFileSync, rmSync, statSync } from "node:fs"
import { join } from "node:path"
import { chromium } from "playwright-core"
import { buildBinary, ROOT } from "../binary/binary.ts"
import { demoConfig } from "../lib/config.ts"
import { workspace } from "../lib/workspace.ts"

const CHROMIUM = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"].find((file) => existsSync(file))
let built: string | null = null

function newestSource(): number {
  let newest = 0
  for (const file of new Bun.Glob("src/**/*").scanSync(ROOT))
    newest = Math.max(newest, statSync(join(ROOT, file)).mtimeMs)
  return Math.max(newest, statSync(join(ROOT, "package-lock.json")).mtimeMs)
}

async function binary(): Promise<string> {
  const dist = join(ROOT, "dist/drost")
  if (existsSync(dist) && statSync(dist).mtimeMs > newestSource()) return dist
  built = (await buildBinary(["--no-smoke"], "drost-docs-test")).file
  return built
}

afterAll(() => {
  if (built) rmSync(built, { force: true })
})

describe("Swagger UI offline", () => {
  test.skipIf(!CHROMIUM && process.env.CI !== "true")(
    "the compiled binary serves /control/v1/docs and headless Chromium renders every operation with the network blocked",
    async () => {
      expect(CHROMIUM).toBeDefined()
      const file = await binary()
      console.info(
        `docs test: running ${file === join(ROOT, "dist/drost") ? "dist/drost" : "a binary compiled for this test"}`,
      )
      await using ws = await workspace({ config: demoConfig() })
      const proc = Bun.spawn([file, "start", "--port", "0"], {
        cwd: ws.path,
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
        env: { ...process.env, NO_COLOR: "1" },
      })
      try {
        const decoder = new TextDecoder()
        let out = ""
        let url = ""
        for await (const chunk of proc.stdout) {
          out += decoder.decode(chunk)
          const line = out.split("\n").find((candidate) => candidate.startsWith('{"ready":true'))
          if (line) {
            url = (JSON.parse(line) as { url: string }).url
            break
          }
        }
        expect(url).toStartWith("http://127.0.0.1:")
        const browser = await chromium.launch({
          executablePath: CHROMIUM,
          headless: true,
          args: [
            "--no-sandbox",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
          ],
        })
        try {
          const context = await browser.newContext({ serviceWorkers: "block" })
          // Block the network: only the gateway on loopback answers; anything else is recorded and aborted.
          const blocked: string[] = []
          const served: string[] = []
          await context.route("**/*", (route) => {
            const target = new URL(route.request().url())
            if (target.hostname === "127.0.0.1") {
              served.push(target.pathname)
              return route.continue()
            }
            blocked.push(route.request().url())
            return route.abort("internetdisconnected")
          })
          const page = await context.newPage()
          await page.goto(`${url}/control/v1/docs`)
          await page.waitForSelector(".opblock", { timeout: 20_000 })
          const operations = await page.locator(".opblock").count()
          const text = await page.locator("#swagger-ui").textContent()
          expect(operations).toBeGreaterThanOrEqual(15)
          for (const id of ["listSessions", "runTurn", "streamEvents", "executeTool", "getUsage"])
            expect(text).toContain(id)
          expect(text).toContain("Drost Control API")
          // Authorize with the token: the UI uses it, but keeps it for the page's life only.
          const token = readFileSync(join(ws.path, ".drost/control-token"), "utf8").trim()
          await page.locator(".auth-wrapper button.authorize").click()
          await page.locator(".modal-ux .auth-container input").fill(token)
          await page.locator('.modal-ux button.authorize:has-text("Authorize")').click()
          await page.locator('.modal-ux button:has-text("Logout")').waitFor()
          await page.locator(".modal-ux button.btn-done").click()
          const held = await page.evaluate(() =>
            JSON.stringify(
              (
                globalThis as unknown as { ui: { authSelectors: { authorized(): unknown } } }
              ).ui.authSelectors.authorized(),
            ),
          )
          expect(held).toContain(token)
          const storage = () =>
            page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage } }))
          expect(await storage()).not.toContain(token)
          await page.reload()
          await page.waitForSelector(".opblock", { timeout: 20_000 })
          expect(await storage()).not.toContain(token)
          await page.locator(".auth-wrapper button.authorize").click()
          expect(await page.locator('.modal-ux button:has-text("Logout")').count()).toBe(0)
          expect(blocked).toEqual([])
          expect(served).toEqual(
            expect.arrayContaining([
              "/control/v1/docs",
              "/control/v1/docs/swagger-ui-bundle.js",
              "/control/v1/docs/swagger-ui.css",
              "/control/v1/openapi.json",
            ]),
          )
        } finally {
          await browser.close()
        }
      } finally {
        proc.kill("SIGTERM")
        await proc.exited
      }
    },
    90_000,
  )
})
