/**
 * Backup and restore (issue 21 item 1, docs/operations.md): a backup taken while turns run against the
 * fake OpenAI server, restored into another folder, holds every turn and message acknowledged before
 * it began, passes PRAGMA integrity_check, and the restored gateway answers a turn. Damaged, foreign
 * and non-empty targets are refused with one line; --force keeps the old state aside.
 */
import { Database } from "bun:sqlite"
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { type FakeOpenAI, fakeOpenAI, reply } from "../fake/openai.ts"
import { runCli, spawnGateway } from "../lib/gateway.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"

const ENV = { OPS_TEST_KEY: "test-key", NO_COLOR: "1" }

export function opsConfig(baseUrl: string, extra: Record<string, unknown> = {}) {
  return {
    providers: {
      profiles: [{ id: "gpt", kind: "openai", api: "chat", model: "gpt-test", baseUrl, apiKeyEnv: "OPS_TEST_KEY" }],
      defaultSessionProvider: "gpt",
      failover: { enabled: false },
    },
    controlApi: { port: 0 },
    ...extra,
  }
}

export const FILES = {
  "memory/notes.md": "# Notes\nThe owner likes tea.\n",
  "prompts/system.md": "You are a test agent.\n",
  "tools/hello.ts": 'export default { name: "hello" }\n',
  "skills/demo/SKILL.md": "---\nname: demo\ndescription: A demo skill\n---\nSay hi.\n",
}

let llm: FakeOpenAI
let source: Workspace
let backupFile = ""
const acknowledged: { turnId: string; sessionId: string; messageId: string }[] = []
const others: Workspace[] = []

beforeAll(async () => {
  llm = await fakeOpenAI()
  llm.always(reply().text("answered"))
  source = await workspace({ config: opsConfig(llm.baseUrl), files: FILES })
})

afterAll(async () => {
  await llm?.close()
  await source?.[Symbol.asyncDispose]()
  for (const ws of others) await ws[Symbol.asyncDispose]()
})

async function fresh(): Promise<Workspace> {
  const ws = await workspace()
  others.push(ws)
  return ws
}

