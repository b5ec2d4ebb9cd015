/**
 * Through the compiled binary (issue 21 items 1 and 4): `drost update` against a loopback release
 * server with a good release (a real binary of this tree built with a higher version injected, as
 * build.ts's `define` does), a broken one (fails the health gate: rolled back, the old binary runs
 * again) and a tampered one (refused by SHA256SUMS); the running gateway restarts through its
 * supervisor onto the new version. Backup and restore through the binary too.
 */
import { Database } from "bun:sqlite"
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { join } from "node:path"
import { compile } from "../../build.ts"
import { prebuiltOr } from "../binary/binary.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { demoConfig } from "../lib/config.ts"
import { workspace } from "../lib/workspace.ts"
import { assetName } from "../../src/ops/release.ts"

const ROOT = process.env.DROST_TEST_ROOT ?? "/tmp"
const NEXT = "9.9.9"
let dir = ""
let installed = ""
let oldVersion = ""
let server: ReturnType<typeof Bun.serve> | null = null
let base = ""

/** Asynchronous: the release server lives in this process, so its event loop must keep running. */
async function run(binary: string, args: string[], cwd: string, timeoutMs = 60_000) {
  const proc = Bun.spawn([binary, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: cwd, NO_COLOR: "1", DROST_TEST_ROOT: ROOT },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  })
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs)
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  clearTimeout(timer)
  return { code, stdout, stderr }
}

const sha = async (file: string) => new Bun.CryptoHasher("sha256").update(await Bun.file(file).bytes()).digest("hex")

beforeAll(async () => {
  const built = await prebuiltOr("drost")
  dir = mkdtempSync(join(ROOT, "ops-update-"))
  const next = join(dir, "release-next")
  await compile({ outfile: next, version: NEXT, commit: "next" })
  // Passes the gate (in its scratch folder it is the good release) but fails on the real workspace.
  const late = join(dir, "release-late")
  await Bun.write(
    late,
    `#!/bin/sh\ncase "$PWD" in */drost-update-gate-*) exec "${next}" "$@";; esac\necho 'drost: fails on this workspace' >&2\nexit 3\n`,
  )
  chmodSync(late, 0o755)
  const broken = join(dir, "release-broken")
  await Bun.write(broken, "#!/bin/sh\necho 'drost: this build is broken' >&2\nexit 3\n")
  chmodSync(broken, 0o755)
  installed = join(dir, "bin", "drost")
  mkdirSync(join(dir, "bin"))
  copyFileSync(built.file, installed)
  chmodSync(installed, 0o755)
  oldVersion = (await run(installed, ["--version"], dir)).stdout.trim()
  const asset = assetName()
  const releases: Record<string, { version: string; file: string; sum: string }> = {
    good: { version: NEXT, file: next, sum: await sha(next) },
    broken: { version: NEXT, file: broken, sum: await sha(broken) },
    late: { version: NEXT, file: late, sum: await sha(late) },
    // The good checksum, other bytes: a download that was tampered with.
    tampered: { version: NEXT, file: broken, sum: await sha(next) },
  }
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const [, name, file] = new URL(request.url).pathname.split("/")
      const release = releases[name ?? ""]
      if (!release) return new Response("no such release", { status: 404 })
      if (file === "VERSION") return new Response(`${release.version}\n`)
      if (file === "SHA256SUMS") return new Response(`${release.sum}  ${asset}\n${"0".repeat(64)}  drost-other-os\n`)
      if (file === asset) return new Response(Bun.file(release.file))
      return new Response("not found", { status: 404 })
    },
  })
  base = `http://127.0.0.1:${server.port}`
}, 600_000)

afterAll(async () => {
  await server?.stop(true)
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** A port that was free a moment ago: the restarted gateway must come back on the same one. */
function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() })
  const port = probe.port!
  probe.stop(true)
  return port
}

