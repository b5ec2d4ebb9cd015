/**
 * An MCP server over streamable HTTP that restarts (issue 14 item 16): its sessions are gone, and the
 * old client's calls fail with "No valid session ID provided". The gateway notices on the first such
 * call (and by its health ping when nothing calls), reconnects with a new session as a stdio server
 * would, and shows the server's health in /status throughout.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { ToolsEvent } from "../../src/tool/events.ts"
import { type FakeMcpHttp, fakeMcpHttp } from "../fake/mcp-http.ts"
import { workspace, type Workspace } from "../lib/workspace.ts"
import { type InProcess, inProcess, runTool } from "./lib.ts"

let ws: Workspace
let drost: InProcess
let server: FakeMcpHttp

const connected = () =>
  drost.gw.bus.once(ToolsEvent.McpConnected, (data) => data.server === "remote", 15_000) as Promise<unknown>

beforeAll(async () => {
  server = fakeMcpHttp()
  ws = await workspace()
  drost = await inProcess(ws.path, { mcp: { servers: { remote: { url: server.url } } } })
  if (drost.gw.toolset.mcp.status()[0]?.state !== "connected") await connected()
})
afterAll(async () => {
  await drost[Symbol.asyncDispose]()
  await ws[Symbol.asyncDispose]()
  server.stop()
})

describe("MCP over streamable HTTP", () => {
  test("a restarted server: the next call notices, the gateway reconnects with a new session, calls work again", async () => {
    expect((await runTool(drost.gw, "remote.echo", { text: "one" })).output).toBe("echo: one")
    const before = server.sessions()
    server.restart()
    const again = connected()
    const failed = await runTool(drost.gw, "remote.echo", { text: "two" })
    expect(failed.isError).toBe(true)
    expect(failed.output).toContain("dropped the connection")
    expect(drost.gw.toolset.mcp.status()[0]?.state).toBe("waiting")
    await again
    expect(server.sessions()).toBe(before + 1)
    expect((await runTool(drost.gw, "remote.echo", { text: "three" })).output).toBe("echo: three")
    expect(drost.gw.toolset.mcp.status()[0]).toMatchObject({ state: "connected", error: null })
  }, 30_000)
})
