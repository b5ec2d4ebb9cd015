import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs"
import { join } from "node:path"
import { buildBinary } from "./binary.ts"

// Each test spawns real processes (CLI runs, a gateway); a loaded CI machine needs more than 5 s.
setDefaultTimeout(30_000)

const root = () => process.env.DROST_TEST_ROOT ?? "/tmp"

async function readyLine(proc: Bun.Subprocess<"ignore", "pipe", "pipe">): Promise<{ url: string; out: string }> {
  const decoder = new TextDecoder()
  let out = ""
  for await (const chunk of proc.stdout) {
    out += decoder.decode(chunk)
    const line = out.split("\n").find((candidate) => candidate.startsWith('{"ready":true'))
    if (line) return { url: (JSON.parse(line) as { url: string }).url, out }
  }
  throw new Error(`exited before ready:\n${out}\n${await new Response(proc.stderr).text()}`)
}

// Each binary is over 100 MB: don't leave them in the temp root.
afterAll(() => rmSync(join(root(), "bin"), { recursive: true, force: true }))

describe("the compiled binary", () => {
  test("build.ts compiles dist/drost with version and commit injected and passes its own smoke run", async () => {
    const { file, stdout } = await buildBinary()
    expect(stdout).toContain("smoke ok")
    const size = Bun.file(file).size
    expect(size).toBeGreaterThan(50 * 1024 * 1024)
    const version = Bun.spawnSync([file, "version"], { stdout: "pipe" }).stdout.toString()
    const pkg = JSON.parse(readFileSync(join(import.meta.dir, "../../package.json"), "utf8")) as { version: string }
    expect(version).toMatch(new RegExp(`^drost ${pkg.version.replaceAll(".", "\\.")} \\([0-9a-f]{12}(-dirty)?\\)`))
  }, 60_000)

  test("runs with an empty environment (no bun, no node, empty HOME) in an empty folder: healthy gateway and a demo turn", async () => {
    const { file } = await buildBinary()
    const folder = mkdtempSync(join(root(), "empty-"))
    const home = mkdtempSync(join(root(), "home-"))
    const bin = join(root(), "nothing-on-path")
    mkdirSync(bin, { recursive: true })
    // `env -i`: nothing inherited at all; PATH holds a folder with neither bun nor node.
    const proc = Bun.spawn(["env", "-i", `PATH=${bin}`, `HOME=${home}`, file, "start", "--port", "0"], {
      cwd: folder,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    })
    try {
      expect(Bun.which("bun", { PATH: bin })).toBeNull()
      expect(Bun.which("node", { PATH: bin })).toBeNull()
      const { url } = await readyLine(proc)
      expect((await fetch(`${url}/healthz`)).status).toBe(200)
      const token = readFileSync(join(folder, ".drost/control-token"), "utf8").trim()
      const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" }
      const session = (await (
        await fetch(`${url}/control/v1/sessions`, { method: "POST", headers, body: "{}" })
      ).json()) as { id: string }
      const turn = await fetch(`${url}/control/v1/sessions/${session.id}/turn`, {
        method: "POST",
        headers,
        body: JSON.stringify({ input: "list files" }),
      })
      expect(turn.status).toBe(200)
      const result = (await turn.json()) as { status: string; text: string }
      expect(result.status).toBe("completed")
      expect(result.text).toContain("file.list")
      expect(readdirSync(folder).sort()).toEqual([".drost", "memory", "prompts", "skills", "tools"])
      proc.kill("SIGTERM")
      expect(await proc.exited).toBe(0)
    } finally {
      proc.kill("SIGKILL")
    }
  }, 60_000)

  test("setup through the binary: without a TTY it exits 2 at once; --yes writes a workspace whose tool runs in a sandboxed host (the binary itself); the docs UI is served offline", async () => {
    const { file } = await buildBinary()
    const folder = mkdtempSync(join(root(), "setup-bin-"))
    const env = ["env", "-i", "PATH=/nonexistent", `HOME=${folder}`]
    const started = performance.now()
    const refused = Bun.spawnSync([...env, file, "setup"], {
      cwd: folder,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    })
    expect(performance.now() - started).toBeLessThan(2000)
    expect(refused.exitCode).toBe(2)
    expect(refused.stderr.toString()).toContain("--yes")

    const setup = Bun.spawnSync([...env, file, "setup", "--yes", "--port", "0"], {
      cwd: folder,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    })
    expect(setup.stderr.toString()).toBe("")
    expect(setup.exitCode).toBe(0)
    expect(readFileSync(join(folder, "prompts/system.md"), "utf8")).toBe(
      readFileSync(join(import.meta.dir, "../../prompts/system.md"), "utf8"),
    )

    const proc = Bun.spawn([...env, file, "start"], { cwd: folder, stdin: "ignore", stdout: "pipe", stderr: "pipe" })
    try {
      const { url } = await readyLine(proc)
      const token = readFileSync(join(folder, ".drost/control-token"), "utf8").trim()
      const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" }
      const clock = await fetch(`${url}/control/v1/tools/clock/execute`, {
        method: "POST",
        headers,
        body: JSON.stringify({ timeZone: "UTC" }),
      })
      expect(clock.status).toBe(200)
      const result = (await clock.json()) as { isError: boolean; output: string }
      expect(result.isError).toBe(false)
      expect(result.output).toContain(String(new Date().getUTCFullYear()))
      const ui = await fetch(`${url}/control/v1/docs/swagger-ui-bundle.js`, { headers })
      expect(ui.status).toBe(200)
      expect((await ui.arrayBuffer()).byteLength).toBeGreaterThan(500_000)
      proc.kill("SIGTERM")
      expect(await proc.exited).toBe(0)
    } finally {
      proc.kill("SIGKILL")
    }
  }, 60_000)

  test("cross-compiles one extra release target (linux-arm64) into an aarch64 ELF", async () => {
    const { file, stdout } = await buildBinary(["--target", "linux-arm64"], "drost-linux-arm64")
    expect(stdout).not.toContain("smoke ok")
    const head = new Uint8Array(await Bun.file(file).slice(0, 20).arrayBuffer())
    expect([...head.slice(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46])
    // e_machine at offset 18, little endian: 0xB7 = EM_AARCH64.
    expect(head[18]! | (head[19]! << 8)).toBe(0xb7)
  }, 120_000)
})
