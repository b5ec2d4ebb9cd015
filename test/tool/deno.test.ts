/**
 * The Deno sandbox with the real `deno` from npm: a tool runs in `deno run` with exactly the
 * permissions it declares. Reading inside its allowed folder works; outside, the read is denied and the
 * model gets a clear error. The same web-standard file also runs under Bun in the tool host.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { workspace, type Workspace } from "../lib/workspace.ts"
import { type InProcess, inProcess } from "./lib.ts"

const DENO = join(import.meta.dir, "../../node_modules/.bin/deno")

const reader = (name: string, extra: string) => `import { defineTool } from "drost"
export default defineTool({
  name: ${JSON.stringify(name)},
  description: "reads a text file",
  parameters: { type: "object", properties: { path: { type: "string" } }, required: ["path"] },
  ${extra}
  async execute({ path }, ctx) {
    // Web-standard only (fetch of a file: URL), so the same file runs under Bun and under Deno.
    const response = await fetch(new URL(path, "file://" + ctx.workspace.root + "/"))
    return (typeof Deno === "undefined" ? "bun: " : "deno: ") + (await response.text())
  },
})
`

let ws: Workspace
let drost: InProcess
let outside: string

beforeAll(async () => {
  ws = await workspace({
    files: {
      "data/inside.txt": "inside text",
      "tools/sandboxed.ts": reader("sandboxed", 'sandbox: "deno", permissions: { read: ["data"] },'),
      "tools/plain.ts": reader("plain", ""),
      "tools/nothing.ts": reader("nothing", 'sandbox: "deno",'),
    },
  })
  outside = `${ws.path}-secret.txt`
  writeFileSync(outside, "outside secret")
  drost = await inProcess(ws.path, { tools: { deno: DENO } })
})
afterAll(async () => {
  await drost[Symbol.asyncDispose]()
  await ws[Symbol.asyncDispose]()
})

describe("Deno sandbox", () => {
  test("a sandboxed tool reads inside its allowed path", async () => {
    expect(drost.gw.tools.get("sandboxed")?.runner).toBe("deno")
    const inside = await drost.call("sandboxed", { path: "data/inside.txt" })
    expect(inside).toMatchObject({ output: "deno: inside text", isError: false })
  })

  test("reading outside the allowed path is denied with a clear error", async () => {
    const denied = await drost.call("sandboxed", { path: outside })
    expect(denied.isError).toBe(true)
    expect(denied.output).toContain("permission denied in the Deno sandbox")
    expect(denied.output).toContain(`Requires read access to "${outside}"`)
    expect(denied.output).not.toContain("outside secret")
  })

  test("a tool that declares no permissions may read nothing", async () => {
    const denied = await drost.call("nothing", { path: "data/inside.txt" })
    expect(denied.isError).toBe(true)
    expect(denied.output).toContain("permission denied")
  })

  test("the same file runs under Bun in its tool host", async () => {
    expect(drost.gw.tools.get("plain")?.runner).toBe("host")
    expect((await drost.call("plain", { path: "data/inside.txt" })).output).toBe("bun: inside text")
  })
})
