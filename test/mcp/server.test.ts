/**
 * Drost as an MCP server, driven by third-party MCP clients against a live gateway (a child process)
 * whose provider is the fake OpenAI server on 127.0.0.1: the MCP SDK's `Client` over streamable HTTP
 * (`/mcp`) and over stdio (`drost mcp serve`), and the MCP inspector's CLI over both.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import {
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js"
import { approvalEvents } from "../approval/lib.ts"
import { freePort } from "../evolve/lib.ts"
import { type FakeOpenAI, fakeOpenAI, reply } from "../fake/openai.ts"
import { demoConfig } from "../lib/config.ts"
import { ENTRY, type RunningGateway, runCli, spawnGateway } from "../lib/gateway.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"

const READ = "read-token-0123456789abcdef"
const OWN_TOOLS = ["abort_turn", "list_sessions", "read_session", "run_turn"]
/** The inspector's launcher; it runs the CLI proper with `node`. */
const INSPECTOR = join(import.meta.dir, "../../node_modules/.bin/mcp-inspector-cli")
// The inspector reads its own package.json through a path relative to the *working directory*
// ("../package.json"), so it must run from a folder whose parent holds one: its own build folder.
const INSPECTOR_CWD = join(dirname(require.resolve("@modelcontextprotocol/inspector-cli/package.json")), "build")

let llm: FakeOpenAI
let ws: Workspace
let gw: RunningGateway

beforeAll(async () => {
  llm = await fakeOpenAI()
  ws = await workspace({
    config: {
      providers: {
        profiles: [{ id: "gpt", kind: "openai", model: "gpt-test", baseUrl: llm.baseUrl, apiKeyEnv: "FAKE_KEY" }],
      },
      controlApi: { port: 0, readToken: READ, mcpTools: true },
      tools: { deny: ["shell"], approve: ["file.list"] },
    },
    files: { "notes/todo.txt": "buy milk\n" },
  })
  gw = await spawnGateway(ws.path, { env: { FAKE_KEY: "test-key" } })
})
afterAll(async () => {
  await gw?.[Symbol.asyncDispose]()
  await llm?.close()
  await ws?.[Symbol.asyncDispose]()
})

async function httpClient(token = gw.token) {
  const client = new Client({ name: "drost-test", version: "1.0.0" })
  const transport = new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  })
  await client.connect(transport)
  return {
    client,
    transport,
    async [Symbol.asyncDispose]() {
      await transport.terminateSession().catch(() => {})
      await client.close()
    },
  }
}

async function stdioClient(args: string[] = ["--url", gw.url]) {
  const client = new Client({ name: "drost-test", version: "1.0.0" })
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [ENTRY, "mcp", "serve", "--workspace", ws.path, ...args],
    env: process.env as Record<string, string>,
    stderr: "pipe",
  })
  await client.connect(transport)
  return {
    client,
    async [Symbol.asyncDispose]() {
      await client.close()
    },
  }
}

const textOf = (result: object) =>
  ((result as { content?: unknown }).content as { type: string; text?: string }[])
    .map((part) => part.text ?? "")
    .join("")

async function inspector(target: string[], method: string[]) {
  const proc = Bun.spawn([INSPECTOR, "--cli", ...target, ...method], {
    cwd: INSPECTOR_CWD,
    env: process.env,
    stdout: "pipe",
    stderr: "pipe",
  })
  const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000)
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  clearTimeout(timer)
  if (code !== 0) throw new Error(`inspector exited ${code}:\n${stdout}\n${stderr}`)
  return JSON.parse(stdout) as Record<string, unknown>
}

