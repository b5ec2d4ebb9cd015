/**
 * The commands of the first five minutes and of running as a service: setup, doctor, service, chat
 * (attached to a running gateway) and completion. `main.ts` spreads `onboardCommands()` into its tree.
 */
import { type CommandDef, defineCommand, type SubCommandsDef } from "citty"
import { Flag } from "../util/flag.ts"
import { doctor } from "./doctor.ts"
import { setup } from "./setup.ts"
import { setupArgs } from "./setup-flags.ts"

const setupCommand = defineCommand({
  meta: {
    name: "setup",
    description: "Set up a workspace: providers and keys (checked), Telegram, Control API port and token, drost.config.ts, prompts, an example tool",
  },
  args: setupArgs,
  async run({ args }) {
    process.exit(await setup(args))
  },
})

const doctorCommand = defineCommand({
  meta: { name: "doctor", description: "Check config, provider keys (live probe), auth file permissions, Telegram, the port, the store, Deno and MCP; exit 1 on a blocking problem" },
  args: {
    workspace: { type: "string", alias: "w", description: "Workspace folder (default: DROST_WORKSPACE or the current folder)" },
    config: { type: "string", alias: "c", description: "Config file (default: the first drost.config.{ts,mts,js,mjs,json} in the workspace)" },
    offline: { type: "boolean", description: "Skip the network checks (provider probes, Telegram getMe)" },
    fix: { type: "boolean", description: "Apply the safe fixes (tighten secret file modes to 600)" },
    json: { type: "boolean", description: "Print the checks as JSON" },
  },
  async run({ args }) {
    process.exit(await doctor({ workspace: args.workspace ?? Flag.workspace() ?? process.cwd(), config: args.config, offline: args.offline, fix: args.fix, json: args.json }))
  },
})

export function onboardCommands(_root: () => CommandDef): SubCommandsDef {
  return { setup: setupCommand, doctor: doctorCommand }
}
