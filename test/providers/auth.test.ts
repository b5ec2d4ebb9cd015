// Auth profiles and probes through the real CLI and gateway: the file is 0600 (and fixed when
// looser), keys come from stdin, the gateway uses them, probes give one code per profile, a probe at
// start degrades the gateway, and no key appears in anything the run wrote.
import { describe, expect, test } from "bun:test"
import { chmodSync, readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { fakeAnthropic } from "../fake/anthropic.ts"
import { fakeOpenAI } from "../fake/openai.ts"
import { reply } from "../fake/reply.ts"
import { ENTRY, runCli, spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

// Deliberately not shaped like sk-…/Bearer: the redactor would hide those, and this checks that keys
// are never written at all.
const OPENAI_KEY = "k3y-openai-UNIQUE-7f3a9c"
const SETUP_TOKEN = "sk-ant-oat01-UNIQUE-setup-4d2e"
const WRONG_KEY = "k3y-wrong-UNIQUE-0b1c"

async function piped(args: string[], cwd: string, input: string) {
  const proc = Bun.spawn([process.execPath, ENTRY, ...args], {
    cwd,
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
    env: process.env,
  })
  proc.stdin.write(input)
  await proc.stdin.end()
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  return { stdout, stderr, code }
}

function everything(dir: string): string {
  let out = ""
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name === "auth-profiles.json") continue
    out += readFileSync(join(entry.parentPath, entry.name), "latin1")
  }
  return out
}

describe("auth profiles", () => {
  test("set, list, use, probe and remove; the file stays 0600 and no key leaks", async () => {
    await using oa = await fakeOpenAI({ key: OPENAI_KEY })
    await using an = await fakeAnthropic({ key: SETUP_TOKEN })
    const profiles = [
      { id: "gpt", kind: "openai", model: "gpt-test", baseUrl: oa.baseUrl },
      { id: "claude", kind: "anthropic", model: "claude-test", baseUrl: an.baseUrl, authProfile: "anthropic" },
      { id: "bad", kind: "openai-compatible", model: "m", baseUrl: oa.baseUrl, authProfile: "wrong" },
      { id: "nokey", kind: "xai", model: "grok-test", baseUrl: oa.baseUrl },
      { id: "gone", kind: "openai-compatible", model: "m", baseUrl: "http://127.0.0.1:9/v1" },
      { id: "notapi", kind: "openai-compatible", model: "m", baseUrl: `${oa.url}/elsewhere`, authProfile: "gpt" },
    ]
    await using ws = await workspace({
      config: { providers: { profiles, failover: { fallbacks: [] } }, controlApi: { port: 0 } },
    })
    const outputs: string[] = []
    const cli = async (args: string[], input?: string) => {
      const run = input === undefined ? await runCli(args, { cwd: ws.path }) : await piped(args, ws.path, input)
      outputs.push(run.stdout, run.stderr)
      return run
    }

    expect((await cli(["auth", "set-api-key", "openai", "gpt"], `${OPENAI_KEY}\n`)).code).toBe(0)
    const file = join(ws.path, ".drost", "auth-profiles.json")
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect((await cli(["auth", "set-setup-token"], SETUP_TOKEN)).code).toBe(0)
    expect((await cli(["auth", "set-api-key", "openai-compatible", "wrong", WRONG_KEY])).code).toBe(0)
    expect((await cli(["auth", "set-api-key", "nonsense", "x", "y"])).stderr).toContain('unknown kind "nonsense"')

    chmodSync(file, 0o644)
    const listed = await cli(["auth", "list"])
    expect(listed.code).toBe(0)
    expect(listed.stdout).toContain("gpt")
    expect(listed.stdout).toMatch(/anthropic\s+anthropic\s+setup-token/)
    expect(statSync(file).mode & 0o777).toBe(0o600) // fixed when found looser

    const probe = await cli(["providers", "probe", "2000", "--json"])
    expect(probe.code).toBe(1)
    const codes = Object.fromEntries(
      (JSON.parse(probe.stdout) as { providers: { id: string; code: string }[] }).providers.map((r) => [r.id, r.code]),
    )
    expect(codes).toEqual({
      gpt: "ok",
      claude: "ok",
      bad: "provider_error",
      nokey: "missing_auth",
      gone: "unreachable",
      notapi: "incompatible",
    })
    const list = await cli(["providers", "list"])
    expect(list.stdout).toContain('auth: auth profile "gpt"')
    expect(list.stdout).toContain("auth: missing")

    // The gateway uses the stored key and the setup token (sent as a bearer with the oauth beta header).
    await using gw = await spawnGateway(ws.path)
    oa.queue(reply().text("hello from gpt"))
    an.queue(reply().text("hello from claude"))
    for (const provider of ["gpt", "claude", "bad"]) {
      const { id } = (await (await gw.api("/sessions", { method: "POST", json: { provider } })).json()) as {
        id: string
      }
      const result = (await (
        await gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input: "hi" } })
      ).json()) as { status: string; reason: string | null }
      expect(result.status).toBe(provider === "bad" ? "failed" : "completed")
      if (provider === "bad") expect(result.reason).toContain("401")
    }
    expect(an.requests().at(-1)!.headers["anthropic-beta"]).toContain("oauth")
    const status = (await (await gw.api("/providers")).json()) as { providers: { id: string; auth: string }[] }
    outputs.push(JSON.stringify(status), gw.output())
    expect(status.providers.find((entry) => entry.id === "gpt")!.auth).toBe('auth profile "gpt"')
    expect(await gw.stop()).toBe(0)

    expect((await cli(["auth", "remove", "wrong"])).code).toBe(0)
    expect((await cli(["auth", "remove", "wrong"])).stderr).toContain('no auth profile "wrong"')

    // Nothing the run wrote (CLI output, gateway output, status, logs, events, the SQLite store) holds a key.
    const written = outputs.join("\n") + everything(ws.path)
    for (const secret of [OPENAI_KEY, SETUP_TOKEN, WRONG_KEY]) expect(written.includes(secret)).toBe(false)
    expect(readFileSync(file, "utf8")).toContain(OPENAI_KEY) // …while the auth file does hold it
  }, 60_000)

  test("probeOnStart marks the gateway degraded with the reason", async () => {
    await using ws = await workspace({
      config: {
        providers: {
          profiles: [
            { id: "demo", kind: "demo" },
            { id: "gpt", kind: "openai", model: "gpt-test", baseUrl: "http://127.0.0.1:9/v1" },
          ],
          probeOnStart: true,
          probeTimeoutMs: 1000,
        },
        controlApi: { port: 0 },
      },
    })
    await using gw = await spawnGateway(ws.path)
    const health = await fetch(`${gw.url}/healthz`)
    const body = (await health.json()) as { state: string; reasons: string[] }
    expect(body.state).toBe("degraded")
    expect(body.reasons.join("\n")).toContain("provider:gpt: probe missing_auth")
  }, 15_000)
})