describe("MCP over streamable HTTP (/mcp)", () => {
  test("the SDK client runs turns in a named session, lists and reads sessions, reads them as resources", async () => {
    await using mcp = await httpClient()
    const { client } = mcp
    expect(client.getServerVersion()?.name).toBe("drost")
    const tools = (await client.listTools()).tools.map((tool) => tool.name)
    expect(tools).toEqual(expect.arrayContaining([...OWN_TOOLS, "file.read", "file.list"]))

    const bad = await client.callTool({ name: "run_turn", arguments: { session: "geo" } })
    expect(bad.isError).toBe(true)
    expect(textOf(bad)).toContain("input")

    llm.queue(reply().text("Paris is the capital of France."))
    const first = await client.callTool({
      name: "run_turn",
      arguments: { input: "capital of France?", session: "geo" },
    })
    expect(first.isError).toBeFalsy()
    expect(textOf(first)).toBe("Paris is the capital of France.")
    const sessionId = (first.structuredContent as { sessionId: string }).sessionId
    expect(sessionId).toMatch(/^ses_/)

    // The same name continues the same session: the model sees the earlier exchange.
    llm.queue(reply().text("About 2.1 million people."))
    const second = await client.callTool({
      name: "run_turn",
      arguments: { input: "and its population?", session: "geo" },
    })
    expect(textOf(second)).toBe("About 2.1 million people.")
    expect((second.structuredContent as { sessionId: string }).sessionId).toBe(sessionId)
    const sent = JSON.stringify(llm.hits.at(-1)!.body)
    expect(sent).toContain("capital of France?")
    expect(sent).toContain("Paris is the capital of France.")

    const listed = await client.callTool({ name: "list_sessions", arguments: { channel: "mcp" } })
    const sessions = (listed.structuredContent as { sessions: { id: string; title: string; messageCount: number }[] })
      .sessions
    expect(sessions).toContainEqual(expect.objectContaining({ id: sessionId, title: "geo", messageCount: 4 }))
    expect(textOf(listed)).toContain(sessionId)

    const read = await client.callTool({ name: "read_session", arguments: { session: "geo" } })
    expect(textOf(read)).toContain("user: capital of France?")
    expect(textOf(read)).toContain("assistant: About 2.1 million people.")

    const resources = (await client.listResources()).resources
    expect(resources).toContainEqual(expect.objectContaining({ uri: `drost://sessions/${sessionId}`, title: "geo" }))
    const resource = await client.readResource({ uri: `drost://sessions/${sessionId}` })
    expect((resource.contents[0] as { text: string }).text).toContain("assistant: Paris is the capital of France.")
    await expect(client.readResource({ uri: "drost://sessions/ses_nothere" })).rejects.toThrow(/no such resource/)

    // The session is the gateway's: the Control API shows the same messages.
    const detail = (await (await gw.api(`/sessions/${sessionId}`)).json()) as { messages: { role: string }[] }
    expect(detail.messages.map((message) => message.role)).toEqual(["user", "assistant", "user", "assistant"])
  })

  test("a turn streams its text as progress, and a cancelled request aborts its turn", async () => {
    await using mcp = await httpClient()
    const { client } = mcp
    llm.queue(reply().text("Streaming this answer in several pieces for the client."))
    const progress: string[] = []
    const streamed = await client.callTool(
      { name: "run_turn", arguments: { input: "stream", session: "live" } },
      undefined,
      {
        onprogress: (note) => progress.push(note.message ?? ""),
      },
    )
    expect(textOf(streamed)).toBe("Streaming this answer in several pieces for the client.")
    expect(progress.length).toBeGreaterThan(0)
    expect(progress.join("")).toBe("Streaming this answer in several pieces for the client.")

    // notifications/cancelled reaches the server that runs the call (stateful sessions): the turn stops.
    llm.queue(reply().hang())
    const before = llm.hits.length
    const controller = new AbortController()
    const hanging = client.callTool(
      { name: "run_turn", arguments: { input: "never mind", session: "live" } },
      undefined,
      {
        signal: controller.signal,
      },
    )
    await llm.wait(before + 1)
    controller.abort("changed my mind")
    await expect(hanging).rejects.toThrow()
    // Turns of a session run in order: once the next one answers, the cancelled one has ended.
    llm.queue(reply().text("Still here."))
    const next = await client.callTool({ name: "run_turn", arguments: { input: "still there?", session: "live" } })
    expect(textOf(next)).toBe("Still here.")
    const id = (next.structuredContent as { sessionId: string }).sessionId

    // abort_turn, from another client, stops the running turn; its caller gets the reason.
    llm.queue(reply().hang())
    const waiting = llm.hits.length
    const running = client.callTool({ name: "run_turn", arguments: { input: "long job", session: "live" } })
    await llm.wait(waiting + 1)
    await using other = await httpClient()
    const aborted = await other.client.callTool({ name: "abort_turn", arguments: { session: "live" } })
    expect(aborted.structuredContent).toEqual({ aborted: true })
    const ended = await running
    expect(ended.isError).toBe(true)
    expect(textOf(ended)).toContain("aborted by the MCP client")
    const detail = (await (await gw.api(`/sessions/${id}`)).json()) as { turns: { status: string; error: string }[] }
    expect(detail.turns).toContainEqual(
      expect.objectContaining({ status: "failed", error: expect.stringContaining("cancelled by the MCP client") }),
    )
  })

  test("resources: the list-changed notification for a new session, updates for a subscribed one", async () => {
    // Server notifications travel on the MCP session's GET stream: know when the client has it open.
    let streaming!: () => void
    const opened = new Promise<void>((resolve) => {
      streaming = resolve
    })
    const client = new Client({ name: "drost-test", version: "1.0.0" })
    const transport = new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${gw.token}` } },
      fetch: async (input, init) => {
        const response = await fetch(input, init)
        if (init?.method === "GET" && response.ok) streaming()
        return response
      },
    })
    let changed!: () => void
    const listChanged = new Promise<void>((resolve) => {
      changed = resolve
    })
    client.setNotificationHandler(ResourceListChangedNotificationSchema, () => changed())
    const updates: string[] = []
    let updated: () => void = () => {}
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (note) => {
      updates.push(note.params.uri)
      updated()
    })
    await client.connect(transport)
    expect(client.getServerCapabilities()?.resources).toEqual({ subscribe: true, listChanged: true })
    await opened

    llm.queue(reply().text("Watching."))
    const first = await client.callTool({ name: "run_turn", arguments: { input: "watch me", session: "watched" } })
    await listChanged
    const uri = `drost://sessions/${(first.structuredContent as { sessionId: string }).sessionId}`
    expect(updates).toEqual([]) // not subscribed yet
    await client.subscribeResource({ uri })
    const arrived = new Promise<void>((resolve) => {
      updated = resolve
    })
    llm.queue(reply().text("Still watching."))
    await client.callTool({ name: "run_turn", arguments: { input: "again", session: "watched" } })
    await arrived
    expect(updates[0]).toBe(uri)
    await expect(client.subscribeResource({ uri: "drost://sessions/ses_nothere" })).rejects.toThrow(/no such resource/)
    await transport.terminateSession()
    await client.close()
  })

  test("the gateway's tools keep the model's policy, boundary and approvals", async () => {
    await using mcp = await httpClient()
    const { client } = mcp
    const tools = (await client.listTools()).tools.map((tool) => tool.name)
    // tools.deny: the model is not offered the shell, so neither is an MCP client.
    expect(tools).not.toContain("shell")
    await expect(client.callTool({ name: "shell", arguments: { command: "id" } })).rejects.toThrow(
      /unknown tool "shell"/,
    )

    const read = await client.callTool({ name: "file.read", arguments: { path: "notes/todo.txt" } })
    expect(read.isError).toBeFalsy()
    expect(textOf(read)).toContain("buy milk")
    // The state folder is out of reach, as for the model.
    const token = await client.callTool({ name: "file.read", arguments: { path: ".drost/control-token" } })
    expect(token.isError).toBe(true)
    expect(textOf(token)).not.toContain(gw.token)

    // tools.approve: the call waits for a person, then runs.
    const events = approvalEvents(gw)
    const pending = client.callTool({ name: "file.list", arguments: { path: "notes" } })
    const requested = await events.next("approval.requested", (data) => data.tool === "file.list")
    expect(requested.sessionId).toBe("mcp")
    const decided = await gw.api(`/approvals/${requested.id}`, { method: "POST", json: { decision: "approve" } })
    expect(decided.status).toBe(200)
    const listed = await pending
    events.close()
    expect(listed.isError).toBeFalsy()
    expect(textOf(listed)).toContain("todo.txt")
  })

  test("behind the Control API's front door: token, read token, Origin, sessions", async () => {
    const initialize = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "curl", version: "1" } },
    })
    const post = (headers: Record<string, string>, body = initialize) =>
      fetch(`${gw.url}/mcp`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
        body,
      })
    expect((await post({})).status).toBe(401)
    expect((await post({ authorization: "Bearer wrong-token-0123456789" })).status).toBe(401)
    expect((await post({ authorization: `Bearer ${READ}` })).status).toBe(403)
    const fromPage = await post({ authorization: `Bearer ${gw.token}`, origin: "https://evil.example" })
    expect(fromPage.status).toBe(403)
    expect(((await fromPage.json()) as { message: string }).message).toContain("evil.example")
    const rebinding = await fetch(`${gw.url}/mcp`, {
      method: "POST",
      headers: { host: "evil.example", authorization: `Bearer ${gw.token}`, "content-type": "application/json" },
      body: initialize,
    })
    expect(rebinding.status).toBe(421)
    await expect(httpClient("wrong-token-0123456789")).rejects.toThrow()

    const opened = await post({ authorization: `Bearer ${gw.token}`, origin: "http://localhost:3000" })
    expect(opened.status).toBe(200)
    const id = opened.headers.get("mcp-session-id")!
    expect(id).toMatch(/^mcps_/)
    await opened.body?.cancel()
    // A session ends with DELETE; its id is unknown afterwards.
    const ended = await fetch(`${gw.url}/mcp`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${gw.token}`, "mcp-session-id": id },
    })
    expect(ended.status).toBe(200)
    const after = await post(
      { authorization: `Bearer ${gw.token}`, "mcp-session-id": id },
      JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }),
    )
    expect(after.status).toBe(404)
    const get = await fetch(`${gw.url}/mcp`, { headers: { authorization: `Bearer ${gw.token}` } })
    expect(get.status).toBe(400)
    // At most 64 MCP sessions: opening more closes the least recently used ones (here, the first).
    const ids: string[] = []
    for (let n = 0; n < 65; n++) {
      const response = await post({ authorization: `Bearer ${gw.token}` })
      ids.push(response.headers.get("mcp-session-id")!)
      await response.body?.cancel()
    }
    const list = (session: string) =>
      post(
        { authorization: `Bearer ${gw.token}`, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" },
        JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/list" }),
      )
    expect((await list(ids[0]!)).status).toBe(404)
    const newest = await list(ids[64]!)
    expect(newest.status).toBe(200)
    expect(await newest.text()).toContain("run_turn")
    // The read token cannot open a session's event stream either.
    const stream = await fetch(`${gw.url}/mcp`, { headers: { authorization: `Bearer ${READ}`, "mcp-session-id": id } })
    expect(stream.status).toBe(403)
  })

  test("the MCP inspector CLI lists the tools and runs a turn", async () => {
    const target = [`${gw.url}/mcp`, "--transport", "http", "--header", `Authorization: Bearer ${gw.token}`]
    const listed = (await inspector(target, ["--method", "tools/list"])) as { tools: { name: string }[] }
    expect(listed.tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(OWN_TOOLS))

    llm.queue(reply().text("Inspected over HTTP."))
    const called = await inspector(target, [
      "--method",
      "tools/call",
      "--tool-name",
      "run_turn",
      "--tool-arg",
      "input=hello from the inspector",
      "--tool-arg",
      "session=inspector-http",
    ])
    expect(textOf(called)).toBe("Inspected over HTTP.")
    const stored = (await (await gw.api("/sessions?channel=mcp&q=inspector-http")).json()) as { total: number }
    expect(stored.total).toBe(1)
  })
})

test("without controlApi.mcpTools the gateway's tools are not offered", async () => {
  await using plain = await workspace({ config: demoConfig() })
  await using other = await spawnGateway(plain.path)
  const client = new Client({ name: "drost-test", version: "1.0.0" })
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${other.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${other.token}` } },
    }),
  )
  expect((await client.listTools()).tools.map((tool) => tool.name).sort()).toEqual(OWN_TOOLS)
  await expect(client.callTool({ name: "file.read", arguments: { path: "x" } })).rejects.toThrow(/unknown tool/)
  await client.close()
})

