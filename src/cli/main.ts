/**
 * The `drost` command line (citty). Subcommands load on demand: `drost start` (the supervisor) and
 * `drost --version` must not pay for the SDKs, the HTTP framework and the wizard they never use.
 * Failures go through exit.ts: plain lines on stderr, exit code 1, never a stack trace.
 */
import { type CommandDef, defineCommand, runMain, type SubCommandsDef } from "citty"
import { Flag } from "../util/flag.ts"
import { COMMIT, VERSION } from "../util/version.ts"
import { fail } from "./exit.ts"

const workspaceArgs = {
  workspace: {
    type: "string",
    alias: "w",
    description: "Workspace folder (default: DROST_WORKSPACE or the current folder)",
  },
  config: {
    type: "string",
    alias: "c",
    description: "Config file (default: the first drost.config.{ts,mts,js,mjs,json} in the workspace)",
  },
} as const

const startCommand = defineCommand({
  meta: { name: "start", description: "Start the gateway: terminal chat in a TTY, server mode otherwise" },
  args: {
    ...workspaceArgs,
    server: { type: "boolean", description: "Run as a server even in a terminal (no chat)" },
    port: {
      type: "string",
      alias: "p",
      description: "Control API port (overrides controlApi.port; 0 picks a free port)",
    },
  },
  async run({ args, rawArgs }) {
    const port = args.port === undefined ? undefined : Number(args.port)
    if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535))
      fail(new Error(`--port expects 0–65535, got "${args.port}"`))
    const workspace = args.workspace ?? Flag.workspace() ?? process.cwd()
    // `drost start` is the supervisor; the gateway itself runs in its child (DROST_SUPERVISED=1).
    if (!Flag.supervised()) {
      const { supervise } = await import("./supervisor.ts")
      process.exit(await supervise({ workspace, config: args.config, argv: rawArgs }).catch(fail))
    }
    const { followSupervisor } = await import("./child.ts")
    followSupervisor()
    const { start } = await import("./start.ts")
    const code = await start({ workspace, config: args.config, server: args.server, port }).catch(fail)
    process.exit(code)
  },
})

const versionCommand = defineCommand({
  meta: { name: "version", description: "Print the version" },
  run() {
    process.stdout.write(`drost ${VERSION} (${COMMIT})\n`)
  },
})

const onboard = (name: string) => () =>
  import("./onboard.ts").then((module) => module.onboardCommands(() => main)[name] as CommandDef)

const subCommands: SubCommandsDef = {
  start: startCommand,
  restart: () => import("./evolution.ts").then((module) => module.restartCommand),
  evolution: () => import("./evolution.ts").then((module) => module.evolutionCommand),
  version: versionCommand,
  prompt: () => import("./prompt.ts").then((module) => module.promptCommand),
  session: () => import("./session.ts").then((module) => module.sessionCommand),
  retention: () => import("./session.ts").then((module) => module.retentionCommand),
  auth: () => import("./auth.ts").then((module) => module.authCommand),
  providers: () => import("./providers.ts").then((module) => module.providersCommand),
  telegram: () => import("./telegram.ts").then((module) => module.telegramCommand),
  tool: () => import("./tool.ts").then((module) => module.toolCommand),
  setup: onboard("setup"),
  doctor: onboard("doctor"),
  service: onboard("service"),
  chat: onboard("chat"),
  completion: onboard("completion"),
}

// Annotated: `completion` walks this tree, so the tree refers to itself.
export const main: CommandDef = defineCommand({
  meta: { name: "drost", version: VERSION, description: "A persistent runtime for AI agents" },
  subCommands,
})

export async function run(argv: string[]) {
  if (argv.includes("--version") || argv.includes("-v")) {
    process.stdout.write(`${VERSION}\n`)
    return
  }
  await runMain(main, { rawArgs: argv })
}
