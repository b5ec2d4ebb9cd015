import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { chmodSync, statSync } from "node:fs"
import { runCli, spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { fakeOpenAI, fakeTelegram } from "./fakes.ts"

// Each test spawns real processes (CLI runs, a gateway); a loaded CI machine needs more than 5 s.
setDefaultTimeout(30_000)

const KEY = "sk-doctor-0123456789"
const BOT = "555:doctor-token"

function line(output: string, name: string): string {
  return (
    output.split("\n").find((candidate) => candidate.slice(2).startsWith(name)) ?? `(no line for ${name})\n${output}`
  )
}

describe("drost doctor", () => {
  test("a healthy workspace: every check ✓ (probing the provider and Telegram), exit 0", async () => {
    await using openai = fakeOpenAI({ key: KEY })
    await using telegram = fakeTelegram({ token: BOT })
    await using ws = await workspace({
      config: {
        providers: {
          profiles: [
            { id: "local", kind: "openai-compatible", baseUrl: openai.url, model: "fake-model", authProfile: "local" },
          ],
        },
        controlApi: { port: 0 },
        channels: [{ kind: "telegram", authProfile: "bot", allowedUsers: [1], apiRoot: telegram.url }],
      },
      files: {
        ".drost/auth-profiles.json": JSON.stringify({
          profiles: { local: { kind: "openai-compatible", apiKey: KEY }, bot: { kind: "telegram", token: BOT } },
        }),
      },
    })
    chmodSync(ws.file(".drost/auth-profiles.json"), 0o600)
    const result = await runCli(["doctor"], { cwd: ws.path })
    expect(result.code).toBe(0)
    expect(line(result.stdout, "config")).toStartWith("✓")
    expect(line(result.stdout, "provider local (default)")).toContain("✓")
    expect(line(result.stdout, "provider local (default)")).toContain("key accepted, 1 model")
    expect(line(result.stdout, "telegram channel 1")).toContain("✓")
    expect(line(result.stdout, "telegram channel 1")).toContain("@fake_bot")
    expect(line(result.stdout, "permissions .drost/auth-profiles.json")).toStartWith("✓")
    expect(line(result.stdout, "store")).toStartWith("✓")
    expect(result.stdout).not.toContain(KEY)
    expect(openai.seen).toContain("GET /v1/models")
  })

  test("each blocking problem is ✗ with a fix and exit 1; a loose auth file is tightened and flagged", async () => {
    await using openai = fakeOpenAI({ key: KEY })
    await using telegram = fakeTelegram({ token: BOT })
    await using busy = {
      server: Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("other program") }),
      async [Symbol.asyncDispose]() {
        await this.server.stop(true)
      },
    }
    await using ws = await workspace({
      config: {
        providers: {
          profiles: [
            { id: "local", kind: "openai-compatible", baseUrl: openai.url, model: "fake-model", authProfile: "local" },
          ],
        },
        controlApi: { port: busy.server.port },
        channels: [{ kind: "telegram", token: "555:wrong", allowedUsers: [1], apiRoot: telegram.url }],
        // A Deno that is not there: the second warning, whatever this machine's PATH holds.
        tools: { deno: "/nonexistent/deno" },
      },
      files: {
        ".drost/auth-profiles.json": JSON.stringify({
          profiles: { local: { kind: "openai-compatible", apiKey: "sk-wrong" } },
        }),
        ".drost/drost.db": "this is not a database, just text".repeat(200),
      },
    })
    chmodSync(ws.file(".drost/auth-profiles.json"), 0o644)
    const result = await runCli(["doctor"], { cwd: ws.path })
    expect(result.code).toBe(1)
    const out = result.stdout
    expect(line(out, "permissions .drost/auth-profiles.json")).toStartWith("!")
    expect(line(out, "permissions .drost/auth-profiles.json")).toContain(
      "was mode 644 (readable by other users); tightened to 600",
    )
    expect(statSync(ws.file(".drost/auth-profiles.json")).mode & 0o777).toBe(0o600)
    expect(line(out, "provider local (default)")).toContain("✗")
    expect(line(out, "provider local (default)")).toContain("401: the key was rejected")
    expect(line(out, "telegram channel 1")).toContain("✗")
    expect(line(out, "control api port")).toContain("✗")
    expect(line(out, "control api port")).toContain(`127.0.0.1:${busy.server.port} is taken`)
    expect(line(out, "store")).toStartWith("✗")
    expect(line(out, "deno")).toStartWith("!")
    expect(out).toMatch(/4 blocking problems, 2 warnings/)

    const again = await runCli(["doctor", "--offline", "--json"], { cwd: ws.path })
    expect(again.code).toBe(1)
    const report = JSON.parse(again.stdout) as {
      ok: boolean
      checks: { name: string; status: string; detail: string }[]
    }
    expect(report.ok).toBe(false)
    expect(report.checks.find((check) => check.name === "permissions .drost/auth-profiles.json")).toMatchObject({
      status: "ok",
      detail: "mode 600",
    })
    expect(report.checks.find((check) => check.name === "store")).toMatchObject({ status: "fail" })
  })

  test("an invalid config is one ✗ naming each problem, exit 1", async () => {
    await using ws = await workspace({
      config: { providers: { profiles: [{ id: "x", kind: "nope" }] }, controlApi: { prot: 1 } },
    })
    const result = await runCli(["doctor", "--offline"], { cwd: ws.path })
    expect(result.code).toBe(1)
    expect(line(result.stdout, "config")).toStartWith("✗")
    expect(result.stdout).toContain("controlApi")
    expect(result.stdout).toContain("providers.profiles")
  })

  test("with the gateway running it reports it instead of calling the port taken", async () => {
    await using ws = await workspace({
      config: { providers: { profiles: [{ id: "demo", kind: "demo" }] }, controlApi: { port: 0 } },
    })
    await using gw = await spawnGateway(ws.path)
    const result = await runCli(["doctor", "--offline"], { cwd: ws.path })
    // "All good." or "No blocking problems; N warnings." (Deno is optional and may be missing).
    expect(result.stdout).toMatch(/All good\.|No blocking problems/)
    expect(result.code).toBe(0)
    expect(line(result.stdout, "control api port")).toContain(`gateway running (pid ${gw.pid})`)
    expect(line(result.stdout, "store")).toStartWith("✓")
  })

  test("a bind start would refuse (not loopback, no configured token) is blocking, as drost start refuses it", async () => {
    await using ws = await workspace({ config: { controlApi: { host: "0.0.0.0", port: 0 } } })
    const doctor = await runCli(["doctor", "--offline"], { cwd: ws.path, env: { DROST_CONTROL_ADMIN_TOKEN: "" } })
    expect(doctor.code).toBe(1)
    expect(line(doctor.stdout, "control api port")).toContain("✗")
    expect(line(doctor.stdout, "control api port")).toContain("refuses to serve on 0.0.0.0")
    const start = await runCli(["start"], { cwd: ws.path, env: { DROST_CONTROL_ADMIN_TOKEN: "" } })
    expect(start.code).toBe(78)
    expect(start.stderr).toContain("refusing to serve the Control API on 0.0.0.0")
  })
})
