/**
 * Layering: imports point down the stack only (docs/architecture.md). Type-only imports are erased by
 * the transpiler's scan and may point anywhere.
 */
import { expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"

const SRC = join(import.meta.dir, "../src")
const RANK: Record<string, number> = {
  util: 0,
  core: 0,
  sdk: 1,
  sandbox: 1,
  workspace: 1,
  // Agent Skills (src/skills): over the workspace boundary, used by the skill tools, the gateway and the CLI.
  skills: 1.5,
  bus: 2,
  store: 2,
  providers: 2,
  tool: 2,
  memory: 2,
  evolve: 3,
  approval: 3,
  agent: 4,
  // Plugins (src/plugins): loaded by the gateway into its registries; below it, above what they register into.
  plugins: 4.5,
  gateway: 5,
  // The MCP server (src/mcp): over the gateway, served by api (/mcp) and cli (drost mcp serve).
  mcp: 5.5,
  // Operations (src/ops): backup, restore, scheduled backups, self-update; over the gateway, used by api and cli.
  ops: 5.7,
  // Prometheus metrics (src/metrics): read the gateway's bus and state; served by api (GET /metrics).
  metrics: 5.8,
  api: 6,
  channels: 6,
  cli: 7,
  "index.ts": 8,
}
/** Same-rank or upward imports that are part of the design. */
const ALLOWED = new Set(["cli→api", "cli→channels", "memory→store"])

test("src/ layers import downwards only", () => {
  const transpiler = new Bun.Transpiler({ loader: "ts" })
  const problems: string[] = []
  for (const file of new Bun.Glob("**/*.ts").scanSync(SRC)) {
    if (file.endsWith(".d.ts")) continue
    const from = file.split("/")[0]!
    const imports = transpiler.scanImports(readFileSync(join(SRC, file), "utf8").replace(/^#!.*\n/, ""))
    for (const entry of imports) {
      if (!entry.path.startsWith(".")) continue
      const target = relative(SRC, resolve(dirname(join(SRC, file)), entry.path))
      if (target.startsWith("..")) continue // e.g. embedded assets outside src/
      const to = target.split("/")[0]!
      if (to === from || ALLOWED.has(`${from}→${to}`)) continue
      if (RANK[from] === undefined || RANK[to] === undefined) {
        problems.push(`${file}: folder "${RANK[from] === undefined ? from : to}" has no layer in test/arch.test.ts`)
        continue
      }
      if (RANK[to]! >= RANK[from]!) problems.push(`${file} imports ${target} (${from} may not depend on ${to})`)
    }
  }
  expect(problems).toEqual([])
})
