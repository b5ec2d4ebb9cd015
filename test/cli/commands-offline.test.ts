/**
 * Inspection of a stopped workspace (issue 15 item 9): `session export` and `retention --dry-run`
 * answer from the store in-process without connecting the workspace's MCP servers (an HTTP one here,
 * on 127.0.0.1, that counts the requests it gets); on 0641e9e every such command booted the whole
 * gateway and dialled it.
 */
import { expect, test } from "bun:test"
import { demoConfig } from "../lib/config.ts"
import { runCli } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

test("export and retention --dry-run on a stopped workspace do not start its MCP servers", async () => {
  const seen: string[] = []
  using server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      seen.push(`${request.method} ${new URL(request.url).pathname}`)
      return new Response("no", { status: 503 })
    },
  })
  const doc = { format: "drost.session", version: 1, session: { provider: "demo", title: "kept" }, messages: [] }
  await using ws = await workspace({
    config: demoConfig({ mcp: { servers: { probe: { url: `http://127.0.0.1:${server.port}/mcp` } } } }),
    files: { "kept.json": JSON.stringify(doc) },
  })
  // A write: it may connect them (it did on 0641e9e too); what is checked below is what reads do.
  const imported = await runCli(["session", "import", "kept.json"], { cwd: ws.path })
  expect(imported.code).toBe(0)
  const sessionId = imported.stdout.match(/ as (ses_\S+)/)![1]!
  seen.length = 0

  const exported = await runCli(["session", "export", sessionId], { cwd: ws.path })
  expect(exported.code).toBe(0)
  expect((JSON.parse(exported.stdout) as { session: { title: string } }).session.title).toBe("kept")
  const dry = await runCli(["retention", "--dry-run", "--max-sessions", "1"], { cwd: ws.path })
  expect(dry.code).toBe(0)
  expect(dry.stdout).toStartWith("would archive 0 sessions")
  expect(seen).toEqual([])
})
