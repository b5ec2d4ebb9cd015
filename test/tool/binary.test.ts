/**
 * The compiled binary (built through build.ts) loads a workspace tool that imports `drost` and an npm
 * package from the workspace's own node_modules, with no bun or node on PATH: `drost tool check` and
 * a running gateway both use it. The tool host is the binary itself started with a hidden argument,
 * inside bubblewrap (the only program on PATH): not the gateway's process, no view of `.drost/`.
 * tools/ is watched there too (inotify through bun:ffi): an edit is used by the next call.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs"
import { join } from "node:path"
import { buildBinary } from "../binary/binary.ts"
import { workspace } from "../lib/workspace.ts"

const root = () => process.env.DROST_TEST_ROOT ?? "/tmp"
let binary: string | null = null
afterAll(() => {
  if (binary) rmSync(binary, { force: true })
})

const TOOL = `import { defineTool, version } from "drost"
import shout from "shout"
export default defineTool({
  name: "loud",
  description: "shouts",
  parameters: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
  execute: ({ text }) => shout(text) + " sdk " + version,
})
`

const PROBE = `import { defineTool } from "drost"
import { existsSync, readFileSync } from "node:fs"
export default defineTool({
  name: "probe",
  description: "where am I",
  parameters: { type: "object", properties: {} },
  execute: () => ({ pid: process.pid, token: existsSync(".drost/control-token") ? readFileSync(".drost/control-token", "utf8") : null }),
})
`

describe("workspace tools in the compiled binary", () => {
  test("a tool importing drost and a workspace npm package loads and runs", async () => {
    binary = (await buildBinary([], "drost-tools")).file
    await using ws = await workspace({
      files: {
        "tools/loud.ts": TOOL,
        "tools/probe.ts": PROBE,
        "node_modules/shout/package.json": JSON.stringify({
          name: "shout",
          version: "1.0.0",
          type: "module",
          main: "index.js",
        }),
        "node_modules/shout/index.js": "export default (text) => text.toUpperCase() + '!'\n",
      },
    })
    const empty = mkdtempSync(join(root(), "no-bun-on-path-"))
    symlinkSync("/usr/bin/bwrap", join(empty, "bwrap"))
    const home = mkdtempSync(join(root(), "home-"))
    const env = { PATH: empty, HOME: home, DROST_LOG_LEVEL: "debug" }

    const check = Bun.spawnSync([binary, "tool", "check", "tools/loud.ts"], {
      cwd: ws.path,
      env,
      stdout: "pipe",
      stderr: "pipe",
    })
    expect(check.stdout.toString()).toContain("ok  tools/loud.ts  loud: shouts")
    expect(check.exitCode).toBe(0)

    const proc = Bun.spawn([binary, "start", "--port", "0"], {
      cwd: ws.path,
      env,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    })
    // Read all along (debug lines must never fill the pipe and stall the gateway).
    const stderr = new Response(proc.stderr).text()
    try {
      let out = ""
      let url = ""
      let pid = 0
      for await (const chunk of proc.stdout) {
        out += new TextDecoder().decode(chunk)
        const line = out.split("\n").find((candidate) => candidate.startsWith('{"ready":true'))
        if (line) {
          ;({ url, pid } = JSON.parse(line) as { url: string; pid: number })
          break
        }
      }
      expect(url).not.toBe("")
      const token = readFileSync(join(ws.path, ".drost/control-token"), "utf8").trim()
      const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" }
      const listing = (await (await fetch(`${url}/control/v1/tools`, { headers })).json()) as {
        tools: { name: string }[]
        rejected: unknown[]
      }
      expect(listing.rejected).toEqual([])
      expect(listing.tools.map((tool) => tool.name)).toContain("loud")
      const run = await fetch(`${url}/control/v1/tools/loud/execute`, {
        method: "POST",
        headers,
        body: JSON.stringify({ text: "hey" }),
      })
      expect(await run.json()).toMatchObject({ output: "HEY! sdk 0.1.0", isError: false })
      const probe = await fetch(`${url}/control/v1/tools/probe/execute`, { method: "POST", headers, body: "{}" })
      const seen = JSON.parse(((await probe.json()) as { output: string }).output) as { pid: number; token: string }
      expect(seen.pid).not.toBe(pid)
      expect(seen.token ?? "").not.toContain(token)

      // tools/ is watched inside the binary too (inotify through bun:ffi): an edit in place and a file
      // in a new folder are used by the very next call, made right after the write.
      const execute = async (name: string, body: unknown) =>
        (await (
          await fetch(`${url}/control/v1/tools/${name}/execute`, {
            method: "POST",
            headers,
            body: JSON.stringify(body),
          })
        ).json()) as { output: string }
      ws.write("tools/loud.ts", TOOL.replace('" sdk "', '" edited sdk "'))
      expect((await execute("loud", { text: "hey" })).output).toBe("HEY! edited sdk 0.1.0")
      mkdirSync(join(ws.path, "tools/more"))
      ws.write("tools/more/quiet.ts", TOOL.replace('name: "loud"', 'name: "quiet"').replace("shout(text)", "text"))
      expect((await execute("quiet", { text: "hey" })).output).toBe("hey sdk 0.1.0")
    } finally {
      proc.kill("SIGKILL")
      await proc.exited
    }
    expect(await stderr).toContain("tools/ is watched")
  }, 120_000)
})
