/**
 * Plugins through the real gateway (a child process, HTTP): the example plugin in examples/plugin-hello,
 * installed by copy into a workspace's node_modules, adds a tool the model calls (fake OpenAI server),
 * a provider a session answers on and a command answered by POST /control/v1/commands; Drost's own demo
 * provider is served through the plugin interface; broken plugins are skipped with their reasons while
 * the gateway stays healthy; a plugin's tools run confined and under the tool policy; and the model
 * cannot install a plugin (node_modules and the config are loaded code).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { cpSync } from "node:fs"
import { join } from "node:path"
import { boundaryOf, classify } from "../../src/workspace/boundary.ts"
import { fakeOpenAI, reply, type FakeOpenAI } from "../fake/openai.ts"
import { type RunningGateway, runCli, spawnGateway } from "../lib/gateway.ts"
import { workspace, type Workspace } from "../lib/workspace.ts"

const ROOT = join(import.meta.dir, "../..")

/** Install the example plugin the way `npm install` lays it out (a copy; it has no dependencies). */
function installExample(ws: Workspace) {
  cpSync(join(ROOT, "examples/plugin-hello"), ws.file("node_modules/plugin-hello"), { recursive: true })
}

/** A plugin whose settings schema is TypeBox (its own copy, as its dependency would be installed). */
function installTyped(ws: Workspace) {
  cpSync(join(ROOT, "node_modules/@sinclair/typebox"), ws.file("node_modules/@sinclair/typebox"), {
    recursive: true,
  })
  ws.write(
    "node_modules/typed/package.json",
    JSON.stringify({ name: "typed", version: "1.0.0", type: "module", main: "index.js" }),
  )
  ws.write(
    "node_modules/typed/index.js",
    `import { Type } from "@sinclair/typebox"
import { definePlugin } from "drost"
export default definePlugin({
  name: "typed",
  version: "1.0.0",
  config: Type.Object({ port: Type.Integer({ minimum: 1 }), mode: Type.Union([Type.Literal("a"), Type.Literal("b")], { default: "a" }) }),
  commands: [{ name: "typed", help: "show the settings", run: (_arg, { config }) => JSON.stringify(config) }],
})
`,
  )
}

const command = async (gw: RunningGateway, line: string, sessionId: string | null = null) => {
  const response = await gw.api("/commands", { method: "POST", json: { line, sessionId } })
  expect(response.status).toBe(200)
  return ((await response.json()) as { text: string }).text
}

const turn = async (gw: RunningGateway, sessionId: string, input: string) => {
  const response = await gw.api(`/sessions/${sessionId}/turn`, { method: "POST", json: { input } })
  expect(response.status).toBe(200)
  return (await response.json()) as { status: string; text: string; reason: string | null }
}

const session = async (gw: RunningGateway, provider?: string) => {
  const response = await gw.api("/sessions", { method: "POST", json: provider ? { provider } : {} })
  expect(response.status).toBe(201)
  return ((await response.json()) as { id: string }).id
}

