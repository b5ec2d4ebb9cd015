/**
 * What `drost start` loads before it answers: packages that serve one optional feature are imported on
 * first use, not on every start (issue 23, target 5: cold start against a bare `Bun.serve`). Each of
 * these cost a measurable share of a start (bench/startup.ts, a CPU profile of the gateway with
 * `BUN_OPTIONS=--cpu-prof`): the MCP server SDK (with Ajv and Zod) behind `/mcp`, linkedom and
 * Readability behind `web.fetch`'s HTML reading, re2js behind `code.search`'s patterns, entities' decode
 * tables behind the web tools' text, and prom-client's index (the metrics need four of its classes; the
 * index loads its push gateway, default metrics, summaries and an OpenTelemetry shim).
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
  re2js: "code.search's patterns (src/tool/builtin/pattern.ts)",
  entities: "web.search's and web.fetch's text (src/tool/builtin/entities.ts)",
}
/** Entry modules that load far more than is used: the metrics take prom-client's four classes from their files. */
const WHOLE = { "prom-client": "its push gateway, default metrics, summaries and OpenTelemetry shim (src/metrics)" }

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
  // require() edges too (a top-level require loads at start like an import; one inside a function
  // would be counted as well, which errs on the safe side).
  const edges = [...via.keys()].flatMap((file) =>
    (inputs[file]?.imports ?? []).map((edge) => ({ file, path: edge.path, kind: edge.kind })),
  )
  for (const { file, path } of edges)
    if (path in WHOLE) loaded.push(`${path} whole (${WHOLE[path as keyof typeof WHOLE]}): ${chain(file)} → ${path}`)
  expect(loaded).toEqual([])
  // prom-client's classes are still on the path: the check for its index is not vacuous.
  expect(edges.some((edge) => edge.path === "prom-client/lib/counter")).toBe(true)
}, 30_000)
