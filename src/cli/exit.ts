/**
 * Exit codes between the gateway child and its supervisor (supervisor.ts), and how the CLI fails: every
 * failure is printed as plain lines on stderr, never a stack trace. A refused start (a failure the user
 * must fix: bad config, a second gateway, a busy port, an unsafe bind, a store that cannot be used) exits
 * REFUSED from `drost start`, so a service manager does not restart it (RestartPreventExitStatus=78,
 * service.ts); other commands exit 1. Kept apart from the commands so a failing path loads nothing else.
 */
import { ConfigError, DrostError } from "../core/error.ts"
import { Flag } from "../util/flag.ts"

/** The child asks to be started again (/restart, the API, `drost restart`, evolution). */
export const RESTART = 75
/** The start was refused for a reason the user must fix (config, lock, port): no retry. */
export const REFUSED = 78

/** A command line that does not parse: the problem and where its options are listed; exit 1. */
export function usage(message: string, command: string[]): never {
  process.stderr.write(`drost: ${message} (see ${["drost", ...command].join(" ")} --help)\n`)
  process.exit(1)
}

export function fail(error: unknown): never {
  if (error instanceof ConfigError) {
    process.stderr.write(
      `drost: invalid configuration (${error.file})\n${error.lines.map((line) => `  ${line}`).join("\n")}\n`,
    )
  } else if (error instanceof DrostError || error instanceof Error) {
    process.stderr.write(`drost: ${error.message}\n`)
    if (Flag.logLevel() === "debug" && error.stack) process.stderr.write(`${error.stack}\n`)
  } else process.stderr.write(`drost: ${String(error)}\n`)
  // Under the supervisor, any DrostError that ends the start is a refusal the user must fix (config, lock,
  // port, unsafe bind, a store that refuses to open: throw a DrostError to join them); the supervisor
  // then ends with REFUSED too. Anything else is a crash and keeps its code.
  process.exit(Flag.supervised() && error instanceof DrostError ? REFUSED : 1)
}
