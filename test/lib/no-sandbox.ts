/**
 * A machine where no OS sandbox works, for a gateway child: a `bwrap` first on PATH that fails like
 * one whose user namespaces are disabled (the runtime also looks in /usr/bin, so a PATH without bwrap
 * is not enough). `await using fake = noSandbox()`, then `env: { PATH: fake.PATH }`.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"

export function noSandbox(): { PATH: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(process.env.DROST_TEST_ROOT ?? "/tmp", "fake-bwrap-"))
  writeFileSync(join(dir, "bwrap"), "#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
  chmodSync(join(dir, "bwrap"), 0o755)
  return {
    PATH: `${dir}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  }
}
