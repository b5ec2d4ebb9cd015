/**
 * The process around the gateway: how `drost start` ends. A refused start (the user must fix
 * something) exits 78, which the systemd unit's RestartPreventExitStatus=78 relies on: exit 1 there
 * means a restart every 3 s forever.
 */
import { describe, expect, test } from "bun:test"
import { ENTRY, runCli, spawnGateway } from "../lib/gateway.ts"
import { demoConfig } from "../lib/config.ts"
import { workspace } from "../lib/workspace.ts"

describe("a refused start exits 78 from drost start", () => {
  test("a bad config", async () => {
    await using ws = await workspace({ config: { agent: { maxSteps: 0 } } })
    const result = await runCli(["start"], { cwd: ws.path })
    expect(result.code).toBe(78)
    expect(result.stderr).toContain("invalid configuration")
  }, 30_000)

  test("a busy port", async () => {
    const taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("taken") })
    try {
      await using ws = await workspace({ config: demoConfig({ controlApi: { port: taken.port } }) })
      const result = await runCli(["start"], { cwd: ws.path })
      expect(result.code).toBe(78)
      expect(result.stderr).toContain(`127.0.0.1:${taken.port}`)
    } finally {
      taken.stop(true)
    }
  }, 30_000)

  test("an unsafe bind", async () => {
    await using ws = await workspace({ config: demoConfig({ controlApi: { port: 0, host: "0.0.0.0" } }) })
    const result = await runCli(["start"], { cwd: ws.path })
    expect(result.code).toBe(78)
    expect(result.stderr + result.stdout).toContain("not loopback")
  }, 30_000)

  test("the workspace locked by a running gateway", async () => {
    await using ws = await workspace({ config: demoConfig() })
    await using first = await spawnGateway(ws.path)
    const second = await runCli(["start"], { cwd: ws.path })
    expect(second.code).toBe(78)
    expect(second.stderr).toContain(`pid ${first.pid}`)
  }, 30_000)
})

describe("the runtime goes when whoever started it goes", () => {
  test("SIGTERM to the shell that ran `drost start` (as `npm start` does) stops the gateway cleanly", async () => {
    await using ws = await workspace({ config: demoConfig() })
    // `; true` keeps sh alive as the parent (it would exec a lone command), like npm's own sh.
    const sh = Bun.spawn(["sh", "-c", `"${process.execPath}" "${ENTRY}" start; true`], {
      cwd: ws.path,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    })
    const stderr = new Response(sh.stderr).text()
    let out = ""
    const decoder = new TextDecoder()
    const reader = sh.stdout.getReader()
    while (!out.includes('{"ready":true')) {
      const { value, done } = await reader.read()
      if (done) throw new Error(`no ready line:\n${out}`)
      out += decoder.decode(value)
    }
    const { pid, url } = JSON.parse(out.split("\n").find((line) => line.startsWith('{"ready":true'))!)
    sh.kill("SIGTERM")
    await sh.exited
    // The supervisor and the gateway hold the pipe: its end means both are gone.
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      out += decoder.decode(value)
    }
    expect(() => process.kill(pid, 0)).toThrow()
    expect(`${out}${await stderr}`).toContain("stopping…")
    expect(await fetch(`${url}/healthz`).catch(() => "refused")).toBe("refused")
    // A clean stop releases the lock; a killed gateway leaves it behind.
    expect(await Bun.file(ws.file(".drost/gateway.pid")).exists()).toBe(false)
  }, 30_000)
})
