/**
 * One-time sign-in links for the dashboard: a link from POST /control/v1/dashboard/links signs a
 * browser in without typing the token, leaves no code in the address bar, works once, and a read link
 * gives the read-only view. The expiry runs on the routes' own clock.
 */
import { describe, expect, test } from "bun:test"
import { Elysia } from "elysia"
import { linkRoutes, LINK_TTL_MS } from "../../src/api/web/links.ts"
import { demoConfig } from "../lib/config.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { CHROMIUM, launch, watchedPage } from "./browser.ts"

const READ_TOKEN = "read-token-for-link-tests"

describe("dashboard sign-in links", () => {
  test.skipIf(!CHROMIUM && process.env.CI !== "true")(
    "a link signs in once and leaves no code behind; a read link is read-only; a used link is refused",
    async () => {
      expect(CHROMIUM).toBeDefined()
      await using ws = await workspace({ config: demoConfig({ controlApi: { port: 0, readToken: READ_TOKEN } }) })
      await using gw = await spawnGateway(ws.path)
      const link = async (role?: string) => {
        const response = await gw.api("/dashboard/links", { method: "POST", json: role ? { role } : {} })
        expect(response.status).toBe(201)
        return ((await response.json()) as { url: string }).url
      }
      const admin = await link()
      expect(admin).toStartWith(`${gw.url}/#/login/`)
      const browser = await launch()
      try {
        const { page, blocked, errors } = await watchedPage(browser)
        await page.goto(admin)
        await page.getByRole("navigation", { name: "Sections" }).waitFor()
        expect(await page.getByRole("textbox", { name: "Message" }).count()).toBe(1) // admin: the composer
        expect(page.url()).toBe(`${gw.url}/#/chat`)
        expect(errors).toEqual([])
        // The entry with the code was replaced: one step back is the blank page the tab started on.
        await page.goBack()
        expect(page.url()).toBe("about:blank")

        // The same link again, in a fresh tab: refused, with the reason, and the sign-in form.
        const again = await watchedPage(browser)
        await again.page.goto(admin)
        await again.page.getByRole("alert").filter({ hasText: "used already" }).waitFor()
        await again.page.getByLabel("Control API token").waitFor()
        expect(again.errors).toEqual([expect.stringContaining("404")]) // Chromium logs the refused redeem

        const reader = await watchedPage(browser)
        await reader.page.goto(await link("read"))
        await reader.page.getByText("read-only", { exact: true }).waitFor()
        await reader.page.getByText("Read-only: sign in with the admin token to send messages.").waitFor()
        const held = await reader.page.evaluate(() =>
          JSON.stringify({ ...(globalThis as unknown as { sessionStorage: object }).sessionStorage }),
        )
        expect(held).toContain(READ_TOKEN)
        expect(held).not.toContain(gw.token)
        expect(reader.errors).toEqual([])
        expect([...blocked, ...again.blocked, ...reader.blocked]).toEqual([])
      } finally {
        await browser.close()
      }
    },
    60_000,
  )

  test("a code expires after five minutes, and a read link needs a read token", async () => {
    let now = 1_000_000
    const app = new Elysia().use(linkRoutes({ admin: "admin-token", read: null, file: null }, () => now))
    const post = (path: string, body: unknown) =>
      app.handle(
        new Request(`http://127.0.0.1${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        }),
      )
    const created = (await (await post("/control/v1/dashboard/links", {})).json()) as { url: string; expiresAt: number }
    expect(created.expiresAt).toBe(now + LINK_TTL_MS)
    const code = created.url.split("#/login/")[1]!
    now += LINK_TTL_MS
    expect((await post("/ui/redeem", { code })).status).toBe(404)
    const fresh = (await (await post("/control/v1/dashboard/links", {})).json()) as { url: string }
    const redeemed = await post("/ui/redeem", { code: fresh.url.split("#/login/")[1] })
    expect(redeemed.headers.get("cache-control")).toBe("no-store")
    expect(await redeemed.json()).toEqual({ role: "admin", token: "admin-token" })
    expect((await post("/control/v1/dashboard/links", { role: "read" })).status).toBeGreaterThanOrEqual(400)
  })
})
