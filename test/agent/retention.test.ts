/**
 * Retention and portability: export/import through the Control API and the CLI (on a stopped
 * workspace), retention by count, age and size with a dry run, archives that import back, and
 * `drost prompt show` on a stopped workspace.
 */
import { describe, expect, test } from "bun:test"
import { Database } from "bun:sqlite"
import { readdirSync, statSync } from "node:fs"
import { join } from "node:path"
import { applyRetention, planRetention } from "../../src/agent/retention.ts"
import { openSqlite } from "../../src/store/engine/sqlite.ts"
import { demoConfig } from "../lib/config.ts"
import { runCli, spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

interface Message {
  role: string
  parts: unknown[]
}

describe("portability and retention", () => {
  test("export → import keeps messages and summaries; retention dry run changes nothing; archive then restore", async () => {
    await using ws = await workspace({ config: demoConfig(), files: { "notes.txt": "alpha\n" } })
    await using gw = await spawnGateway(ws.path)
    const ids: string[] = []
    for (const input of ["read notes.txt", "hello two", "hello three"]) {
      const id = ((await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }).id
      await gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input } })
      ids.push(id)
    }
    // A continued session carries a summary (uptoSeq 0) that must survive the round trip.
    const continued = (
      (await (await gw.api(`/sessions/${ids[0]}/new`, { method: "POST", json: {} })).json()) as {
        session: { id: string }
      }
    ).session.id
    await gw.api(`/sessions/${continued}/turn`, { method: "POST", json: { input: "and now?" } })

    const doc = (await (await gw.api(`/sessions/${continued}/export`)).json()) as {
      format: string
      messages: unknown[]
      summaries: { source: string }[]
    }
    expect(doc.format).toBe("drost.session")
    expect(doc.summaries.map((summary) => summary.source)).toEqual(["continuity"])
    const imported = (await (await gw.api("/sessions/import", { method: "POST", json: doc })).json()) as {
      sessionId: string
      messages: number
    }
    expect(imported.sessionId).not.toBe(continued)
    const original = ((await (await gw.api(`/sessions/${continued}`)).json()) as { messages: Message[] }).messages
    const copy = ((await (await gw.api(`/sessions/${imported.sessionId}`)).json()) as { messages: Message[] }).messages
    expect(copy.map(({ role, parts }) => ({ role, parts }))).toEqual(
      original.map(({ role, parts }) => ({ role, parts })),
    )
    const preview = JSON.stringify(await (await gw.api(`/prompt?session=${imported.sessionId}`)).json())
    expect(preview).toContain(`This session continues session ${ids[0]}`)
    const bad = await gw.api("/sessions/import", { method: "POST", json: { format: "drost.session", version: 99 } })
    expect(bad.status).toBe(400)

    // 6 sessions now; keep the newest 2. A dry run reports and changes nothing.
    const dry = (await (await gw.api("/retention", { method: "POST", json: { maxSessions: 2 } })).json()) as {
      dryRun: boolean
      sessions: { id: string; reason: string }[]
    }
    expect(dry.dryRun).toBe(true)
    expect(dry.sessions.length).toBe(3)
    expect(dry.sessions.map((session) => session.id)).toEqual(expect.arrayContaining(ids))
    expect(dry.sessions[0]!.reason).toContain("maxSessions")
    expect(((await (await gw.api("/sessions")).json()) as { total: number }).total).toBe(5)
    const real = (await (
      await gw.api("/retention", { method: "POST", json: { maxSessions: 2, dryRun: false } })
    ).json()) as { sessions: { id: string }[]; archiveDir: string }
    expect(real.sessions.map((session) => session.id).sort()).toEqual(dry.sessions.map((session) => session.id).sort())
    expect(((await (await gw.api("/sessions")).json()) as { total: number }).total).toBe(2)
    const archives = readdirSync(real.archiveDir)
    expect(archives.length).toBe(3)
    expect(statSync(`${real.archiveDir}/${archives[0]}`).mode & 0o777).toBe(0o600)
    const restored = (await (
      await gw.api("/sessions/import", {
        method: "POST",
        json: JSON.parse(await Bun.file(`${real.archiveDir}/${ids[0]}.json`).text()),
      })
    ).json()) as { messages: number }
    expect(restored.messages).toBe(4)
    expect(await gw.stop()).toBe(0)
  }, 30_000)

  test("CLI: prompt show against a running gateway (--url) and a stopped workspace, session export/import, retention by age with a dry run", async () => {
    await using ws = await workspace({ config: demoConfig(), files: { "AGENTS.md": "Always answer in haiku.\n" } })
    const ids: string[] = []
    {
      await using gw = await spawnGateway(ws.path)
      for (const input of ["first words", "second words"]) {
        const id = ((await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }).id
        await gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input } })
        ids.push(id)
      }
      // While the gateway runs, the CLI asks it over the Control API (the port is 0 here, so --url).
      const remote = await runCli(["prompt", "show", ids[0]!, "--url", gw.url], { cwd: ws.path })
      expect(remote.stdout).toContain("[user]\nfirst words")
      const noUrl = await runCli(["prompt", "show", ids[0]!], { cwd: ws.path })
      expect(noUrl.code).toBe(1)
      expect(noUrl.stderr).toContain("pass --url")
      expect(await gw.stop()).toBe(0)
    }
    const shown = await runCli(["prompt", "show", ids[0]!], { cwd: ws.path })
    expect(shown.code).toBe(0)
    expect(shown.stdout).toContain("Always answer in haiku.")
    expect(shown.stdout).toContain("persona:AGENTS.md")
    expect(shown.stdout).toContain("[user]\nfirst words")
    const json = JSON.parse((await runCli(["prompt", "show", ids[0]!, "--json"], { cwd: ws.path })).stdout) as {
      history: unknown[]
      budget: number
    }
    expect(json.history.length).toBe(2)
    expect(json.budget).toBeGreaterThan(1_000)
    expect((await runCli(["prompt", "show", "ses_nope"], { cwd: ws.path })).stderr).toContain(
      'unknown session "ses_nope"',
    )

    const exported = await runCli(["session", "export", ids[0]!, "-o", "first.json"], { cwd: ws.path })
    expect(exported.code).toBe(0)
    const imported = await runCli(["session", "import", "first.json"], { cwd: ws.path })
    expect(imported.stdout).toMatch(/^imported 2 messages as ses_/)

    // The first session has been idle for ten days.
    const db = new Database(ws.file(".drost/drost.db"))
    db.run("UPDATE sessions SET updated_at = ? WHERE id = ?", [Date.now() - 10 * 86_400_000, ids[0]!])
    db.close()
    const dry = await runCli(["retention", "--dry-run", "--max-age-days", "7", "--action", "delete"], { cwd: ws.path })
    expect(dry.stdout).toContain("would delete 1 session")
    expect(dry.stdout).toContain(ids[0]!)
    expect(dry.stdout).toContain("idle 10 days")
    const real = await runCli(["retention", "--max-age-days", "7", "--action", "delete", "--json"], { cwd: ws.path })
    expect((JSON.parse(real.stdout) as { sessions: { id: string }[] }).sessions.map((session) => session.id)).toEqual([
      ids[0]!,
    ])
    const none = await runCli(["retention"], { cwd: ws.path })
    expect(none.code).toBe(1)
    expect(none.stderr).toContain("no retention limit given")
  }, 40_000)

  test("size limit keeps the newest sessions that fit; busy sessions are never picked", () => {
    const now = Date.now()
    const all = [
      { id: "a", title: "", updatedAt: now - 1, messages: 2, bytes: 600 },
      { id: "b", title: "", updatedAt: now - 2, messages: 2, bytes: 600 },
      { id: "c", title: "", updatedAt: now - 3, messages: 2, bytes: 600 },
    ]
    expect(planRetention(all, { maxBytes: 1_000, action: "delete" }, () => false, now).map((item) => item.id)).toEqual([
      "b",
      "c",
    ])
    expect(
      planRetention(all, { maxBytes: 1_000, action: "delete" }, (id) => id === "b", now).map((item) => item.id),
    ).toEqual(["c"])
  })

  test("a session whose turn is open in the store (another gateway's) is kept, and the plan counts it as kept", async () => {
    await using ws = await workspace({ config: demoConfig() })
    const store = openSqlite(join(ws.path, "retention.db"))
    try {
      const made: string[] = []
      for (const title of ["oldest", "middle", "newest"]) {
        made.push((await store.sessions.create({ provider: "demo", title })).id)
        await Bun.sleep(2)
      }
      const ids = made as [string, string, string]
      // A turn another gateway accepted: in the store, in no queue of this one.
      await store.sessions.beginTurn({ sessionId: ids[1], parts: [{ type: "text", text: "hi" }], source: "api" })
      await store.sessions.setTitle(ids[2], "newest, touched last")
      const asked: string[] = []
      const deps = {
        portable: store.portable,
        remove: (id: string) => store.sessions.remove(id),
        busy: () => false,
        open: async (id: string) => {
          asked.push(id)
          return (await store.sessions.turns(id, 1)).some((t) => t.status === "queued" || t.status === "running")
        },
        archiveDir: join(ws.path, "archive"),
      }
      const rule = { maxSessions: 1, action: "delete" as const }
      // Without the store's answer the middle one would go too.
      expect((await applyRetention({ ...deps, open: undefined }, rule, true)).sessions.map((x) => x.id)).toEqual([
        ids[1],
        ids[0],
      ])
      const report = await applyRetention(deps, rule, false)
      expect(report.sessions.map((x) => x.id)).toEqual([ids[0]])
      // Only the sessions a plan picked were asked about, each once.
      expect(asked.sort()).toEqual([ids[0], ids[1]].sort())
      expect((await store.sessions.list()).map((x) => x.id).sort()).toEqual([ids[1], ids[2]].sort())
    } finally {
      await store.close()
    }
  })
})