describe("drost update (compiled)", () => {
  test("--check says what exists; without a URL it names the setting", async () => {
    expect(oldVersion).toMatch(/^\d+\.\d+\.\d+/)
    const check = await run(installed, ["update", "--check", "--base-url", `${base}/good/`], dir)
    expect([check.code, check.stdout.trim()]).toEqual([
      0,
      `drost ${oldVersion} · latest ${NEXT} · update available: drost update`,
    ])
    // From the config's update.baseUrl (what a scheduled `drost update --check` would use).
    await using ws = await workspace({ config: demoConfig({ update: { baseUrl: `${base}/good` } }) })
    const configured = await run(installed, ["update", "--check", "-w", ws.path], dir)
    expect([configured.code, configured.stdout]).toEqual([0, check.stdout])
    const none = await run(installed, ["update"], dir)
    expect(none.code).toBe(1)
    expect(none.stderr).toContain("no release URL: set update.baseUrl in the config")
  })

  test("a tampered download is refused by SHA256SUMS; nothing changes", async () => {
    const before = await sha(installed)
    const refused = await run(installed, ["update", "--base-url", `${base}/tampered/`], dir)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain(`${assetName()} does not match SHA256SUMS`)
    expect(await sha(installed)).toBe(before)
  })

  test("a release that fails the health gate is rolled back and the old binary runs again", async () => {
    const before = await sha(installed)
    const failed = await run(installed, ["update", "--base-url", `${base}/broken/`], dir, 120_000)
    expect(failed.code).toBe(1)
    expect(failed.stderr).toContain(`drost ${NEXT} failed the health gate`)
    expect(failed.stderr).toContain(`rolled back to ${oldVersion}`)
    expect(failed.stderr).toContain("this build is broken")
    expect(await sha(installed)).toBe(before)
    expect((await run(installed, ["--version"], dir)).stdout.trim()).toBe(oldVersion)
  }, 120_000)

  test("a release whose restarted gateway does not come back healthy is rolled back; the old one runs again", async () => {
    const before = await sha(installed)
    await using ws = await workspace({
      config: demoConfig({
        controlApi: { port: freePort() },
        evolution: { healthGate: { timeoutMs: 10_000 } },
        shutdown: { graceMs: 1_000 },
        supervisor: { backoffMs: 500, maxBackoffMs: 1_000, maxCrashes: 50 },
      }),
    })
    await using gw = await spawnGateway(ws.path, { command: [installed] })
    const failed = await run(installed, ["update", "--base-url", `${base}/late/`, "-w", ws.path], ws.path, 120_000)
    expect(failed.code).toBe(1)
    expect(failed.stdout).toContain(`updated drost ${oldVersion} → ${NEXT}`)
    expect(failed.stderr).toContain(
      `the gateway did not come back healthy on drost ${NEXT}; rolled back to ${oldVersion}`,
    )
    expect(await sha(installed)).toBe(before)
    // The supervisor's next start runs the previous executable again: the old version answers.
    let version = ""
    for (let i = 0; i < 150 && version !== oldVersion; i++) {
      await Bun.sleep(100)
      const answer = await gw.api("/status").catch(() => null)
      if (answer?.ok) version = ((await answer.json()) as { version: string }).version
    }
    expect(version).toBe(oldVersion)
    await gw.stop()
  }, 180_000)

  test("a good release is swapped in, the running gateway restarts on it through its supervisor", async () => {
    await using ws = await workspace({ config: demoConfig({ controlApi: { port: freePort() } }) })
    await using gw = await spawnGateway(ws.path, { command: [installed] })
    const status = async () => (await (await gw.api("/status")).json()) as { version: string }
    expect((await status()).version).toBe(oldVersion)
    const updated = await run(installed, ["update", "--base-url", `${base}/good/`, "-w", ws.path], ws.path, 180_000)
    expect(updated.stderr).toBe("")
    expect(updated.code).toBe(0)
    expect(updated.stdout).toContain(`updated drost ${oldVersion} → ${NEXT}`)
    expect(updated.stdout).toContain(`the gateway restarted on drost ${NEXT}`)
    expect((await status()).version).toBe(NEXT)
    expect((await run(installed, ["--version"], dir)).stdout.trim()).toBe(NEXT)
    expect((await run(`${installed}.previous`, ["--version"], dir)).stdout.trim()).toBe(oldVersion)
    // Now the latest: --check exits 3.
    const check = await run(installed, ["update", "--check", "--base-url", `${base}/good/`], dir)
    expect([check.code, check.stdout.trim()]).toEqual([3, `drost ${NEXT} · latest ${NEXT} · up to date`])
    await gw.stop()
  }, 240_000)
})

describe("drost backup and restore (compiled)", () => {
  test("a backup of a running gateway restores elsewhere and the restored gateway answers", async () => {
    const binary = (await prebuiltOr("drost")).file
    await using ws = await workspace({ config: demoConfig(), files: { "memory/notes.md": "# Notes\n" } })
    await using gw = await spawnGateway(ws.path, { command: [binary] })
    const created = (await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }
    const turns: string[] = []
    for (let i = 0; i < 3; i++) {
      const turn = await gw.api(`/sessions/${created.id}/turn`, { method: "POST", json: { input: `hello ${i}` } })
      turns.push(((await turn.json()) as { turnId: string }).turnId)
    }
    const file = `${ws.path}-binary-backup.tar.gz`
    const made = await run(binary, ["backup", file, "--url", gw.url], ws.path)
    expect([made.code, made.stderr]).toEqual([0, ""])
    expect(made.stdout).toContain("via the running gateway")
    await gw.stop()
    await using target = await workspace()
    const restored = await run(binary, ["restore", file], target.path)
    expect([restored.code, restored.stderr]).toEqual([0, ""])
    const db = new Database(join(target.path, ".drost", "drost.db"), { readonly: true })
    expect((db.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check).toBe("ok")
    for (const id of turns)
      expect((db.query("SELECT status FROM turns WHERE id = ?").get(id) as { status: string }).status).toBe("completed")
    db.close()
    expect(existsSync(join(target.path, "memory", "notes.md"))).toBe(true)
    await using again = await spawnGateway(target.path, { command: [binary] })
    const turn = await again.api(`/sessions/${created.id}/turn`, { method: "POST", json: { input: "after" } })
    expect(((await turn.json()) as { status: string }).status).toBe("completed")
    await again.stop()
    rmSync(file, { force: true })
  }, 120_000)
})
