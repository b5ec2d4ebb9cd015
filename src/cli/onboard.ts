/**
 * The commands of the first five minutes and of running as a service: setup, doctor, service, chat
 * (attached to a running gateway) and completion. `main.ts` spreads `onboardCommands()` into its tree.
 */
import { type CommandDef, defineCommand, type SubCommandsDef } from "citty"
import { ConfigError } from "../core/error.ts"
import { Flag } from "../util/flag.ts"
import { attachChat } from "./chat-attach.ts"
import { SHELLS, type Shell, walk } from "./completion.ts"
import { doctor } from "./doctor.ts"
import { install, type ServiceOptions, status, uninstall } from "./service.ts"
import { setup } from "./setup.ts"
import { setupArgs } from "./setup-flags.ts"

const setupCommand = defineCommand({
  meta: {
    name: "setup",
    description:
      "Set up a workspace: providers and keys (checked), Telegram, Control API port and token, drost.config.ts, prompts, an example tool",
  },
  args: setupArgs,
  run: ({ args }) => exitWith(() => setup(args)),
})

const doctorCommand = defineCommand({
  meta: {
    name: "doctor",
    description:
      "Check config, provider keys (live probe), secret file permissions (tightened), Telegram, the port, the store, Deno and MCP; exit 1 on a blocking problem",
  },
  args: {
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
    offline: { type: "boolean", description: "Skip the network checks (provider probes, Telegram getMe)" },
    json: { type: "boolean", description: "Print the checks as JSON" },
    repair: {
      type: "boolean",
      description: "Move a damaged database aside (kept) and copy what can be read into a new one; gateway stopped",
    },
  },
  run: ({ args }) =>
    exitWith(() =>
      doctor({
        workspace: args.workspace ?? Flag.workspace() ?? process.cwd(),
        config: args.config,
        offline: args.offline,
        json: args.json,
        repair: args.repair,
      }),
    ),
})

/** Exits with the command's code; a problem the user can fix is one line on stderr (config: one per problem). */
async function exitWith(run: () => Promise<number>): Promise<never> {
  try {
    process.exit(await run())
  } catch (error) {
    if (error instanceof ConfigError)
      process.stderr.write(
        `drost: invalid configuration (${error.file})\n${error.lines.map((line) => `  ${line}`).join("\n")}\n`,
      )
    else process.stderr.write(`drost: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  }
}

const serviceArgs = {
  workspace: {
    type: "string",
    alias: "w",
    description: "Workspace the service runs (default: DROST_WORKSPACE or the current folder)",
  },
  config: { type: "string", alias: "c", description: "Config file, if not the workspace's drost.config.*" },
  name: { type: "string", description: "Service name (default: drost-<folder>-<hash of its path>)" },
  platform: {
    type: "string",
    description: "linux (systemd user unit) or darwin (launchd agent); default: this machine",
  },
  enable: {
    type: "boolean",
    default: true,
    description: "Enable/start (install) or stop/disable (uninstall) through systemctl or launchctl",
    negativeDescription: "Only write or remove the file",
  },
} as const

const serviceOptions = (args: {
  workspace?: string
  config?: string
  name?: string
  platform?: string
  enable?: boolean
}): ServiceOptions => ({
  workspace: args.workspace ?? Flag.workspace() ?? process.cwd(),
  config: args.config,
  name: args.name,
  platform: args.platform,
  enable: args.enable,
})

const serviceCommand = defineCommand({
  meta: {
    name: "service",
    description: "Run the gateway as a user service: systemd on Linux, launchd on macOS, restarted on failure",
  },
  subCommands: {
    install: defineCommand({
      meta: { name: "install", description: "Write the unit/agent for this workspace, then enable and start it" },
      args: serviceArgs,
      run: ({ args }) => exitWith(() => install(serviceOptions(args))),
    }),
    uninstall: defineCommand({
      meta: { name: "uninstall", description: "Stop and disable the service, then remove its file" },
      args: serviceArgs,
      run: ({ args }) => exitWith(() => uninstall(serviceOptions(args))),
    }),
    status: defineCommand({
      meta: {
        name: "status",
        description: "Installed? Running? Healthy? Exit 0 running, 3 installed but not running, 4 not installed",
      },
      args: { ...serviceArgs, json: { type: "boolean", description: "Print the state as JSON (same exit codes)" } },
      run: ({ args }) => exitWith(() => status({ ...serviceOptions(args), json: args.json })),
    }),
  },
})

const chatCommand = defineCommand({
  meta: {
    name: "chat",
    description:
      "Chat with an already running gateway over the Control API (streaming, slash commands); detaching leaves it running",
  },
  args: {
    workspace: {
      type: "string",
      alias: "w",
      description: "Workspace of the gateway, for its port and token (default: DROST_WORKSPACE or the current folder)",
    },
    config: { type: "string", alias: "c", description: "Config file, if not the workspace's drost.config.*" },
    url: {
      type: "string",
      description: "Gateway URL, e.g. http://127.0.0.1:7420 (default: from the workspace config)",
    },
    token: {
      type: "string",
      description: "Control API token (default: DROST_CONTROL_ADMIN_TOKEN, else .drost/control-token)",
    },
    session: { type: "string", alias: "s", description: "Session id to continue (default: the last terminal session)" },
    new: { type: "boolean", description: "Start a new session" },
  },
  run: ({ args }) =>
    exitWith(() =>
      attachChat({
        workspace: args.workspace ?? Flag.workspace() ?? process.cwd(),
        config: args.config,
        url: args.url,
        token: args.token,
        session: args.session,
        new: args.new,
      }),
    ),
})

function completionCommand(root: () => CommandDef) {
  return defineCommand({
    meta: {
      name: "completion",
      description: 'Print shell completion: eval "$(drost completion bash)" (also zsh, fish)',
    },
    args: { shell: { type: "positional", required: true, description: "bash, zsh or fish" } },
    run: ({ args }) =>
      exitWith(async () => {
        const shell = args.shell as Shell
        if (!(shell in SHELLS)) throw new Error(`unknown shell "${args.shell}"; one of bash, zsh, fish`)
        process.stdout.write(SHELLS[shell](await walk(root())))
        return 0
      }),
  })
}

export function onboardCommands(root: () => CommandDef): SubCommandsDef {
  return {
    setup: setupCommand,
    doctor: doctorCommand,
    service: serviceCommand,
    chat: chatCommand,
    completion: completionCommand(root),
  }
}
