/**
 * A machine where no OS sandbox works (here: a `bwrap` first on PATH that fails like one whose user
 * namespaces are disabled). The tools that run model-controlled code are off, with the reason in
 * /status, in the tool result, in `drost doctor` and in the start banner; the model is not offered
 * them. With `sandbox: "off"` the owner runs them unconfined, and doctor and the banner warn.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { fakeOpenAI, reply } from "../fake/openai.ts"
import { runCli, spawnGateway } from "../lib/gateway.ts"
import { noSandbox } from "../lib/no-sandbox.ts"
import { workspace } from "../lib/workspace.ts"

let fake: ReturnType<typeof noSandbox>
let PATH: string

beforeAll(() => {
  fake = noSandbox()
  PATH = fake.PATH
})
afterAll(() => fake[Symbol.dispose]())

describe("no OS sandbox on this machine", () => {
  test("shell, workspace tools and MCP stdio servers are off, and every surface says why", async () => {
    const llm = await fakeOpenAI({ key: null })
    await using ws = await workspace({
      config: {
        providers: { profiles: [{ id: "llm", kind: "openai-compatible", baseUrl: llm.baseUrl, model: "m" }] },
        controlApi: { port: 0 },
      },
    })
    await using gw = await spawnGateway(ws.path, { env: { PATH, CI: "true" } })
    const status = (await (await gw.api("/status")).json()) as {
      sandbox: { kind: string | null; reason: string; off: string[] }
    }
    expect(status.sandbox.kind).toBeNull()
    expect(status.sandbox.reason).toContain("bubblewrap cannot create a sandbox here")
    expect(status.sandbox.off).toContain("shell")
    const direct = (await (
      await gw.api("/tools/shell/execute", { method: "POST", json: { command: "id" } })
    ).json()) as {
      output: string
      isError: boolean
    }
    expect(direct.isError).toBe(true)
    expect(direct.output).toContain("shell is off on this machine")
    expect(direct.output).toContain("Permission denied")
    // The model is not offered the shell at all.
    llm.queue(reply().text("ok"))
    const session = (await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }
    await (await gw.api(`/sessions/${session.id}/turn`, { method: "POST", json: { input: "hi" } })).arrayBuffer()
    const body = llm.hits.at(-1)?.body as { tools?: { function: { name: string } }[] } | undefined
    const offered = (body?.tools ?? []).map((tool) => tool.function.name)
    expect(offered).toContain("file_read")
    expect(offered).not.toContain("shell")
    expect(gw.output()).toContain("no OS sandbox")
    const doctor = await runCli(["doctor", "--json"], { cwd: ws.path, env: { PATH } })
    const checks = (JSON.parse(doctor.stdout) as { checks: { name: string; status: string; detail: string }[] }).checks
    const sandbox = checks.find((check) => check.name === "sandbox")
    expect(sandbox?.status).toBe("warn")
    expect(sandbox?.detail).toContain("shell, workspace tools and MCP stdio servers are off")
    await llm.close()
  }, 30_000)

  test('sandbox: "off" runs them unconfined, with a warning in doctor and the banner', async () => {
    await using ws = await workspace({
      config: { providers: { profiles: [{ id: "demo", kind: "demo" }] }, controlApi: { port: 0 }, sandbox: "off" },
    })
    await using gw = await spawnGateway(ws.path, { env: { PATH, CI: "true" } })
    const status = (await (await gw.api("/status")).json()) as { sandbox: { kind: string | null } }
    expect(status.sandbox.kind).toBe("off")
    const result = (await (
      await gw.api("/tools/shell/execute", { method: "POST", json: { command: "echo unconfined" } })
    ).json()) as { output: string; isError: boolean }
    expect(result.isError).toBe(false)
    expect(result.output).toContain("unconfined")
    expect(gw.output()).toContain("sandbox off")
    const doctor = await runCli(["doctor", "--json"], { cwd: ws.path, env: { PATH } })
    const checks = (JSON.parse(doctor.stdout) as { checks: { name: string; status: string }[] }).checks
    expect(checks.find((check) => check.name === "sandbox")?.status).toBe("warn")
  }, 30_000)

  test("doctor names the sandbox in use where one works", async () => {
    if (process.platform !== "linux") return
    await using ws = await workspace({ config: { providers: { profiles: [{ id: "demo", kind: "demo" }] } } })
    const doctor = await runCli(["doctor", "--json"], { cwd: ws.path })
    const checks = (JSON.parse(doctor.stdout) as { checks: { name: string; status: string; detail: string }[] }).checks
    expect(checks.find((check) => check.name === "sandbox")).toMatchObject({ status: "ok" })
    expect(checks.find((check) => check.name === "sandbox")?.detail).toContain("bubblewrap")
  })
})
