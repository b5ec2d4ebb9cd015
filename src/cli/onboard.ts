/**
 * The commands of the first five minutes and of running as a service: setup, doctor, service, chat
 * (attached to a running gateway) and completion. `main.ts` spreads `onboardCommands()` into its tree.
 */
import { type CommandDef, defineCommand, type SubCommandsDef } from "citty"
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

export function onboardCommands(_root: () => CommandDef): SubCommandsDef {
  return { setup: setupCommand }
}
