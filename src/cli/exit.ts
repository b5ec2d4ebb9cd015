/**
 * Exit codes between the gateway child and its supervisor (supervisor.ts), and how the CLI fails: every
 * failure the user can fix (bad config, a second gateway, a busy port) is printed as plain lines on
 * stderr with exit code 1, never a stack trace. Kept apart from the commands so a failing path loads
 * nothing else.
 */
import { ConfigError, DrostError } from "../core/error.ts"
import { Flag } from "../util/flag.ts"

/** The child asks to be started again (/restart, the API, `drost restart`, evolution). */
export const RESTART = 75
/** The child refused to start for a reason the user must fix (config, lock, port): no retry. */
export const REFUSED = 78

export function fail(error: unknown): never {
  if (error instanceof ConfigError) {
    process.stderr.write(
      `drost: invalid configuration (${error.file})\n${error.lines.map((line) => `  ${line}`).join("\n")}\n`,
    )
  } else if (error instanceof DrostError || error instanceof Error) {
    process.stderr.write(`drost: ${error.message}\n`)
    if (Flag.logLevel() === "debug" && error.stack) process.stderr.write(`${error.stack}\n`)
  } else process.stderr.write(`drost: ${String(error)}\n`)
  // Under the supervisor, a refusal the user must fix (config, lock, port) must not be retried as a crash.
  process.exit(Flag.supervised() && error instanceof DrostError ? REFUSED : 1)
}
