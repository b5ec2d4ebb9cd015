/**
 * MCP servers as tool sources, with the real @modelcontextprotocol/server-everything over stdio: its
 * tools join the registry as `everything.<tool>`, the model calls one through the loop, the child
 * sees only the environment we give it, and a server that dies marks the gateway degraded and is
 * reconnected.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { join } from "node:path"
import { ToolsEvent } from "../../src/tool/events.ts"
import { workspace, type Workspace } from "../lib/workspace.ts"
import { type InProcess, inProcess } from "./lib.ts"

const SERVER = join(import.meta.dir, "../../node_modules/@modelcontextprotocol/server-everything/dist/index.js")
let ws: Workspace
let drost: InProcess

async function connected() {
  const status = () => drost.gw.toolset.mcp.status()[0]
  if (status()?.state !== "connected")
    await drost.gw.bus.once(ToolsEvent.McpConnected, (data) => data.server === "everything", 15_000)
  return status()!
}

beforeAll(async () => {
  process.env.DROST_TEST_PARENT_SECRET = "parent-secret-value"
  ws = await workspace()
  drost = await inProcess(ws.path, {
    mcp: {
      servers: { everything: { command: "bun", args: [SERVER, "stdio"], env: { GIVEN_TO_SERVER: "given-value" } } },
    },
  })
  await connected()
})
afterAll(async () => {
  await drost[Symbol.asyncDispose]()
  await ws[Symbol.asyncDispose]()
})

describe("MCP servers", () => {
  test("the server's tools are registered as <server>.<tool> with their schemas", () => {
    const sum = drost.gw.tools.get("everything.get-sum")
    expect(sum?.source).toBe("mcp")
    expect(sum?.parameters).toMatchObject({ type: "object", properties: { a: {}, b: {} } })
    expect(drost.gw.tools.list().filter((tool) => tool.name.startsWith("everything.")).length).toBeGreaterThanOrEqual(5)
  })

  test("the model calls an MCP tool through the loop", async () => {
    const result = await drost.call("everything.get-sum", { a: 2, b: 3 })
    expect(result.offered).toContain("everything_get-sum")
    expect(result).toMatchObject({ isError: false })
    expect(result.output).toContain("5")
    const invalid = await drost.call("everything.get-sum", { a: "two" })
    expect(invalid.isError).toBe(true)
  })

  test("the child gets an explicit environment, not ours", async () => {
    const env = await drost.call("everything.get-env", {})
    expect(env.isError).toBe(false)
    expect(env.output).toContain("given-value")
    expect(env.output).not.toContain("parent-secret-value")
    expect(env.output).not.toContain("DROST_FAKE_KEY")
  })

  test("a server that dies marks the gateway degraded and is restarted", async () => {
    const { pid } = await connected()
    expect(pid).toBeGreaterThan(0)
    const lost = drost.gw.bus.once(ToolsEvent.McpDisconnected, (data) => data.server === "everything", 10_000)
    process.kill(pid!, "SIGKILL")
    const event = await lost
    expect(event.data.retryInMs).toBeGreaterThan(0)
    expect(drost.gw.state().state).toBe("degraded")
    expect(drost.gw.state().reasons.join()).toContain("mcp:everything")
    expect(drost.gw.tools.get("everything.get-sum")).toBeUndefined()
    const back = await connected()
    expect(back.pid).not.toBe(pid)
    expect(drost.gw.state().state).toBe("running")
    expect((await drost.call("everything.get-sum", { a: 1, b: 1 })).output).toContain("2")
  })
})
