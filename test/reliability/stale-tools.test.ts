/**
 * Issue 14 item 18: after a tool file changes, every way in sees the current generation at once, not
 * only the next model turn: GET /control/v1/tools, POST /control/v1/tools/{name}/execute.
 */
import { expect, test } from "bun:test"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

const tool = (name: string, answer: string) => `import { defineTool } from "drost"
export default defineTool({
  name: "${name}",
  description: "answers ${answer}",
  parameters: { type: "object", properties: {} },
  execute: () => "${answer}",
})
`

test("a changed, added or deleted tool file is what the API lists and runs, with no turn in between", async () => {
  await using ws = await workspace({
    config: { providers: { profiles: [{ id: "demo", kind: "demo" }] }, controlApi: { port: 0 } },
    files: { "tools/alpha.ts": tool("alpha", "v1") },
  })
  await using gw = await spawnGateway(ws.path, { env: { CI: "true" } })
  const run = async (name: string) =>
    (await (await gw.api(`/tools/${name}/execute`, { method: "POST", json: {} })).json()) as { output?: string }
  const names = async () =>
    ((await (await gw.api("/tools")).json()) as { tools: { name: string }[] }).tools.map((item) => item.name)
  expect((await run("alpha")).output).toBe("v1")

  ws.write("tools/alpha.ts", tool("alpha", "v2-longer"))
  ws.write("tools/beta.ts", tool("beta", "beta here"))
  expect(await names()).toContain("beta")
  expect((await run("alpha")).output).toBe("v2-longer")
  expect((await run("beta")).output).toBe("beta here")

  Bun.spawnSync(["rm", ws.file("tools/beta.ts")])
  expect(await names()).not.toContain("beta")
  const gone = await gw.api("/tools/beta/execute", { method: "POST", json: {} })
  expect(gone.status).toBe(404)
}, 30_000)
