/**
 * Bun macros (`import … with { type: "macro" }`): they run when the importing file is transpiled, so
 * the dashboard's client is bundled once by `bun build` during `bun build --compile` (the result is
 * inlined into the executable) and, from source, the first time the gateway serves the page. A macro
 * cannot call `Bun.build` (the bundler would wait for itself), so it runs the `bun build` CLI.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"

const CLIENT = join(import.meta.dir, "client")

/** The client (Preact + htm + uPlot and our code) as one minified browser ES module. */
export function clientScript(): string {
  const built = Bun.spawnSync(
    [process.execPath, "build", join(CLIENT, "main.js"), "--target=browser", "--format=esm", "--minify"],
    { cwd: import.meta.dir, stdout: "pipe", stderr: "pipe", env: { ...process.env, BUN_BE_BUN: "1" } },
  )
  if (built.exitCode !== 0) throw new Error(`bundling the dashboard failed:\n${built.stderr.toString()}`)
  return built.stdout.toString()
}

/** Our stylesheet followed by uPlot's. */
export function clientStyle(): string {
  const uplot = join(import.meta.dir, "../../../node_modules/uplot/dist/uPlot.min.css")
  return `${readFileSync(join(CLIENT, "style.css"), "utf8")}\n${readFileSync(uplot, "utf8")}`
}
