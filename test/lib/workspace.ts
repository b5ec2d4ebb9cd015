/**
 * A throwaway workspace folder: `await using ws = await workspace({ config: {...}, files: {...} })`.
 * `config` is written as drost.config.json unless `configFile` names another file with raw contents.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"

export interface WorkspaceOptions {
  config?: Record<string, unknown>
  /** Extra files, path → contents. */
  files?: Record<string, string>
}

export interface Workspace extends AsyncDisposable {
  path: string
  file(path: string): string
  write(path: string, contents: string): void
}

export async function workspace(options: WorkspaceOptions = {}): Promise<Workspace> {
  const path = mkdtempSync(join(process.env.DROST_TEST_ROOT ?? "/tmp", "ws-"))
  const write = (file: string, contents: string) => {
    mkdirSync(dirname(join(path, file)), { recursive: true })
    writeFileSync(join(path, file), contents)
  }
  if (options.config) write("drost.config.json", JSON.stringify(options.config, null, 2))
  for (const [file, contents] of Object.entries(options.files ?? {})) write(file, contents)
  return {
    path,
    file: (file) => join(path, file),
    write,
    async [Symbol.asyncDispose]() {
      rmSync(path, { recursive: true, force: true })
    },
  }
}
