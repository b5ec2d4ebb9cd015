/**
 * The daemon verbs (issue 15 item 11) against a real `drost start` found the way a user's shell finds
 * it: the workspace's lock file, the configured port and the token file, no --url. status (text and
 * --json), sessions list|show|rename|delete, logs (-n, --stream, --json, -f) and stop; with no gateway
 * each says so and exits 1.
 */
import { expect, test } from "bun:test"
import { existsSync, readFileSync } from "node:fs"
import { demoConfig } from "../lib/config.ts"
import { ENTRY, runCli, spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { freePort } from "../evolve/lib.ts"

test("status, sessions, logs and stop on a running gateway", async () => {
  await using ws = await workspace({ config: demoConfig({ controlApi: { port: freePort() } }) })
  await using gw = await spawnGateway(ws.path)
  const cli = (...args: string[]) => runCli(args, { cwd: ws.path })

  const status = await cli("status")
  expect(status.code).toBe(0)
  expect(status.stdout).toMatch(/^running · drost /)
  expect(status.stdout).toContain(`pid ${gw.pid}`)
  expect(status.stdout).toContain("✓ demo (demo)")
  expect(status.stdout).toMatch(/\nsandbox /)
  const json = JSON.parse((await cli("status", "--json")).stdout) as Record<string, unknown>
  expect(json).toMatchObject({ state: "running", pid: gw.pid, sessions: 0, queues: [], url: gw.url })
  expect(json.sandbox).toHaveProperty("kind")

  // The log is flushed every 200 ms: wait for its first lines, which `logs -f -n 1` then shows at once.
  while (!existsSync(ws.file(".drost/logs/events.jsonl"))) await Bun.sleep(50)
  // `drost logs -f` prints the last line at once (so it is known to be following), then the turn's events.
  const follow = Bun.spawn([process.execPath, ENTRY, "logs", "-f", "-n", "1"], {
    cwd: ws.path,
    stdout: "pipe",
    stderr: "pipe",
  })
  const reader = follow.stdout.getReader()
  const decoder = new TextDecoder()
  let followed = decoder.decode((await reader.read()).value)
  expect(followed.trim().split("\n")).toHaveLength(1)
  const session = (await (await gw.api("/sessions", { method: "POST", json: { title: "first" } })).json()) as {
    id: string
  }
  await gw.api(`/sessions/${session.id}/turn`, { method: "POST", json: { input: "hello there" } })
  while (!followed.includes("turn.completed")) {
    const { value, done } = await reader.read()
    if (done) break
    followed += decoder.decode(value)
  }
  follow.kill()
  await follow.exited
  expect(followed).toContain(`session.created  {"sessionId":"${session.id}"`)
  expect(followed).toContain("turn.completed")

  const list = await cli("sessions", "list")
  expect(list.code).toBe(0)
  expect(list.stdout).toContain(session.id)
  expect(list.stdout).toContain("first")
  const listed = JSON.parse((await cli("sessions", "list", "--json")).stdout) as { sessions: { id: string }[] }
  expect(listed.sessions.map((s) => s.id)).toEqual([session.id])
  const shown = await cli("sessions", "show", session.id)
  expect(shown.stdout).toContain("[user] hello there")
  expect(shown.stdout).toContain("[assistant]")
  const renamed = await cli("sessions", "rename", session.id, "a better title")
  expect(renamed.stdout).toBe(`renamed ${session.id} to "a better title"\n`)
  expect(
    ((await (await gw.api(`/sessions/${session.id}`)).json()) as { session: { title: string } }).session.title,
  ).toBe("a better title")
  const missing = await cli("sessions", "show", "ses_nope")
  expect(missing.code).toBe(1)
  expect(missing.stderr).toBe('drost: 404: unknown session "ses_nope"\n')
  const deleted = await cli("sessions", "delete", session.id, "--json")
  expect(JSON.parse(deleted.stdout)).toEqual({ deleted: session.id })
  expect((await gw.api(`/sessions/${session.id}`)).status).toBe(404)

  const logs = await cli("logs", "-n", "200")
  expect(logs.code).toBe(0)
  expect(logs.stdout).toContain("gateway.started")
  expect(logs.stdout).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} {2}\S+ {2}\{/m)
  const usage = await cli("logs", "--stream", "usage", "--json")
  const records = usage.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { type: string })
  expect(records.length).toBeGreaterThan(0)
  expect(records.every((record) => record.type === "provider.response")).toBe(true)
  expect((await cli("logs", "--stream", "nope")).stderr).toContain(
    '--stream expects events, tools or usage, got "nope"',
  )

  // A config broken while it runs keeps neither the logs nor the stop from working.
  const good = readFileSync(ws.file("drost.config.json"), "utf8")
  ws.write("drost.config.json", "{ not json")
  const brokenLogs = await cli("logs", "-n", "1")
  expect(brokenLogs.code).toBe(0)
  expect(brokenLogs.stderr).toContain("the config does not load")
  const stop = await cli("stop")
  expect(stop.stdout).toBe(`stopped the gateway (pid ${gw.pid})\n`)
  expect(stop.code).toBe(0)
  expect(await gw.proc.exited).toBe(0) // its supervisor ended too
  ws.write("drost.config.json", good)

  const after = await cli("status")
  expect(after.code).toBe(1)
  expect(after.stderr).toContain("no gateway is running on")
  const afterJson = await cli("status", "--json")
  expect(afterJson.code).toBe(1)
  expect(JSON.parse(afterJson.stdout)).toMatchObject({ state: "stopped" })
  // The logs stay readable while it is down.
  expect((await cli("logs")).stdout).toContain("gateway.stopped")
}, 40_000)

test("with no gateway: status, stop and sessions exit 1 with the hint and write nothing", async () => {
  await using ws = await workspace()
  for (const args of [["status"], ["stop"], ["sessions", "list"], ["sessions", "delete", "ses_x"], ["logs"]]) {
    const run = await runCli(args, { cwd: ws.path })
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(
      args[0] === "logs" ? /no events log in .* yet/ : /no gateway is running on .*drost start/,
    )
  }
  expect(await Array.fromAsync(new Bun.Glob("**").scan({ cwd: ws.path, dot: true }))).toEqual([])
})