describe("the example plugin (examples/plugin-hello)", () => {
  let ws: Workspace
  let llm: FakeOpenAI
  let gw: RunningGateway

  beforeAll(async () => {
    llm = await fakeOpenAI({ key: null })
    ws = await workspace({
      config: {
        plugins: ["plugin-hello", "drost-demo", "typed"],
        pluginConfig: { "plugin-hello": { greeting: "Howdy" }, typed: { port: 8080 } },
        providers: {
          defaultSessionProvider: "gpt",
          profiles: [
            { id: "gpt", kind: "openai-compatible", baseUrl: llm.baseUrl, model: "gpt-test" },
            { id: "hello", kind: "plugin", plugin: "plugin-hello" },
            { id: "viaplugin", kind: "plugin", plugin: "drost-demo:demo" },
          ],
        },
      },
      files: {
        "README.md": "a workspace for the plugin test\n",
        // Drost's own demo provider as a plugin package (test/plugins/demo-plugin.ts, checked by tsc).
        "node_modules/drost-demo/package.json": JSON.stringify({
          name: "drost-demo",
          version: "0.1.0",
          main: "index.ts",
        }),
        "node_modules/drost-demo/index.ts": `export { default } from ${JSON.stringify(join(import.meta.dir, "demo-plugin.ts"))}\n`,
      },
    })
    installExample(ws)
    installTyped(ws)
    gw = await spawnGateway(ws.path)
  })
  afterAll(async () => {
    await gw?.stop()
    await llm?.close()
    await ws?.[Symbol.asyncDispose]()
  })

  test("its tool is called by a model turn, in the sandboxed tool host", async () => {
    llm.queue(reply().tool("hello.greet", { name: "Ada" }), reply().text("greeted"))
    const id = await session(gw)
    const result = await turn(gw, id, "greet Ada")
    expect(result).toMatchObject({ status: "completed", text: "greeted" })
    // The model saw the tool on offer and got its result back.
    const first = JSON.stringify(llm.requests("chat")[0]!.body)
    expect(first).toContain("hello.greet")
    const second = JSON.stringify(llm.requests("chat")[1]!.body)
    expect(second).toContain("Hello, Ada! (hello.greet from plugin-hello)")
    const tools = await command(gw, "/tools")
    expect(tools).toContain("hello.greet")
    expect(tools).toMatch(/hello\.greet\s+host/) // served by a tool host, like workspace tools
  })

  test("a session on its provider answers, with the plugin's validated settings", async () => {
    const id = await session(gw, "hello")
    expect(await turn(gw, id, "good morning")).toMatchObject({
      status: "completed",
      text: "Howdy! You said: good morning",
    })
  })

  test("its command answers through POST /control/v1/commands and is in /help", async () => {
    expect(await command(gw, "/hello Ada")).toBe("Howdy, Ada! (plugin-hello 1.0.0)")
    expect(await command(gw, "/help")).toContain("/hello [name]")
  })

  test("a TypeBox settings schema: checked, and its defaults filled in", async () => {
    expect(JSON.parse(await command(gw, "/typed"))).toEqual({ port: 8080, mode: "a" })
  })

  test("Drost's demo provider, served through the plugin interface, runs a turn with a real tool call", async () => {
    const id = await session(gw, "viaplugin")
    const result = await turn(gw, id, "read README.md")
    expect(result.status).toBe("completed")
    expect(result.text).toContain("a workspace for the plugin test")
  })

  test("/status lists the plugins and what each adds; the gateway is running", async () => {
    const status = await command(gw, "/status")
    expect(status).toContain("state: running")
    expect(status).toContain("plugin plugin-hello 1.0.0: loaded (tools hello.greet; providers echo; commands hello)")
    expect(status).toContain("plugin drost-demo 0.1.0: loaded (providers demo)")
  })
})