describe("MCP over stdio (drost mcp serve)", () => {
  test("the SDK client runs a turn through the bridge and sees the sessions other transports made", async () => {
    await using mcp = await stdioClient()
    const { client } = mcp
    expect(client.getServerVersion()?.name).toBe("drost")
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(OWN_TOOLS))

    llm.queue(reply().text("Answered over stdio."))
    const result = await client.callTool({ name: "run_turn", arguments: { input: "over stdio", session: "piped" } })
    expect(textOf(result)).toBe("Answered over stdio.")
    // One gateway, one database: the sessions made over HTTP are here too.
    const listed = (await client.callTool({ name: "list_sessions", arguments: { channel: "mcp" } }))
      .structuredContent as { sessions: { title: string }[] }
    expect(listed.sessions.map((session) => session.title)).toEqual(expect.arrayContaining(["piped", "geo"]))
    const resource = await client.readResource({
      uri: (await client.listResources()).resources.find((entry) => entry.title === "piped")!.uri,
    })
    expect((resource.contents[0] as { text: string }).text).toContain("user: over stdio")
  })

  test("the bridge outlives a gateway restart: it waits for the new one and opens a new MCP session", async () => {
    const port = freePort()
    await using restarted = await workspace({
      config: {
        providers: {
          profiles: [{ id: "gpt", kind: "openai", model: "gpt-test", baseUrl: llm.baseUrl, apiKeyEnv: "FAKE_KEY" }],
        },
        controlApi: { port },
      },
    })
    const env = { FAKE_KEY: "test-key" }
    const first = await spawnGateway(restarted.path, { env })
    // No --url: the bridge finds the gateway from the workspace's config and token file.
    const client = new Client({ name: "drost-test", version: "1.0.0" })
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [ENTRY, "mcp", "serve", "--workspace", restarted.path],
      env: process.env as Record<string, string>,
      stderr: "pipe",
    })
    let stderr = ""
    transport.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    await client.connect(transport)
    llm.queue(reply().text("Before the restart."))
    const before = await client.callTool({ name: "run_turn", arguments: { input: "one", session: "survivor" } })
    expect(textOf(before)).toBe("Before the restart.")

    expect(await first.stop()).toBe(0)
    // Asked while no gateway runs: the bridge keeps trying until the new one answers.
    llm.queue(reply().text("After the restart."))
    const asked = client.callTool({ name: "run_turn", arguments: { input: "two", session: "survivor" } })
    await using second = await spawnGateway(restarted.path, { env })
    const after = await asked
    expect(textOf(after)).toBe("After the restart.")
    expect((after.structuredContent as { sessionId: string }).sessionId).toBe(
      (before.structuredContent as { sessionId: string }).sessionId,
    )
    const read = await client.callTool({ name: "read_session", arguments: { session: "survivor" } })
    expect(textOf(read)).toContain("user: one")
    expect(textOf(read)).toContain("assistant: After the restart.")
    expect(stderr).toContain("the gateway restarted; opened a new MCP session")
    await client.close()
    await second.stop()
  })

  test("the MCP inspector CLI runs a turn over stdio", async () => {
    const target = [process.execPath, ENTRY, "mcp", "serve", "--workspace", ws.path, "--url", gw.url]
    llm.queue(reply().text("Inspected over stdio."))
    const called = await inspector(target, [
      "--method",
      "tools/call",
      "--tool-name",
      "run_turn",
      "--tool-arg",
      "input=hello over stdio",
    ])
    expect(textOf(called)).toBe("Inspected over stdio.")
    const listed = (await inspector(target, ["--method", "tools/list"])) as { tools: { name: string }[] }
    expect(listed.tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(OWN_TOOLS))
  })

  test("without a running gateway: one line on stderr, exit 1, nothing on stdout", async () => {
    await using empty = await workspace()
    const free = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() })
    const url = `http://127.0.0.1:${free.port}`
    await free.stop(true)
    const result = await runCli(["mcp", "serve", "--url", url], {
      cwd: empty.path,
      stdin: "pipe",
      env: { DROST_CONTROL_ADMIN_TOKEN: "some-token-0123456789" },
    })
    expect(result.code).toBe(1)
    expect(result.stdout).toBe("")
    expect(result.stderr.trim().split("\n")).toEqual([
      `drost: no gateway answers at ${url} (ECONNREFUSED); start it with drost start, or pass --url`,
    ])
    // In a workspace where no gateway runs: the same message as drost status, and nothing is created.
    const here = await runCli(["mcp", "serve"], { cwd: empty.path, stdin: "pipe" })
    expect(here.code).toBe(1)
    expect(here.stdout).toBe("")
    expect(here.stderr.trim().split("\n")).toEqual([
      `drost: no gateway is running on ${empty.path}; start it with drost start (or pass --url for one elsewhere)`,
    ])
    expect(readdirSync(empty.path)).toEqual([])
    const refused = await runCli(["mcp", "serve", "--url", gw.url], {
      cwd: empty.path,
      env: { DROST_CONTROL_ADMIN_TOKEN: "not-the-token-0123456789" },
    })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain("refused the token")
  })
})
