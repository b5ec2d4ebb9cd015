/**
 * The classic tricks against the file tools, through the tool route and as model turns: `..`, absolute
 * paths, `~`, /proc/self/root and /proc/self/cwd, a symlink and a hard link to the token, the state
 * folder by another spelling, credential names. None may return a planted secret or write outside.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, linkSync, readFileSync, symlinkSync } from "node:fs"
import { join } from "node:path"
import { type Bench, bench } from "./lib.ts"

let b: Bench
beforeAll(async () => {
  b = await bench({}, { "notes/keep.md": "keep\n" })
  linkSync(b.ws.file(".drost/control-token"), b.ws.file("notes/token-hardlink.txt"))
  symlinkSync(b.ws.file(".drost/planted.txt"), b.ws.file("notes/state-link.txt"))
  symlinkSync(b.outside, b.ws.file("notes/out"))
})
afterAll(async () => {
  await b[Symbol.asyncDispose]()
})

describe("file tools against the classic tricks", () => {
  test("reads: none returns a secret, by either route", async () => {
    const o = b.outsideRel
    const reads: [string, unknown][] = [
      ["file.read", { path: `${o}/secret.txt` }],
      ["file.read", { path: join(b.outside, "secret.txt") }],
      ["file.read", { path: "~/.bashrc" }],
      ["file.read", { path: `/proc/self/root${b.outside}/secret.txt` }],
      ["file.read", { path: "/proc/self/cwd/.drost/planted.txt" }],
      ["file.read", { path: `/proc/self/root${b.ws.path}/.drost/planted.txt` }],
      ["file.read", { path: "notes/token-hardlink.txt" }],
      ["file.read", { path: "notes/state-link.txt" }],
      ["file.read", { path: "notes/out/secret.txt" }],
      ["file.read", { path: "./.drost/../.drost/planted.txt" }],
      ["file.read", { path: "notes/../.drost/planted.txt" }],
      ["file.read", { path: ".env" }],
      ["file.list", { path: "notes/out" }],
      ["file.glob", { pattern: "**/*.txt" }],
      ["code.search", { pattern: "TOP-SECRET" }],
      ["code.search", { pattern: "drost_", path: "notes" }],
    ]
    const leaked: string[] = []
    for (const [tool, args] of reads)
      for (const route of ["api", "model"] as const) {
        const result = await (route === "api" ? b.viaApi : b.viaModel)(tool, args)
        const found = b.leaks(result.output)
        if (found.length) leaked.push(`${route} ${tool} ${JSON.stringify(args)}: ${found.join(", ")}`)
      }
    expect(leaked).toEqual([])
  }, 60_000)

  test("writes: none lands outside or in the state folder, by either route", async () => {
    const token = readFileSync(b.ws.file(".drost/control-token"), "utf8")
    const writes: [string, unknown][] = [
      ["file.write", { path: `${b.outsideRel}/new.txt`, content: "x" }],
      ["file.write", { path: "notes/out/new.txt", content: "x" }],
      ["file.write", { path: `/proc/self/root${b.outside}/new.txt`, content: "x" }],
      ["file.write", { path: "notes/token-hardlink.txt", content: "mine" }],
      ["file.write", { path: ".drost/control-token", content: "mine" }],
      ["file.edit", { path: "notes/token-hardlink.txt", search: "drost_", replace: "mine_" }],
      ["file.write", { path: "notes/state-link.txt", content: "mine" }],
    ]
    for (const [tool, args] of writes)
      for (const route of ["api", "model"] as const) await (route === "api" ? b.viaApi : b.viaModel)(tool, args)
    expect(existsSync(join(b.outside, "new.txt"))).toBe(false)
    expect(readFileSync(b.ws.file(".drost/control-token"), "utf8")).toBe(token)
    expect(readFileSync(b.ws.file(".drost/planted.txt"), "utf8")).toContain("TOP-SECRET")
    expect((await b.gw.api("/healthz")).status).toBe(200)
  }, 60_000)
})
