/**
 * Workspace tools while the gateway runs: a new file is called by the model on the next turn, an edit
 * (also of a helper it imports) changes the behaviour, a deletion removes it, broken files are
 * skipped with a diagnostic while the others keep working, and a hanging tool is stopped at its
 * timeout. Packages resolve from the workspace's own node_modules.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { rmSync } from "node:fs"
import { dispatch } from "../../src/gateway/commands.ts"
import { workspace, type Workspace } from "../lib/workspace.ts"
import { type InProcess, inProcess } from "./lib.ts"

const tool = (name: string, body: string, extra = "") => `import { defineTool } from "drost"
${extra}
export default defineTool({
  name: ${JSON.stringify(name)},
  description: "test tool ${name}",
  parameters: { type: "object", properties: { text: { type: "string" } }, required: ["text"], additionalProperties: false },
  async execute({ text }, ctx) { ${body} },
})
`

let ws: Workspace
let drost: InProcess

beforeAll(async () => {
  ws = await workspace({
    files: {
      "tools/keep.ts": tool("keep", "return `kept ${text}`"),
      "node_modules/shout/package.json": JSON.stringify({
        name: "shout",
        version: "1.0.0",
        type: "module",
        main: "index.js",
      }),
      "node_modules/shout/index.js": "export default (text) => text.toUpperCase() + '!'\n",
    },
  })
  drost = await inProcess(ws.path)
})
afterAll(async () => {
  await drost[Symbol.asyncDispose]()
  await ws[Symbol.asyncDispose]()
})

describe("workspace tool hot reload", () => {
  test("create, edit, edit a helper, delete: each takes effect on the next turn", async () => {
    expect((await drost.call("keep", { text: "a" })).output).toBe("kept a")
    const before = await drost.call("x", { text: "a" })
    expect(before.isError).toBe(true)
    expect(before.offered).not.toContain("x")

    ws.write("tools/x.ts", tool("x", "return `x v1 ${text}`"))
    const created = await drost.call("x", { text: "a" })
    expect(created).toMatchObject({ output: "x v1 a", isError: false })
    expect(created.offered).toContain("x")

    ws.write("tools/x.ts", tool("x", "return `x v2 ${helper(text)}`", 'import { helper } from "./lib/helper.ts"'))
    ws.write("tools/lib/helper.ts", "export const helper = (text: string) => `helper1(${text})`\n")
    expect((await drost.call("x", { text: "b" })).output).toBe("x v2 helper1(b)")
    ws.write("tools/lib/helper.ts", "export const helper = (text: string) => `helper2(${text})`\n")
    expect((await drost.call("x", { text: "b" })).output).toBe("x v2 helper2(b)")

    rmSync(ws.file("tools/x.ts"))
    const gone = await drost.call("x", { text: "c" })
    expect(gone.isError).toBe(true)
    expect(gone.output).toContain('unknown tool "x"')
    expect(gone.offered).not.toContain("x")
    expect(drost.gw.tools.get("keep")).toBeDefined()
  })

  test("arguments are validated against the tool's JSON Schema", async () => {
    const bad = await drost.call("keep", { text: 42 })
    expect(bad.isError).toBe(true)
    expect(bad.output).toContain("text: must be string")
    const extra = await drost.call("keep", { text: "a", other: 1 })
    expect(extra.output).toContain("other: unknown key")
  })

  test("broken tools are skipped with a diagnostic; the others still work", async () => {
    ws.write("tools/syntax.ts", "export default {\n")
    ws.write("tools/throws.ts", 'throw new Error("boom at import")\n')
    ws.write(
      "tools/shape.ts",
      'export default { name: "shape", description: "no execute", parameters: { type: "object" } }\n',
    )
    ws.write("tools/clash.ts", tool("file.read", "return 'shadow'"))
    ws.write(
      "tools/badschema.ts",
      tool("badschema", "return 1").replace(
        'type: "object", properties',
        'type: "object", minProperties: "many", properties',
      ),
    )
    ws.write(
      "tools/missing-dep.ts",
      tool("missing", "return String(nothing)", 'import nothing from "not-installed-pkg"'),
    )
    const still = await drost.call("keep", { text: "ok" })
    expect(still).toMatchObject({ output: "kept ok", isError: false })
    const rejected = drost.gw.tools.rejected()
    const reason = (file: string) => rejected.find((item) => item.file === `tools/${file}`)?.reason ?? "(not rejected)"
    expect(reason("syntax.ts")).toMatch(/Expected|Unexpected|end of file/i)
    expect(reason("throws.ts")).toContain("boom at import")
    expect(reason("shape.ts")).toContain("missing execute")
    expect(reason("clash.ts")).toContain("name clash")
    expect(reason("badschema.ts")).toContain("not a valid JSON Schema")
    expect(reason("missing-dep.ts")).toContain("not-installed-pkg")
    const listing = await dispatch(drost.gw, { channel: "test", sessionId: drost.sessionId, setSession() {} }, "/tools")
    expect(listing?.text).toContain("rejected")
    expect(listing?.text).toContain("boom at import")
    const status = await dispatch(drost.gw, { channel: "test", sessionId: drost.sessionId, setSession() {} }, "/status")
    expect(status?.text).toMatch(/tools: \d+ loaded, 6 rejected/)
    for (const file of ["syntax", "throws", "shape", "clash", "badschema", "missing-dep"])
      rmSync(ws.file(`tools/${file}.ts`))
    await drost.call("keep", { text: "x" })
    expect(drost.gw.tools.rejected()).toEqual([])
  })

  test("a plain object of the same shape works without importing drost; @drost/core works too", async () => {
    ws.write(
      "tools/plain.js",
      'export default { name: "plain", description: "plain object", parameters: { type: "object" }, execute: () => "plain ok" }\n',
    )
    ws.write("tools/seed.ts", tool("seed", "return `seed ${text}`").replace('from "drost"', 'from "@drost/core"'))
    expect((await drost.call("plain", {})).output).toBe("plain ok")
    expect((await drost.call("seed", { text: "name" })).output).toBe("seed name")
  })

  test("a package imported by a tool resolves from the workspace's node_modules", async () => {
    ws.write("tools/loud.ts", tool("loud", "return shout(text)", 'import shout from "shout"'))
    expect((await drost.call("loud", { text: "hey" })).output).toBe("HEY!")
  })

  test("a hanging tool is stopped at its timeout and the others keep working", async () => {
    ws.write(
      "tools/spin.ts",
      tool("spin", "while (true) {}").replace(
        'description: "test tool spin",',
        'description: "spins", timeoutMs: 300,',
      ),
    )
    const started = performance.now()
    const spun = await drost.call("spin", { text: "x" })
    expect(spun.isError).toBe(true)
    expect(spun.output).toContain("timed out after 300 ms")
    expect(performance.now() - started).toBeLessThan(5000)
    // The stuck host was killed; the next turn gets a fresh generation.
    expect((await drost.call("keep", { text: "after" })).output).toBe("kept after")
    rmSync(ws.file("tools/spin.ts"))
  })
})
