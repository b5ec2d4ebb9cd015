/**
 * Backups, repair, export/import and retention with a PostgreSQL store (issue 22 item 1): backups and
 * `drost doctor --repair` are SQLite file operations, so with PostgreSQL they are refused naming the
 * database and pg_dump (409 on the Control API, exit 1 from the CLI), nothing is written, and scheduled
 * backups do not run; session export, import and retention work on PostgreSQL as on SQLite.
 */
import { describe, expect, test } from "bun:test"
import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { demoConfig } from "../lib/config.ts"
import { runCli, spawnGateway } from "../lib/gateway.ts"
import { postgresPerFile, postgresSkip } from "../lib/postgres.ts"
import { workspace } from "../lib/workspace.ts"

const skip = postgresSkip()

if (skip) test.skip(`backups with a PostgreSQL store (skipped: ${skip})`, () => {})
else {
  const pg = postgresPerFile()
  const where = (url: string) => {
    const parsed = new URL(url)
    return `${parsed.hostname}:${parsed.port}${parsed.pathname}`
  }

  describe("a PostgreSQL store", () => {
    test("a running gateway refuses backups (409, nothing written), runs no scheduled ones; export, import and retention work", async () => {
      const url = await pg.server.database()
      await using ws = await workspace({ config: demoConfig({ backup: { every: "1s" } }) })
      await using gw = await spawnGateway(ws.path, { env: { DROST_STORE_URL: url } })

      const target = join(ws.path, "wanted.tar.gz")
      for (const body of [{ file: target }, {}]) {
        const refused = await gw.api("/backup", { method: "POST", json: body })
        expect(refused.status).toBe(409)
        const problem = (await refused.json()) as { error: string; message: string }
        expect(problem.error).toBe("Conflict")
        expect(problem.message).toContain(`the store is PostgreSQL at ${where(url)}; back it up with pg_dump`)
      }
      const cli = await runCli(["backup", target, "--url", gw.url], { cwd: ws.path, env: { DROST_STORE_URL: url } })
      expect(cli.code).toBe(1)
      expect(cli.stderr).toContain(`the store is PostgreSQL at ${where(url)}`)
      expect(existsSync(target)).toBe(false)

      // Export, import and retention through the store (their answers as on SQLite).
      const id = ((await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }).id
      expect((await gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input: "hello" } })).status).toBe(200)
      const doc = (await (await gw.api(`/sessions/${id}/export`)).json()) as {
        format: string
        session: { id: string; created_at: unknown }
        messages: { role: string; seq: unknown }[]
        turns: { status: string }[]
      }
      expect(doc.format).toBe("drost.session")
      expect(doc.session.id).toBe(id)
      expect(typeof doc.session.created_at).toBe("number")
      expect(doc.messages.map((m) => m.role)).toEqual(["user", "assistant"])
      expect(doc.turns.map((t) => t.status)).toEqual(["completed"])
      const imported = (await (await gw.api("/sessions/import", { method: "POST", json: doc })).json()) as {
        sessionId: string
        messages: number
      }
      expect(imported.messages).toBe(2)
      const copy = (await (await gw.api(`/sessions/${imported.sessionId}`)).json()) as {
        messages: { role: string; parts: unknown[] }[]
      }
      const original = (await (await gw.api(`/sessions/${id}`)).json()) as typeof copy
      expect(copy.messages.map(({ role, parts }) => ({ role, parts }))).toEqual(
        original.messages.map(({ role, parts }) => ({ role, parts })),
      )
      const dry = (await (
        await gw.api("/retention", { method: "POST", json: { maxSessions: 1, dryRun: true } })
      ).json()) as { sessions: { id: string; messages: number; bytes: number }[] }
      expect(dry.sessions.map((s) => s.id)).toEqual([id])
      expect(dry.sessions[0]!.messages).toBe(2)
      expect(dry.sessions[0]!.bytes).toBeGreaterThan(0)
      const real = (await (
        await gw.api("/retention", { method: "POST", json: { maxSessions: 1, dryRun: false, action: "delete" } })
      ).json()) as { sessions: { id: string }[] }
      expect(real.sessions.map((s) => s.id)).toEqual([id])
      expect((await gw.api(`/sessions/${id}`)).status).toBe(404)

      // backup.every is 1s: none was written, and the gateway said why at start.
      await Bun.sleep(1500)
      const dir = join(ws.path, ".drost", "backups")
      expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([])
      expect(gw.output()).toContain("scheduled backups are off")
    }, 40_000)

    test("a stopped workspace: drost backup and drost doctor --repair refuse; drost doctor checks the database", async () => {
      const url = await pg.server.database()
      await using ws = await workspace({ config: demoConfig({ store: { url } }) })
      const target = join(ws.path, "wanted.tar.gz")
      const backup = await runCli(["backup", target], { cwd: ws.path })
      expect(backup.code).toBe(1)
      expect(backup.stderr).toContain(`the store is PostgreSQL at ${where(url)}; back it up with pg_dump`)
      expect(existsSync(target)).toBe(false)

      const repair = await runCli(["doctor", "--repair"], { cwd: ws.path })
      expect(repair.code).toBe(1)
      expect(repair.stderr).toContain(`the store is PostgreSQL at ${where(url)}; --repair mends a SQLite file only`)
      expect(existsSync(join(ws.path, ".drost", "drost.db"))).toBe(false)

      const doctor = await runCli(["doctor", "--offline", "--json"], { cwd: ws.path })
      const checks = (JSON.parse(doctor.stdout) as { checks: { name: string; status: string; detail: string }[] })
        .checks
      expect(checks.find((check) => check.name === "store")).toMatchObject({
        status: "ok",
        detail: expect.stringContaining("PostgreSQL at postgres://postgres@"),
      })
      const gone = await runCli(["doctor", "--offline", "--json"], {
        cwd: ws.path,
        env: { DROST_STORE_URL: "postgres://drost:hunter2secret@127.0.0.1:1/none" },
      })
      const store = (
        JSON.parse(gone.stdout) as { checks: { name: string; status: string; detail: string }[] }
      ).checks.find((check) => check.name === "store")!
      expect(store.status).toBe("fail")
      expect(store.detail).toContain("cannot reach PostgreSQL at postgres://drost@127.0.0.1:1/none")
      expect(gone.stdout).not.toContain("hunter2secret")
    }, 40_000)
  })
}