describe("broken plugins, confinement and the trust boundary", () => {
  let ws: Workspace
  let gw: RunningGateway
  const pkg = (name: string, source: string) => ({
    [`node_modules/${name}/package.json`]: JSON.stringify({ name, version: "1.0.0", type: "module", main: "index.js" }),
    [`node_modules/${name}/index.js`]: source,
  })

  beforeAll(async () => {
    ws = await workspace({
      config: {
        plugins: ["throws", "missing", "wrong-name", "plugin-hello", "typed", "probe", "bridge"],
        pluginConfig: { "plugin-hello": { greeting: 42 }, typed: { port: 0, mode: "c" } },
        providers: {
          profiles: [
            { id: "demo", kind: "demo" },
            { id: "bad", kind: "plugin", plugin: "bridge:bad" },
          ],
        },
        tools: { deny: ["probe.denied"], approve: ["probe.ask"] },
      },
      files: {
        ...pkg("throws", 'throw new Error("cannot start: no licence key")\n'),
        ...pkg("wrong-name", 'export default { name: "other", version: "1.0.0" }\n'),
        ...pkg(
          "bridge",
          `import { definePlugin } from "drost"
const seen = { answer: null, command: null, error: null }
export default definePlugin({
  name: "bridge",
  version: "1.0.0",
  channels: [
    {
      name: "bridge",
      start(ctx) {
        const timer = setTimeout(async () => {
          try {
            seen.answer = await ctx.send({ text: "hello from the bridge" })
            seen.command = await ctx.command("/session", seen.answer.sessionId)
          } catch (error) { seen.error = String(error) }
        }, 10)
        return { stop: () => clearTimeout(timer) }
      },
    },
    { name: "broken", start() { throw new Error("no socket") } },
  ],
  providers: [{
    name: "bad",
    create: ({ profile }) => ({ id: profile.id, kind: "x", model: "bad-1", async *stream() { yield { type: "text", delta: "partial " }; throw new Error("wire snapped") } }),
  }],
  routes: [{ method: "GET", path: "/seen", handler: () => Response.json(seen) }],
})
`,
        ),
        ...pkg(
          "probe",
          `import { readFileSync } from "node:fs"
import { definePlugin, defineTool } from "drost"
const reach = defineTool({
  name: "probe.reach",
  description: "What can this tool reach?",
  parameters: { type: "object", properties: {} },
  execute(_args, ctx) {
    let token
    try { token = "read " + readFileSync(ctx.workspace.root + "/.drost/control-token", "utf8").length + " bytes" }
    catch (error) { token = "refused: " + error.code }
    return JSON.stringify({ pid: process.pid, token })
  },
})
const ask = defineTool({ name: "probe.ask", description: "waits for approval", parameters: { type: "object" }, execute: () => "asked ok" })
const denied = defineTool({ name: "probe.denied", description: "denied by policy", parameters: { type: "object" }, execute: () => "ran" })
export default definePlugin({
  name: "probe",
  version: "2.0.0",
  tools: [reach, denied, ask],
  commands: [{ name: "probe", help: "probe", run: () => "probe here" }],
  routes: [
    { method: "GET", path: "/ping", handler: () => Response.json({ pong: true }) },
    { method: "POST", path: "/echo", handler: async (request) => new Response("echo " + (await request.text())) },
  ],
})
`,
        ),
      },
    })
    installExample(ws)
    installTyped(ws)
    gw = await spawnGateway(ws.path)
  })
  afterAll(async () => {
    await gw?.stop()
    await ws?.[Symbol.asyncDispose]()
  })

  test("each broken plugin is skipped with its reason; the gateway stays healthy and the good one works", async () => {
    const ready = await fetch(`${gw.url}/healthz`)
    expect(ready.status).toBe(200)
    const status = await command(gw, "/status")
    expect(status).toContain("state: running")
    expect(status).toContain("plugin throws 1.0.0: failed — it threw while loading: cannot start: no licence key")
    expect(status).toContain("plugin missing: failed — not installed: node_modules/missing/package.json does not exist")
    expect(status).toContain(
      'plugin wrong-name 1.0.0: failed — it declares the name "other", but is installed and listed as "wrong-name"',
    )
    // Its own schema checked its settings; the problem names the plugin and the key.
    expect(status).toContain(
      'plugin plugin-hello 1.0.0: failed — invalid settings: pluginConfig["plugin-hello"].greeting: must be string',
    )
    expect(status).toContain('plugin typed 1.0.0: failed — invalid settings: pluginConfig["typed"].mode: ')
    expect(status).toContain('pluginConfig["typed"].port: expected integer to be greater or equal to 1, got number 0')
    expect(status).toContain(
      "plugin probe 2.0.0: loaded (tools probe.reach, probe.denied, probe.ask; commands probe; routes GET /ping, POST /echo)",
    )
    expect(await command(gw, "/probe")).toBe("probe here")
    // drost status, from GET /control/v1/status.
    const cli = await runCli(["status"], { cwd: ws.path })
    expect(cli.stdout).toContain("  ✗ throws 1.0.0 skipped: it threw while loading: cannot start: no licence key")
    expect(cli.stdout).toContain("  ✓ probe 2.0.0")
    // A skipped plugin adds nothing: no command, no tool.
    expect(await command(gw, "/hello")).toContain("unknown command /hello")
    expect(await command(gw, "/tools")).not.toContain("hello.greet")
  })

  test("GET /control/v1/plugins lists them; a plugin's routes answer behind the Control API token", async () => {
    const list = (await (await gw.api("/plugins")).json()) as { plugins: { name: string; state: string }[] }
    expect(list.plugins.map((plugin) => `${plugin.name} ${plugin.state}`)).toEqual([
      "throws failed",
      "missing failed",
      "wrong-name failed",
      "plugin-hello failed",
      "typed failed",
      "probe loaded",
      "bridge loaded",
    ])
    expect(await (await gw.api("/plugins/probe/ping")).json()).toEqual({ pong: true })
    const echo = await gw.api("/plugins/probe/echo", { method: "POST", body: "hi there" })
    expect(await echo.text()).toBe("echo hi there")
    expect((await fetch(`${gw.url}/control/v1/plugins/probe/ping`)).status).toBe(401)
    expect((await gw.api("/plugins/probe/nothing")).status).toBe(404)
  })

  test("a plugin channel runs turns and commands as its own channel; one that throws at start is noted", async () => {
    type Seen = {
      answer: { sessionId: string; text: string } | null
      command: { text: string; sessionId: string | null } | null
      error: string | null
    }
    let seen: Seen = { answer: null, command: null, error: null }
    for (let i = 0; i < 200 && !seen.command && !seen.error; i++) {
      seen = (await (await gw.api("/plugins/bridge/seen")).json()) as Seen
      if (!seen.command && !seen.error) await Bun.sleep(25)
    }
    expect(seen.error).toBeNull()
    expect(seen.answer!.text).toContain("offline demo provider")
    expect(seen.command!.text).toBe(`current session: ${seen.answer!.sessionId}`)
    const mine = (await (await gw.api("/sessions?channel=bridge")).json()) as { sessions: { id: string }[] }
    expect(mine.sessions.map((item) => item.id)).toEqual([seen.answer!.sessionId])
    expect(await command(gw, "/status")).toContain(
      "plugin bridge 1.0.0: loaded (providers bad; routes GET /seen; channels bridge, broken) — channel broken did not start: no socket",
    )
  })

  test("a plugin provider whose stream throws fails the turn with the reason; the gateway carries on", async () => {
    const id = await session(gw, "bad")
    const result = await turn(gw, id, "hi")
    expect(result.status).toBe("failed")
    expect(result.reason).toContain("plugin bridge: wire snapped")
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200)
  })

  test("a plugin's tool runs in the sandboxed tool host under the tool policy, not in the gateway", async () => {
    const out = JSON.parse(await command(gw, "/tool probe.reach {}")) as { pid: number; token: string }
    expect(out.pid).not.toBe(gw.pid)
    expect(out.token).toStartWith("refused") // .drost/ is hidden from tool hosts
    expect(await command(gw, "/tool probe.denied {}")).toStartWith("error:")
    expect(await command(gw, "/tool probe.denied {}")).not.toContain("ran")
  })

  test("a plugin's tool listed in tools.approve waits for a person, then runs", async () => {
    const call = command(gw, "/tool probe.ask {}")
    let pending: { id: string; tool: string }[] = []
    for (let i = 0; i < 200 && pending.length === 0; i++) {
      pending = ((await (await gw.api("/approvals")).json()) as { approvals: { id: string; tool: string }[] }).approvals
      if (pending.length === 0) await Bun.sleep(25)
    }
    expect(pending.map((item) => item.tool)).toEqual(["probe.ask"])
    const decided = await gw.api(`/approvals/${pending[0]!.id}`, { method: "POST", json: { decision: "approve" } })
    expect(decided.status).toBe(200)
    expect(await call).toBe("asked ok")
  })

  test("the model cannot install a plugin: node_modules and the config are loaded code", async () => {
    const boundary = boundaryOf({
      workspaceDir: ws.path,
      stateDir: ws.file(".drost"),
      file: ws.file("drost.config.json"),
    })
    expect(classify(boundary, ws.file("node_modules/evil/index.js"))?.kind).toBe("code")
    expect(classify(boundary, ws.file("drost.config.json"))?.kind).toBe("code")
    // Through the gateway's own file tool, as a model would call it.
    const write = await command(
      gw,
      `/tool file.write ${JSON.stringify({ path: "node_modules/evil/package.json", content: "{}" })}`,
    )
    expect(write).toContain("loaded code")
    const config = await command(gw, `/tool file.write ${JSON.stringify({ path: "drost.config.json", content: "{}" })}`)
    expect(config).toContain("loaded code")
  })
})
