/**
 * Compiles `dist`-style binaries once per test process through the real `build.ts` CLI (including its
 * own smoke run), into the test temp root so a developer's `dist/` is never touched.
 */
import { join } from "node:path"

export const ROOT = join(import.meta.dir, "../..")
const cache = new Map<string, Promise<{ file: string; stdout: string }>>()

/**
 * `DROST_TEST_BINARY` (a path) skips the build for tests that only need some binary of the current
 * tree, e.g. while iterating on one test: `npm run build -- --outfile /tmp/drost`, then
 * `DROST_TEST_BINARY=/tmp/drost bun test test/binary/first-hour.test.ts`. The build tests ignore it.
 */
export function prebuiltOr(name: string): Promise<{ file: string; stdout: string }> {
  const given = process.env.DROST_TEST_BINARY
  return given ? Promise.resolve({ file: given, stdout: "" }) : buildBinary([], name)
}

export function buildBinary(args: string[] = [], name = "drost"): Promise<{ file: string; stdout: string }> {
  const key = `${name}:${args.join(" ")}`
  const hit = cache.get(key)
  // A test file's afterAll may remove the binaries (each is over 100 MB); build again if this one is gone.
  if (hit) return hit.then(async (built) => ((await Bun.file(built.file).exists()) ? built : rebuild()))
  return rebuild()

  function rebuild(): Promise<{ file: string; stdout: string }> {
    const file = join(process.env.DROST_TEST_ROOT ?? "/tmp", "bin", name)
    const built = (async () => {
      const proc = Bun.spawn([process.execPath, join(ROOT, "build.ts"), "--outfile", file, ...args], {
        cwd: ROOT,
        stdout: "pipe",
        stderr: "pipe",
      })
      const [stdout, stderr, code] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ])
      if (code !== 0) throw new Error(`build.ts ${args.join(" ")} exited ${code}:\n${stdout}\n${stderr}`)
      return { file, stdout }
    })()
    cache.set(key, built)
    return built
  }
}
