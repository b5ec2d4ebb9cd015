/**
 * Headless Chromium (Debian's, through playwright-core) for the dashboard tests, with the network
 * blocked: only 127.0.0.1 answers; any other request is recorded in `blocked` and aborted, so a test
 * can fail on it. Console errors and uncaught page errors are recorded in `errors`.
 */
import { existsSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core"

export const CHROMIUM = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"].find((file) => existsSync(file))

/** Where screenshots go: under the test temp root (kept as artefacts of the run). */
export const ARTEFACTS = join(process.env.DROST_TEST_ROOT ?? "/tmp", "web-artefacts")

export interface Watched {
  page: Page
  context: BrowserContext
  blocked: string[]
  errors: string[]
  served: string[]
  /** The Last-Event-ID header of each request for the event stream (null on the first). */
  resumes: (string | null)[]
}

export async function launch(): Promise<Browser> {
  mkdirSync(ARTEFACTS, { recursive: true })
  return chromium.launch({
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
}

export async function watchedPage(browser: Browser): Promise<Watched> {
  const context = await browser.newContext({ serviceWorkers: "block", viewport: { width: 1280, height: 800 } })
  const blocked: string[] = []
  const errors: string[] = []
  const served: string[] = []
  const resumes: (string | null)[] = []
  await context.route("**/*", (route) => {
    const target = new URL(route.request().url())
    if (target.hostname === "127.0.0.1") {
      served.push(target.pathname)
      if (target.pathname === "/control/v1/events") resumes.push(route.request().headers()["last-event-id"] ?? null)
      return route.continue()
    }
    blocked.push(route.request().url())
    return route.abort("internetdisconnected")
  })
  const page = await context.newPage()
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`)
  })
  page.on("pageerror", (error) => errors.push(`page: ${error.message}`))
  return { page, context, blocked, errors, served, resumes }
}

/** Every form control on the page that has no accessible name (label, aria-label or aria-labelledby). */
export function unlabelled(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    // The test's tsconfig has no DOM library: the few browser members used here, typed by hand.
    interface Control {
      tagName: string
      type?: string
      labels?: { length: number } | null
      textContent: string | null
      outerHTML: string
      getAttribute(name: string): string | null
    }
    const scope = globalThis as unknown as { document: { querySelectorAll(selector: string): Iterable<Control> } }
    return [...scope.document.querySelectorAll("input, select, textarea, button")]
      .filter((control) => {
        if (control.type === "hidden") return false
        if (control.labels?.length) return false
        if (control.getAttribute("aria-label") || control.getAttribute("aria-labelledby")) return false
        return !(control.tagName === "BUTTON" && control.textContent?.trim())
      })
      .map((control) => control.outerHTML.slice(0, 120))
  })
}
