/**
 * `deno check tools/x.ts` on workspace tools (issue 16 item 8), with the real deno from npm
 * (node_modules/.bin/deno), offline: a fresh DENO_DIR, `--no-remote --cached-only`, so nothing may be
 * downloaded. Every template of `drost tool new` (the real CLI) and a drost.config.ts type-check
 * unchanged with the documented setup (docs/tools.md: a deno.json mapping `drost` to the workspace's
 * node_modules/drost copy, alone or beside a package.json) and with an import map to a checkout's
 * src/sdk/mod.ts.
 * A tool that misuses the SDK's types fails, so the check is real. Before, the first setup failed
 * with TS2558 (the copy's index.js was untyped for Deno) and the last with `Import "@sinclair/typebox"
 * not a dependency` (the SDK's config type came from TypeBox).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { ConfigInput as Validated } from "../../src/core/config.ts"
import type { ConfigInput as Shipped } from "../../src/sdk/config-input.ts"
import { configInputFile } from "../../src/tool/sdk-source.ts"
import { TEMPLATES } from "../../src/tool/templates.ts"
import { demoConfig } from "../lib/config.ts"
import { runCli } from "../lib/gateway.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"

const ROOT = join(import.meta.dir, "../..")
const DENO = join(ROOT, "node_modules/.bin/deno")
const denoDir = mkdtempSync(join(tmpdir(), "drost-deno-dir-"))

// Every config the schema accepts after defaults is accepted by the shipped type (checked by tsc with the
// rest of the tree); the shipped type also lets a file leave out what has a default.
type Accepts<A, B> = [A] extends [B] ? true : false
const same: Accepts<Validated, Shipped> = true
const minimalTelegram: Shipped["channels"] = [{ kind: "telegram", allowedUsers: [123] }]

let made: Workspace

beforeAll(async () => {
  made = await workspace({ config: demoConfig() })
  for (const template of TEMPLATES) {
    const result = await runCli(["tool", "new", `t_${template}`, "--template", template], { cwd: made.path })
    expect([template, result.code, result.stderr]).toEqual([template, 0, ""])
  }
}, 30_000)

afterAll(async () => {
  rmSync(denoDir, { recursive: true, force: true })
  await made?.[Symbol.asyncDispose]()
})

async function denoCheck(cwd: string, files: string[]) {
  const proc = Bun.spawn([DENO, "check", "--no-remote", "--cached-only", ...files], {
    cwd,
    env: { ...process.env, DENO_DIR: denoDir, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    stdout: "pipe",
    stderr: "pipe",
  })
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  return { code, output: `${stdout}${stderr}` }
}

/** The deno.json of docs/tools.md; `nodeModulesDir: "none"` keeps it working beside a package.json. */
const DENO_JSON = JSON.stringify({ imports: { drost: "./node_modules/drost/index.js" }, nodeModulesDir: "none" })

const SETUPS: Record<string, Record<string, string>> = {
  "the documented deno.json (node_modules/drost)": { "deno.json": DENO_JSON },
  "the documented deno.json beside a package.json (after npm i -D deno)": {
    "deno.json": DENO_JSON,
    "package.json": JSON.stringify({ name: "my-agent", private: true, devDependencies: { deno: "2.9.6" } }),
  },
  "an import map to a checkout's src/sdk/mod.ts": {
    "deno.json": JSON.stringify({ imports: { drost: join(ROOT, "src/sdk/mod.ts") } }),
  },
}

describe("deno check on workspace tools", () => {
  test("the shipped config type is generated from the schema and up to date", () => {
    expect(same).toBe(true)
    expect(minimalTelegram).toHaveLength(1)
    const committed = readFileSync(join(ROOT, "src/sdk/config-input.ts"), "utf8")
    const rewrite = `bun -e 'import("./src/tool/sdk-source.ts").then((m) => Bun.write("src/sdk/config-input.ts", m.configInputFile()))'`
    expect([committed === configInputFile() ? "up to date" : `out of date; rewrite it: ${rewrite}`]).toEqual([
      "up to date",
    ])
  })

  for (const [setup, files] of Object.entries(SETUPS))
    test(`every template passes with ${setup}; a type error fails`, async () => {
      await using ws = await workspace({ config: demoConfig(), files })
      // What `drost tool new` wrote (tools/ and node_modules/drost), made once for all setups.
      for (const dir of ["tools", "node_modules"]) cpSync(join(made.path, dir), ws.file(dir), { recursive: true })
      ws.write(
        "drost.config.ts",
        // As README shows it: a Telegram channel with only its allow-list, every other key defaulted.
        'import { defineConfig } from "drost"\n\nexport default defineConfig({ providers: { defaultSessionProvider: "demo", profiles: [{ id: "demo", kind: "demo" }] }, controlApi: { port: 7420 }, channels: [{ kind: "telegram", allowedUsers: [123] }] })\n',
      )
      const tools = TEMPLATES.map((template) => `tools/t_${template}.ts`)
      const passed = await denoCheck(ws.path, [...tools, "drost.config.ts"])
      expect([passed.code, passed.output]).toEqual([0, expect.not.stringContaining("ERROR")])

      ws.write(
        "tools/wrong.ts",
        'import { defineTool } from "drost"\n\nexport default defineTool<{ text: string }>({\n  name: "wrong",\n  description: "x",\n  parameters: { type: "object" },\n  execute({ text }, ctx) {\n    const length: number = text\n    return ctx.workspace.nope\n  },\n})\n',
      )
      ws.write(
        "bad.config.ts",
        'import { defineConfig } from "drost"\n\nexport default defineConfig({ providers: { profiles: [{ id: "x", kind: "gpt" }] } })\n',
      )
      const failed = await denoCheck(ws.path, ["tools/wrong.ts", "bad.config.ts"])
      expect(failed.code).not.toBe(0)
      expect(failed.output).toContain("TS2322") // string is not assignable to number; "gpt" is not a kind
      expect(failed.output).toContain("TS2339") // nope is not in ctx.workspace
      expect(failed.output).not.toContain("not a dependency")
      expect(failed.output).not.toContain("Download")
    }, 60_000)
})
