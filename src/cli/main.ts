/**
 * The `drost` command line (citty). Subcommands load on demand: `drost start` (the supervisor) and
 * `drost --version` must not pay for the SDKs, the HTTP framework and the wizard they never use.
 * `run` is the one place every command line goes through (citty's runMain is not used: it prints
 * stack traces and coloured, padded help): options are checked against the command's definition,
 * `--help` is rendered by help.ts, and every failure goes through exit.ts (one line on stderr, exit
 * code 1, the stack only with DROST_LOG_LEVEL=debug).
 */
import { type CommandDef, defineCommand, runCommand, type SubCommandsDef } from "citty"
import { Flag } from "../util/flag.ts"
import { COMMIT, VERSION } from "../util/version.ts"
import { checkOptions, resolveCommand, UsageError, workspaceArgs } from "./args.ts"
import { fail, usage } from "./exit.ts"
import { renderHelp, styleFor } from "./help.ts"

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
  args: { json: { type: "boolean", description: "Print JSON" } },
  run({ args }) {
    process.stdout.write(
      args.json ? `${JSON.stringify({ version: VERSION, commit: COMMIT })}\n` : `drost ${VERSION} (${COMMIT})\n`,
    )
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
  status: () => import("./status.ts").then((module) => module.statusCommand),
  stop: () => import("./stop.ts").then((module) => module.stopCommand),
  logs: () => import("./logs.ts").then((module) => module.logsCommand),
  sessions: () => import("./sessions.ts").then((module) => module.sessionsCommand),
  session: () => import("./session.ts").then((module) => module.sessionCommand),
  retention: () => import("./session.ts").then((module) => module.retentionCommand),
  auth: () => import("./auth.ts").then((module) => module.authCommand),
  providers: () => import("./providers.ts").then((module) => module.providersCommand),
  telegram: () => import("./telegram.ts").then((module) => module.telegramCommand),
  slack: () => import("./slack.ts").then((module) => module.slackCommand),
  discord: () => import("./discord.ts").then((module) => module.discordCommand),
  pairing: () => import("./pairing.ts").then((module) => module.pairingCommandAll),
  tool: () => import("./tool.ts").then((module) => module.toolCommand),
  skill: () => import("./skill.ts").then((module) => module.skillCommand),
  mcp: () => import("./mcp.ts").then((module) => module.mcpCommand),
  backup: () => import("./backup.ts").then((module) => module.backupCommand),
  restore: () => import("./backup.ts").then((module) => module.restoreCommand),
  update: () => import("./update.ts").then((module) => module.updateCommand),
  setup: onboard("setup"),
  doctor: onboard("doctor"),
  service: onboard("service"),
  chat: onboard("chat"),
  tui: () => import("./tui/command.ts").then((module) => module.tuiCommand),
  completion: onboard("completion"),
}

// Annotated: `completion` walks this tree, so the tree refers to itself.
export const main: CommandDef = defineCommand({
  meta: { name: "drost", version: VERSION, description: "A persistent runtime for AI agents" },
  subCommands,
})

export async function run(argv: string[]) {
  // Only `drost --version` / `drost -v`: further in, `-v` belongs to the command (`evolution log -v`).
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
    process.stdout.write(`${VERSION}\n`)
    return
  }
  // `drost help evolution log` is `drost evolution log --help`.
  if (argv[0] === "help") argv = [...argv.slice(1), "--help"]
  let path: string[] = []
  try {
    const resolved = await resolveCommand(main, argv)
    path = resolved.path
    const options = argv.includes("--") ? argv.slice(0, argv.indexOf("--")) : argv
    if (options.includes("--help") || options.includes("-h")) {
      process.stdout.write(await renderHelp(resolved.command, path, styleFor(process.stdout)))
      return
    }
    const subs = await (typeof resolved.command.subCommands === "function"
      ? resolved.command.subCommands()
      : resolved.command.subCommands)
    if (subs && Object.keys(subs).length && !resolved.command.run) {
      const name = resolved.rest.find((arg) => !arg.startsWith("-"))
      if (name) throw new UsageError(`unknown command "${name}"`, path)
      // `drost` alone shows what there is; `drost evolution` alone is an incomplete command.
      const out = path.length ? process.stderr : process.stdout
      out.write(await renderHelp(resolved.command, path, styleFor(out)))
      if (path.length) process.exitCode = 1
      return
    }
    checkOptions(argv, resolved.args, path)
    await runCommand(main, { rawArgs: argv })
  } catch (error) {
    // citty's own argument errors (a missing positional, a bad enum) are usage errors too.
    if (error instanceof Error && error.name === "CLIError") usage(error.message.replace(/\x1b\[[0-9;]*m/g, ""), path)
    if (error instanceof UsageError) usage(error.message, error.command.length ? error.command : path)
    fail(error)
  }
}
