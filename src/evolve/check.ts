/**
 * The tool gate's other half, run in a separate process (`drost evolution check-tools <files…>`):
 * import each workspace tool file the way the loader would and check what it exports. A file that
 * throws or hangs at import only takes this process down. Prints one line per file; exit 1 if any failed.
 */
import { relative } from "node:path"
import { describeError, shapeProblem } from "../tool/protocol.ts"
import { registerSdkModule } from "../tool/sdk-plugin.ts"

export async function checkTools(files: string[], cwd = process.cwd()): Promise<number> {
  registerSdkModule()
  let failed = 0
  for (const file of files) {
    const name = relative(cwd, file) || file
    try {
      const mod = (await import(file)) as { default?: unknown }
      const problem = shapeProblem(mod.default)
      if (problem) {
        failed++
        process.stdout.write(`✗ ${name}: ${problem}\n`)
      } else process.stdout.write(`✓ ${name}: ${(mod.default as { name: string }).name}\n`)
    } catch (error) {
      failed++
      process.stdout.write(`✗ ${name}: throws at import: ${describeError(error)}\n`)
    }
  }
  return failed ? 1 : 0
}
