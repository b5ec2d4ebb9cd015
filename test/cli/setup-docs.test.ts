/**
 * Issue 15 item 15, the install docs against a machine that has only Node and npm: the build commands
 * docs/install.md shows run there (no `bun …` that needs Bun on PATH), the README says how `drost` gets
 * on PATH after `npm run build`, and the Node version the docs promise is one every runtime dependency
 * accepts, or the docs name the ones that declare more and say why that is harmless.
 */
import { describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"

const ROOT = join(import.meta.dir, "../..")
const read = (path: string) => readFileSync(join(ROOT, path), "utf8")

/** The command lines of the ```bash / ```sh blocks of a Markdown file. */
function shellLines(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/```(?:bash|sh)\n([\s\S]*?)```/g)].map((match) => match[1]!)
  return blocks.flatMap((block) => block.split("\n").map((line) => line.trim())).filter(Boolean)
}

/** PATH of a machine with Node and npm but no Bun (npm itself adds node_modules/.bin for scripts). */
const NPM_ONLY = { ...process.env, PATH: "/usr/bin:/bin" }
const npm = Bun.which("npm", { PATH: NPM_ONLY.PATH })

describe("docs/install.md where only npm is installed", () => {
  test("no command needs Bun on PATH", () => {
    const lines = shellLines(read("docs/install.md")).filter((line) => /^bun\s/.test(line))
    expect(lines).toEqual([])
  })

  test.skipIf(!npm)("npm run build -- <flags> and npx bun build.ts reach build.ts", async () => {
    expect(Bun.which("bun", { PATH: NPM_ONLY.PATH })).toBeNull()
    for (const cmd of [
      [npm!, "run", "build", "--", "--help"],
      [Bun.which("npx", { PATH: NPM_ONLY.PATH }) ?? "npx", "bun", "build.ts", "--help"],
    ]) {
      const proc = Bun.spawn(cmd, { cwd: ROOT, env: NPM_ONLY, stdout: "pipe", stderr: "pipe" })
      const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited])
      expect(out).toContain("usage: bun build.ts")
      expect(code).toBe(0)
    }
  })

  test("the README says how drost gets on PATH after npm run build", () => {
    const readme = read("README.md")
    expect(readme).toContain("npm link")
    expect(readme).toContain("./dist/drost")
  })

  test("the Node version promised is engines'; runtime dependencies that declare more are named", () => {
    const engines = (JSON.parse(read("package.json")) as { engines: { node: string } }).engines.node
    const version = engines.match(/^>=\s*(\d+(?:\.\d+)?)$/)?.[1]
    expect(version).toBeDefined()
    expect(read("README.md")).toContain(`Node.js ${version} or newer`)
    const lock = JSON.parse(read("package-lock.json")) as {
      packages: Record<string, { dev?: boolean; engines?: { node?: string } | string[] }>
    }
    const oldest = version!.includes(".") ? `${version}.0` : `${version}.0.0`
    const stricter = Object.entries(lock.packages)
      .filter(([path, entry]) => path && !entry.dev)
      .filter(([, entry]) => {
        const range = !Array.isArray(entry.engines) ? entry.engines?.node : undefined
        return range !== undefined && !Bun.semver.satisfies(oldest, range)
      })
      .map(([path]) => path.replace(/^.*node_modules\//, ""))
    const install = read("docs/install.md")
    expect(install).toContain("EBADENGINE")
    for (const name of stricter) expect(install).toContain(`\`${name}\``)
  })
})
