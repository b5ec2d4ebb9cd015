/**
 * The supervisor on its own: restarts on request into a fresh process with sessions intact, gives up
 * after five crashes at start with its reason, and a gateway killed mid-transaction restores the
 * checkpoint at the next start.
 */
import { expect, test } from "bun:test"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { demoConfig } from "../lib/config.ts"
import { runCli } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { freePort, hashRoots, startSupervised, vendorSource } from "./lib.ts"

test("restart on request: a new gateway process, the same sessions; SIGTERM stops both", async () => {
  const port = freePort()
  await using ws = await workspace({ config: demoConfig({ controlApi: { port } }) })
  vendorSource(ws.path)
  await using gw = await startSupervised(ws.path, port)
  const first = ((await (await gw.api("/status")).json()) as { pid: number }).pid
  const session = (await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }
  await gw.api(`/sessions/${session.id}/turn`, { method: "POST", json: { input: "hello" } })
  const mark = gw.outLength()
  const cli = await runCli(["restart"], { cwd: ws.path })
  expect(cli.stdout).toContain("restart requested")
  const ready = await gw.nextReady(mark)
  expect(ready.pid).not.toBe(first)
  expect(gw.proc.pid).not.toBe(ready.pid) // the supervisor stayed
  const body = (await (await gw.api(`/sessions/${session.id}`)).json()) as { messages: unknown[] }
  expect(body.messages.length).toBe(2)
  gw.proc.kill("SIGTERM")
  expect(await gw.proc.exited).toBe(0)
}, 40_000)

test("five crashes in a row at start: the supervisor stops with its reason", async () => {
  await using ws = await workspace({ config: demoConfig({ supervisor: { maxCrashes: 5, backoffMs: 20 } }) })
  vendorSource(ws.path)
  const file = join(ws.path, "src/gateway/gateway.ts")
  const anchor = "export async function startGateway(config: Config, options: StartOptions = {}): Promise<Gateway> {"
  writeFileSync(file, readFileSync(file, "utf8").replace(anchor, `${anchor}\n  throw new Error("broken by hand")`))
  const started = Date.now()
  const proc = Bun.spawn([process.execPath, join(ws.path, "src/index.ts"), "start"], {
    cwd: ws.path,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  })
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited])
  console.log(`five crashes → gave up after ${Date.now() - started} ms`)
  expect(code).toBe(1)
  expect(stderr).toContain("the gateway crashed 5 times within 60 s")
  expect(stderr).toContain("broken by hand")
  expect(stderr.match(/restarting in \d+ ms/g)?.length).toBe(4)
  const state = JSON.parse(readFileSync(join(ws.path, ".drost/supervisor.json"), "utf8")) as {
    state: string
    reason: string
    crashes: number[]
  }
  expect(state.state).toBe("gave-up")
  expect(state.crashes.length).toBe(5)
}, 40_000)

test("kill -9 mid-transaction: the next start restores the checkpoint and records it", async () => {
  const port = freePort()
  const check =
    'const p = await Bun.file("prompts/system.md").text(); if (p.includes("HANG")) await new Promise(() => setInterval(() => {}, 1000))\n'
  await using ws = await workspace({
    config: demoConfig({
      controlApi: { port },
      evolution: { validation: { commands: ["bun check.ts"], timeoutMs: 60_000 } },
    }),
    files: { "check.ts": check, "prompts/system.md": "original\n" },
  })
  vendorSource(ws.path)
  const before = hashRoots(ws.path, ["tools", "prompts"])
  {
    await using gw = await startSupervised(ws.path, port)
    void gw
      .api("/evolution", {
        method: "POST",
        json: {
          reason: "will hang",
          changes: [
            { path: "prompts/system.md", content: "HANG\n" },
            { path: "tools/new.ts", content: "export default 1\n" },
          ],
        },
      })
      .catch(() => null)
    const deadline = Date.now() + 10_000
    while (!readFileSync(join(ws.path, "prompts/system.md"), "utf8").includes("HANG")) {
      if (Date.now() > deadline) throw new Error("the change was never applied")
      await Bun.sleep(20) // waiting on another process's file write
    }
    gw.proc.kill("SIGKILL") // the supervisor; its child follows at once
    await gw.proc.exited
  }
  expect(hashRoots(ws.path, ["tools", "prompts"])).not.toBe(before)
  await using gw = await startSupervised(ws.path, port)
  expect(hashRoots(ws.path, ["tools", "prompts"])).toBe(before)
  const list = (await (await gw.api("/evolution")).json()) as {
    items: { status: string; verdict: string; steps: { name: string }[] }[]
  }
  expect(list.items[0]!.status).toBe("rolled_back")
  expect(list.items[0]!.verdict).toMatch(/stopped during the (changing|gating) stage/)
  const log = await runCli(["evolution", "log", "--verbose"], { cwd: ws.path })
  expect(log.stdout).toContain("rolled_back")
  expect(log.stdout).toContain("✓ rollback")
}, 40_000)
