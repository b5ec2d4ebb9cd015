/**
 * The `drost` command line (citty). Every failure the user can fix (bad config, a second gateway,
 * a busy port) is printed as plain lines on stderr with exit code 1, never a stack trace.
 */
import { type CommandDef, defineCommand, runMain } from "citty"
import { ConfigError, DrostError } from "../core/error.ts"
import { Flag } from "../util/flag.ts"
import { COMMIT, VERSION } from "../util/version.ts"
import { authCommand } from "./auth.ts"
import { onboardCommands } from "./onboard.ts"
import { providersCommand } from "./providers.ts"
import { promptCommand } from "./prompt.ts"
import { retentionCommand, sessionCommand } from "./session.ts"
import { start } from "./start.ts"
import { UnsafeBind } from "../api/server.ts"
import { followSupervisor } from "./child.ts"
import { evolutionCommand, restartCommand } from "./evolution.ts"
import { REFUSED, supervise } from "./supervisor.ts"
import { telegramCommand } from "./telegram.ts"
import { toolCommand } from "./tool.ts"

function fail(error: unknown): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`drost: invalid configuration (${error.file})\n${error.lines.map((line) => `  ${line}`).join("\n")}\n`)
  } else if (error instanceof DrostError || error instanceof Error) {
    process.stderr.write(`drost: ${error.message}\n`)
    if (Flag.logLevel() === "debug" && error.stack) process.stderr.write(`${error.stack}\n`)
  } else process.stderr.write(`drost: ${String(error)}\n`)
  // Under the supervisor, a refusal the user must fix (config, lock, port) must not be retried as a crash.
  const refused = error instanceof DrostError || error instanceof UnsafeBind || (error instanceof Error && error.message.startsWith("cannot serve the Control API"))
  process.exit(Flag.supervised() && refused ? REFUSED : 1)
}

const workspaceArgs = {
  workspace: { type: "string", alias: "w", description: "Workspace folder (default: DROST_WORKSPACE or the current folder)" },
  config: { type: "string", alias: "c", description: "Config file (default: the first drost.config.{ts,mts,js,mjs,json} in the workspace)" },
} as const

const startCommand = defineCommand({
  meta: { name: "start", description: "Start the gateway: terminal chat in a TTY, server mode otherwise" },
  args: {
    ...workspaceArgs,
    server: { type: "boolean", description: "Run as a server even in a terminal (no chat)" },
    port: { type: "string", alias: "p", description: "Control API port (overrides controlApi.port; 0 picks a free port)" },
  },
  async run({ args, rawArgs }) {
    const port = args.port === undefined ? undefined : Number(args.port)
    if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) fail(new Error(`--port expects 0–65535, got "${args.port}"`))
    const workspace = args.workspace ?? Flag.workspace() ?? process.cwd()
    // `drost start` is the supervisor; the gateway itself runs in its child (DROST_SUPERVISED=1).
    if (!Flag.supervised()) process.exit(await supervise({ workspace, config: args.config, argv: rawArgs }).catch(fail))
    followSupervisor()
    const code = await start({ workspace: args.workspace ?? Flag.workspace() ?? process.cwd(), config: args.config, server: args.server, port }).catch(fail)
    process.exit(code)
  },
})

const versionCommand = defineCommand({
  meta: { name: "version", description: "Print the version" },
  run() {
    process.stdout.write(`drost ${VERSION} (${COMMIT})\n`)
  },
})

// Annotated: `completion` walks this tree, so the tree refers to itself.
export const main: CommandDef = defineCommand({
  meta: { name: "drost", version: VERSION, description: "A persistent runtime for AI agents" },
  subCommands: { start: startCommand, restart: restartCommand, evolution: evolutionCommand, version: versionCommand, prompt: promptCommand, session: sessionCommand, retention: retentionCommand, auth: authCommand, providers: providersCommand, telegram: telegramCommand, tool: toolCommand, ...onboardCommands(() => main) },
})

export async function run(argv: string[]) {
  if (argv.includes("--version") || argv.includes("-v")) {
    process.stdout.write(`${VERSION}\n`)
    return
  }
  await runMain(main, { rawArgs: argv })
}
