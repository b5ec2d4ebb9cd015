/**
 * An MCP stdio server is code the model can drive. The audit's case: the real
 * @modelcontextprotocol/server-filesystem, allowed the whole workspace by its own arguments, wrote
 * outside `mutableRoots`. In the OS sandbox it sees the workspace as the shell does: read-only outside
 * the mutable roots, loaded code read-only, the state folder and .env hidden.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { type Bench, bench } from "./lib.ts"

const SERVER = join(import.meta.dir, "../../node_modules/@modelcontextprotocol/server-filesystem/dist/index.js")
let b: Bench

beforeAll(async () => {
  b = await bench(
    {
      tools: { mutableRoots: ["scratch"] },
      mcp: { servers: { fs: { command: "bun", args: [SERVER, "."] } } },
    },
    { "scratch/.keep": "" },
  )
  // Wait for the server's tools to be registered.
  for (let i = 0; i < 200; i++) {
    const list = (await (await b.gw.api("/tools")).json()) as { tools: { name: string }[] }
    if (list.tools.some((tool) => tool.name === "fs.write_file")) return
    await Bun.sleep(50)
  }
  throw new Error(`the MCP server did not connect:\n${b.gw.output()}`)
}, 30_000)
afterAll(async () => {
  await b[Symbol.asyncDispose]()
})

describe("MCP filesystem server in the OS sandbox", () => {
  test("writes outside the mutable roots and into loaded code fail; secrets stay hidden; by both routes", async () => {
    const escaped: string[] = []
    for (const route of ["api", "model"] as const) {
      const run = route === "api" ? b.viaApi : b.viaModel
      await run("fs.write_file", { path: "README.md", content: "pwned" })
      if (readFileSync(b.ws.file("README.md"), "utf8") !== "inside\n") escaped.push(`${route}: README.md written`)
      await run("fs.write_file", { path: "tools/pwn.ts", content: "export default 1" })
      if (existsSync(b.ws.file("tools/pwn.ts"))) escaped.push(`${route}: tools/pwn.ts written`)
      await run("fs.write_file", { path: "prompts/system.md", content: "pwned" })
      if (readFileSync(b.ws.file("prompts/system.md"), "utf8").includes("pwned")) escaped.push(`${route}: prompt`)
      await run("fs.move_file", { source: "README.md", destination: "scratch/README.md" })
      if (!existsSync(b.ws.file("README.md"))) escaped.push(`${route}: README.md moved`)
      for (const [tool, args] of [
        ["fs.read_text_file", { path: ".drost/planted.txt" }],
        ["fs.read_text_file", { path: ".drost/control-token" }],
        ["fs.read_text_file", { path: ".env" }],
        ["fs.list_directory", { path: ".drost" }],
        ["fs.search_files", { path: ".", pattern: "planted" }],
        ["fs.read_text_file", { path: join(b.outside, "secret.txt") }],
      ] as const) {
        const result = await run(tool, args)
        const leaked = b.leaks(result.output)
        const listed = !tool.includes("read") && result.output.includes("planted.txt")
        if (leaked.length || listed)
          escaped.push(`${route} ${tool} ${JSON.stringify(args)}: ${result.output.slice(0, 120)}`)
      }
    }
    expect(escaped).toEqual([])
    expect((await b.gw.api("/healthz")).status).toBe(200)
  }, 60_000)

  test("inside the mutable roots it works", async () => {
    const result = await b.viaApi("fs.write_file", { path: "scratch/ok.txt", content: "fine" })
    expect(result.isError).toBe(false)
    expect(readFileSync(b.ws.file("scratch/ok.txt"), "utf8")).toBe("fine")
  })
})
