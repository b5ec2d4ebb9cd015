/**
 * The process around the gateway: how `drost start` ends. A refused start (the user must fix
 * something) exits 78, which the systemd unit's RestartPreventExitStatus=78 relies on: exit 1 there
 * means a restart every 3 s forever.
 */
import { describe, expect, test } from "bun:test"
import { runCli, spawnGateway } from "../lib/gateway.ts"
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
