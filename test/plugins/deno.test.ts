/**
 * A plugin's tools under `tools.sandbox: "deno"`: like workspace tools, each call runs in `deno run`
 * (inside the OS sandbox) with exactly the tool's declared permissions; the runner picks the tool out
 * of the plugin's entry by name, so two tools of one plugin each run as themselves.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { join } from "node:path"
import { type RunningGateway, spawnGateway } from "../lib/gateway.ts"
import { workspace, type Workspace } from "../lib/workspace.ts"

const DENO = join(import.meta.dir, "../../node_modules/.bin/deno")

let ws: Workspace
let gw: RunningGateway
beforeAll(async () => {
  ws = await workspace({
    config: { plugins: ["twin"], tools: { sandbox: "deno", deno: DENO } },
    files: {
      "data/note.txt": "inside",
      "node_modules/twin/package.json": JSON.stringify({
        name: "twin",
        version: "1.0.0",
        type: "module",
        main: "index.js",
      }),
      "node_modules/twin/index.js": `import { definePlugin, defineTool } from "drost"
const where = () => (typeof Deno === "undefined" ? "bun" : "deno")
export default definePlugin({
  name: "twin",
  version: "1.0.0",
  tools: [
    defineTool({ name: "twin.one", description: "one", parameters: { type: "object" }, execute: () => "one in " + where() }),
    defineTool({
      name: "twin.read",
      description: "reads data/",
      parameters: { type: "object", properties: { path: { type: "string" } }, required: ["path"] },
      permissions: { read: ["data"] },
      execute: async ({ path }) => where() + ": " + (await Deno.readTextFile(path)),
    }),
  ],
})
`,
    },
  })
  gw = await spawnGateway(ws.path)
})
afterAll(async () => {
  await gw?.stop()
  await ws?.[Symbol.asyncDispose]()
})

const command = async (line: string) => {
  const response = await gw.api("/commands", { method: "POST", json: { line } })
  return ((await response.json()) as { text: string }).text
}

test("each of a plugin's tools runs in deno as itself, with its own permissions", async () => {
  expect(await command("/tools")).toMatch(/twin\.one\s+deno/)
  expect(await command("/tool twin.one {}")).toBe("one in deno")
  expect(await command(`/tool twin.read ${JSON.stringify({ path: "data/note.txt" })}`)).toBe("deno: inside")
  const outside = await command(`/tool twin.read ${JSON.stringify({ path: "drost.config.json" })}`)
  expect(outside).toContain("permission denied in the Deno sandbox")
})
