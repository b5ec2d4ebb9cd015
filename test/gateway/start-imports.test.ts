/**
 * What `drost start` loads before it answers: packages that serve one optional feature are imported on
 * first use, not on every start (issue 23, target 5: cold start against a bare `Bun.serve`). Each of
 * these cost a measurable share of a start (bench/startup.ts, a CPU profile of the gateway with
 * `BUN_OPTIONS=--cpu-prof`): the MCP server SDK (with Ajv and Zod) behind `/mcp`, linkedom and
 * Readability behind `web.fetch`'s HTML reading.
 *
 * Read from the bundler's metafile: the static import graph from the CLI's `start` command (what runs
 * before `/healthz` answers; `import()` edges are loaded later, on demand). A path through it to one of
 * these packages fails with the chain, so the import that pulled it in is named.
 */
import { afterAll, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const ROOT = join(import.meta.dir, "../..")
const out = mkdtempSync(join(tmpdir(), "drost-start-imports-"))
afterAll(() => rmSync(out, { recursive: true, force: true }))

/** Loaded on first use only (each named by the feature that needs it). */
const LAZY = {
  "@modelcontextprotocol/sdk": "/mcp (src/api/mcp.ts) and MCP servers (src/tool/mcp.ts)",
  ajv: "workspace tool schemas (src/tool/validate.ts) and the MCP SDK",
  zod: "the MCP SDK",
  linkedom: "web.fetch reading HTML (src/tool/builtin/html-text.ts)",
  "@mozilla/readability": "web.fetch's article mode (src/tool/builtin/html-text.ts)",
  "isomorphic-git": "evolution (src/util/git-module.ts)",
}

test("the start path imports no package that only an optional feature needs", async () => {
  const built = await Bun.build({
    entrypoints: [join(ROOT, "src/index.ts")],
    root: ROOT,
    target: "bun",
    splitting: true,
    packages: "external",
    metafile: true,
    outdir: out,
  })
  expect(built.success).toBe(true)
  const inputs = built.metafile!.inputs
  expect(inputs["src/cli/start.ts"]).toBeDefined()
  // Breadth first over static imports, remembering how each file was reached.
  const via = new Map<string, string | null>([["src/cli/start.ts", null]])
  const queue = ["src/cli/start.ts"]
  while (queue.length > 0) {
    const file = queue.shift()!
    for (const edge of inputs[file]?.imports ?? []) {
      if (edge.kind !== "import-statement" || via.has(edge.path)) continue
      via.set(edge.path, file)
      queue.push(edge.path)
    }
  }
  // The graph is the real one: the gateway and the Control API are on it.
  expect(via.has("src/gateway/gateway.ts")).toBe(true)
  expect(via.has("src/api/app.ts")).toBe(true)
  const chain = (file: string) => {
    const steps = [file]
    for (let at = via.get(file); at; at = via.get(at)) steps.unshift(at)
    return steps.join(" → ")
  }
  const loaded = [...via.keys()].flatMap((path) =>
    Object.entries(LAZY)
      .filter(([name]) => path === name || path.startsWith(`${name}/`))
      .map(([name, feature]) => `${name} (for ${feature}): ${chain(path)}`),
  )
  expect(loaded).toEqual([])
}, 30_000)