describe("drost backup and restore", () => {
  test("a backup under load holds every acknowledged turn; the restored gateway answers", async () => {
    await using gw = await spawnGateway(source.path, { env: ENV })
    const sessions: string[] = []
    for (let i = 0; i < 3; i++) {
      const created = await gw.api("/sessions", { method: "POST", json: { title: `load ${i}` } })
      sessions.push(((await created.json()) as { id: string }).id)
    }
    // Load: three sessions send turns back to back until told to stop (bounded: at most 40 turns each).
    let stop = false
    const loops = sessions.map(async (id, n) => {
      for (let i = 0; i < 40 && !stop; i++) {
        const answer = await gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input: `s${n} m${i}` } })
        const body = (await answer.json()) as { turnId: string; sessionId: string; messageId: string; status: string }
        expect(body.status).toBe("completed")
        acknowledged.push(body)
      }
    })
    // A failed assertion below must not leave the loops running against a stopped gateway.
    const settled = Promise.allSettled(loops)
    while (acknowledged.length < 6) await llm.wait(llm.hits.length + 1)
    // Everything acknowledged before the backup command starts must be in the archive.
    const before = [...acknowledged]
    backupFile = join(source.path, "..", `${source.path.split("/").pop()}-backup.tar.gz`)
    const made = await runCli(["backup", backupFile, "--json", "--url", gw.url], {
      cwd: source.path,
      env: ENV,
      timeoutMs: 30_000,
    }).finally(() => {
      stop = true
    })
    expect(made.stderr).toBe("")
    expect(made.code).toBe(0)
    const result = JSON.parse(made.stdout) as { file: string; files: number; withSecrets: boolean }
    expect(result.file).toBe(backupFile)
    expect(result.withSecrets).toBe(false)
    await settled
    await Promise.all(loops)
    // The load really ran across the backup: turns in flight during it completed afterwards.
    expect(acknowledged.length).toBeGreaterThan(before.length)
    // Without --with-secrets: no token, no keys, and a world-readable mode is fine.
    const entries = await new Bun.Archive(readFileSync(backupFile)).files()
    const names = [...entries.keys()]
    expect(names).toContain("manifest.json")
    expect(names).toContain("state/drost.db")
    expect(names).toContain("workspace/drost.config.json")
    expect(names).toContain("workspace/memory/notes.md")
    expect(names).toContain("workspace/skills/demo/SKILL.md")
    expect(names).not.toContain("state/control-token")
    expect(names).not.toContain("state/gateway.pid")
    expect(names.some((name) => name.startsWith("state/evolution.git/") || name.startsWith("state/"))).toBe(true)
    await gw.stop()

    // Restore into another folder, then check the store directly.
    const target = await fresh()
    const restored = await runCli(["restore", backupFile], { cwd: target.path, env: ENV })
    expect(restored.stderr).toBe("")
    expect(restored.code).toBe(0)
    expect(restored.stdout).toContain("restored")
    const db = new Database(join(target.path, ".drost", "drost.db"), { readonly: true })
    try {
      expect((db.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check).toBe("ok")
      for (const turn of before) {
        const row = db.query("SELECT status, session_id FROM turns WHERE id = ?").get(turn.turnId) as {
          status: string
          session_id: string
        } | null
        expect([turn.turnId, row?.status]).toEqual([turn.turnId, "completed"])
        const message = db.query("SELECT role FROM messages WHERE id = ?").get(turn.messageId) as {
          role: string
        } | null
        expect([turn.messageId, message?.role]).toEqual([turn.messageId, "user"])
        // The answer of an acknowledged turn is there too.
        const answer = db
          .query("SELECT count(*) AS n FROM messages WHERE turn_id = ? AND role = 'assistant'")
          .get(turn.turnId) as { n: number }
        expect([turn.turnId, answer.n]).toEqual([turn.turnId, 1])
      }
    } finally {
      db.close()
    }
    expect(readFileSync(target.file("memory/notes.md"), "utf8")).toBe(FILES["memory/notes.md"])
    expect(readFileSync(target.file("tools/hello.ts"), "utf8")).toBe(FILES["tools/hello.ts"])
    expect(statSync(join(target.path, ".drost", "drost.db")).mode & 0o777).toBe(0o600)

    // The restored gateway runs on it: the sessions are listed and a new turn is answered.
    await using again = await spawnGateway(target.path, { env: ENV })
    const listed = (await (await again.api("/sessions?limit=50")).json()) as { sessions: { id: string }[] }
    for (const id of sessions) expect(listed.sessions.map((each) => each.id)).toContain(id)
    const turn = await again.api(`/sessions/${sessions[0]}/turn`, { method: "POST", json: { input: "after restore" } })
    expect(((await turn.json()) as { status: string }).status).toBe("completed")

    // A running gateway on the target: the restore refuses (even with --force).
    const busy = await runCli(["restore", backupFile, "--force"], { cwd: target.path, env: ENV })
    expect(busy.code).toBe(1)
    expect(busy.stderr).toMatch(/a gateway \(pid \d+\) runs on .*; stop it first/)
    await again.stop()
  }, 60_000)

  test("a stopped workspace is backed up directly; --with-secrets includes the token and is 0600", async () => {
    // The source gateway ran once, so the token file exists; none runs now.
    source.write(".drost/auth-profiles.json", '{ "profiles": { "gpt": { "apiKey": "sk-secret" } } }\n')
    source.write(".env", "OPS_TEST_KEY=test-key\n")
    const plain = join(source.path, "..", `${source.path.split("/").pop()}-plain.tar.gz`)
    const without = await runCli(["backup", plain], { cwd: source.path, env: ENV })
    expect([without.code, without.stderr]).toEqual([0, ""])
    const plainNames = [...(await new Bun.Archive(readFileSync(plain)).files()).keys()]
    for (const secret of ["state/auth-profiles.json", "state/control-token", "workspace/.env"])
      expect(plainNames).not.toContain(secret)
    // Nowhere in the tar, not even inside the evolution repository or the config.
    expect(Buffer.from(Bun.gunzipSync(readFileSync(plain))).includes("sk-secret")).toBe(false)
    const file = join(source.path, "..", `${source.path.split("/").pop()}-secrets.tar.gz`)
    const made = await runCli(["backup", file, "--with-secrets"], { cwd: source.path, env: ENV })
    expect(made.stderr).toBe("")
    expect(made.stdout).toContain("via the workspace (no gateway runs)")
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const names = [...(await new Bun.Archive(readFileSync(file)).files()).keys()]
    expect(names).toContain("state/control-token")
    expect(names).toContain("state/auth-profiles.json")
    expect(names).toContain("workspace/.env")
    // The lock was released: a gateway starts on the workspace afterwards.
    expect(existsSync(join(source.path, ".drost", "gateway.pid"))).toBe(false)
  })

  test("a damaged, a foreign or a missing archive is refused with one line and nothing written", async () => {
    const bytes = readFileSync(backupFile)
    // Flip one stored byte in the middle: the gzip layer or the entry's checksum catches it.
    const damaged = new Uint8Array(bytes)
    damaged[Math.floor(damaged.length / 2)]! ^= 0xff
    const damagedFile = `${backupFile}.damaged.tar.gz`
    writeFileSync(damagedFile, damaged)
    // A well-formed archive whose entry does not match the manifest.
    const entries = await new Bun.Archive(bytes).files()
    const tampered: Record<string, Blob> = {}
    for (const [name, entry] of entries) tampered[name] = entry
    tampered["workspace/memory/notes.md"] = new Blob(["# Notes\nThe owner likes coffee.\n"])
    const tamperedFile = `${backupFile}.tampered.tar.gz`
    writeFileSync(tamperedFile, await new Bun.Archive(tampered, { compress: "gzip" }).bytes())
    const foreignFile = `${backupFile}.foreign.tar.gz`
    writeFileSync(foreignFile, await new Bun.Archive({ "README.md": "hello" }, { compress: "gzip" }).bytes())
    const otherFile = `${backupFile}.other.tar.gz`
    writeFileSync(
      otherFile,
      await new Bun.Archive({ "manifest.json": '{"format":"something-else"}' }, { compress: "gzip" }).bytes(),
    )
    // A manifest naming a path outside the workspace (with its right checksum) is refused before any write.
    const escapeFile = `${backupFile}.escape.tar.gz`
    const evil = new TextEncoder().encode("x")
    const evilManifest = {
      format: "drost-backup",
      version: 1,
      files: [
        {
          path: "workspace/../../escaped",
          size: 1,
          mode: 0o644,
          sha256: new Bun.CryptoHasher("sha256").update(evil).digest("hex"),
        },
      ],
    }
    writeFileSync(
      escapeFile,
      await new Bun.Archive(
        { "manifest.json": JSON.stringify(evilManifest), "workspace/../../escaped": evil },
        { compress: "gzip" },
      ).bytes(),
    )
    const cases: [string, RegExp][] = [
      [damagedFile, /not a readable archive|damaged: .* does not match its checksum/],
      [tamperedFile, /damaged: workspace\/memory\/notes\.md does not match its checksum; nothing was restored/],
      [foreignFile, /not a drost backup \(no manifest\.json\); nothing was restored/],
      [otherFile, /not a drost backup \(its manifest\.json has no format "drost-backup"\)/],
      [escapeFile, /the manifest names an unsafe path "workspace\/\.\.\/\.\.\/escaped"/],
    ]
    for (const [file, pattern] of cases) {
      const target = await fresh()
      const refused = await runCli(["restore", file], { cwd: target.path, env: ENV })
      expect([file, refused.code]).toEqual([file, 1])
      expect(refused.stderr.trim().split("\n")).toHaveLength(1)
      expect(refused.stderr).toMatch(pattern)
      expect(readdirSync(target.path)).toEqual([])
    }
  })

  test("an existing workspace needs --force, and then keeps its old state aside", async () => {
    const target = await fresh()
    target.write("memory/mine.md", "my own note\n")
    target.write(".drost/marker", "old state\n")
    const refused = await runCli(["restore", backupFile], { cwd: target.path, env: ENV })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/is not empty \(\.drost, memory\); .* --force/)
    expect(readFileSync(target.file("memory/mine.md"), "utf8")).toBe("my own note\n")

    const forced = await runCli(["restore", backupFile, "--force", "--json"], { cwd: target.path, env: ENV })
    expect(forced.stderr).toBe("")
    const result = JSON.parse(forced.stdout) as { aside: string }
    expect(result.aside).toMatch(/\.drost\.before-restore-/)
    expect(readFileSync(join(result.aside, "workspace", "memory", "mine.md"), "utf8")).toBe("my own note\n")
    expect(readFileSync(join(result.aside, "state", "marker"), "utf8")).toBe("old state\n")
    expect(readFileSync(target.file("memory/notes.md"), "utf8")).toBe(FILES["memory/notes.md"])
    expect(existsSync(target.file(".drost/marker"))).toBe(false)
  })

  test("scheduled backups: written at backup.every into backup.dir, the oldest beyond backup.keep deleted", async () => {
    await using ws = await workspace({
      config: opsConfig(llm.baseUrl, { backup: { every: "1s", keep: 2, dir: "archives" } }),
      files: { ...FILES, "archives/keep-me.txt": "not a backup\n" },
    })
    const seen = new Set<string>()
    const ours = () => readdirSync(ws.file("archives")).filter((name) => name.startsWith("drost-backup-"))
    {
      await using gw = await spawnGateway(ws.path, { env: ENV })
      // Wait (bounded) until a third backup was written: retention must then have removed the first.
      for (let i = 0; i < 200 && seen.size < 3; i++) {
        for (const name of ours()) if (!name.endsWith(".partial")) seen.add(name)
        await Bun.sleep(50)
      }
      expect(seen.size).toBeGreaterThanOrEqual(3)
      await gw.stop()
    }
    const left = ours().filter((name) => !name.startsWith("."))
    expect(left.length).toBeLessThanOrEqual(2)
    expect(left).not.toContain([...seen].sort()[0])
    expect(readFileSync(ws.file("archives/keep-me.txt"), "utf8")).toBe("not a backup\n")
    // A scheduled backup restores like any other, and it does not contain the backups folder.
    const newest = left.sort().at(-1)!
    const names = [...(await new Bun.Archive(readFileSync(ws.file(`archives/${newest}`))).files()).keys()]
    expect(names.some((name) => name.includes("archives/"))).toBe(false)
    const target = await fresh()
    const restored = await runCli(["restore", ws.file(`archives/${newest}`)], { cwd: target.path, env: ENV })
    expect([restored.code, restored.stderr]).toEqual([0, ""])
  }, 30_000)
})
