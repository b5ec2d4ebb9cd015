/**
 * The compiled binary (built through build.ts) loads the example plugin from the workspace's
 * node_modules with no bun or node on PATH: its tool runs in the binary's own tool host (inside
 * bubblewrap), its provider answers a session, its command answers through the Control API.
 */
import { afterAll, expect, test } from "bun:test"
import { cpSync, mkdtempSync, symlinkSync } from "node:fs"
import { join } from "node:path"
import { prebuiltOr, ROOT } from "../binary/binary.ts"
import { type RunningGateway, spawnGateway } from "../lib/gateway.ts"
import { workspace, type Workspace } from "../lib/workspace.ts"

let ws: Workspace | undefined
let gw: RunningGateway | undefined
afterAll(async () => {
  await gw?.stop()
  await ws?.[Symbol.asyncDispose]()
})

test("the compiled binary serves the example plugin's tool, provider and command", async () => {
  const { file } = await prebuiltOr("drost-plugins")
  ws = await workspace({
    config: {
      plugins: ["plugin-hello"],
      pluginConfig: { "plugin-hello": { greeting: "Ahoy" } },
      providers: {
        defaultSessionProvider: "hello",
        profiles: [{ id: "hello", kind: "plugin", plugin: "plugin-hello" }],
      },
    },
  })
  cpSync(join(ROOT, "examples/plugin-hello"), ws.file("node_modules/plugin-hello"), { recursive: true })
  const bin = mkdtempSync(join(process.env.DROST_TEST_ROOT ?? "/tmp", "no-bun-on-path-"))
  symlinkSync("/usr/bin/bwrap", join(bin, "bwrap"))
  gw = await spawnGateway(ws.path, { command: [file], env: { PATH: bin }, args: ["--port", "0"] })

  const command = async (line: string) => {
    const response = await gw!.api("/commands", { method: "POST", json: { line } })
    return ((await response.json()) as { text: string }).text
  }
  expect(await command("/status")).toContain(
    "plugin plugin-hello 1.0.0: loaded (tools hello.greet; providers echo; commands hello)",
  )
  expect(await command("/hello crew")).toBe("Ahoy, crew! (plugin-hello 1.0.0)")
  expect(await command('/tool hello.greet {"name":"Ada"}')).toBe("Hello, Ada! (hello.greet from plugin-hello)")
  const created = await gw.api("/sessions", { method: "POST", json: {} })
  const { id } = (await created.json()) as { id: string }
  const turn = await gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input: "land ho" } })
  expect(await turn.json()).toMatchObject({ status: "completed", text: "Ahoy! You said: land ho" })
}, 240_000)
