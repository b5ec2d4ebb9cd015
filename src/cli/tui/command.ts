/**
 * `drost tui`: the full-screen terminal dashboard, attached to a running gateway like `drost chat`
 * (same workspace, URL and token lookup). Without a terminal on both ends, or in one smaller than the
 * layout needs, it is `drost chat` instead, with a note on stderr saying why.
 */
import { defineCommand } from "citty"
import { Flag } from "../../util/flag.ts"
import { type AttachOptions, attachChat, endpoint } from "../chat-attach.ts"
import { chosenSession } from "../chat-choice.ts"
import { link } from "./link.ts"
import { MIN_COLS, MIN_ROWS } from "./view.ts"

/** Why the dashboard cannot draw here, or null when it can. */
export function unfit(stdin: { isTTY?: boolean }, stdout: { isTTY?: boolean; columns?: number; rows?: number }) {
  if (!stdin.isTTY || !stdout.isTTY) return "not a terminal"
  const cols = stdout.columns ?? 0
  const rows = stdout.rows ?? 0
  if (cols < MIN_COLS || rows < MIN_ROWS)
    return `the terminal is ${cols}×${rows}, the dashboard needs ${MIN_COLS}×${MIN_ROWS}`
  return null
}

export async function tui(options: AttachOptions): Promise<number> {
  const why = unfit(process.stdin, process.stdout)
  if (why) {
    process.stderr.write(`drost tui: ${why}; running drost chat instead\n`)
    return attachChat(options)
  }
  const { url, token, stateDir } = await endpoint(options)
  const gateway = link(url, token)
  // Fails here, before the screen is taken, when no gateway answers.
  const sessions = await gateway.sessions()
  const chosen = options.session ?? chosenSession(stateDir)
  const first =
    (options.new ? null : sessions.find((session) => session.id === chosen)?.id) ??
    (options.new || sessions.length === 0 ? (await gateway.create("terminal (tui)")).id : sessions[0]!.id)
  // ink renders only the last frame when it believes it runs in CI (it reads CI when loaded); here a
  // person is at a terminal (checked above), so the dashboard draws live whatever the environment says.
  delete process.env.CI
  delete process.env.CONTINUOUS_INTEGRATION
  const [{ render }, { createElement }, { App }] = await Promise.all([
    import("ink"),
    import("react"),
    import("./app.ts"),
  ])
  const instance = render(createElement(App, { link: gateway, stateDir, first }), { exitOnCtrlC: false })
  await instance.waitUntilExit()
  instance.clear()
  instance.cleanup()
  process.stdout.write("Detached; the gateway keeps running.\n")
  return 0
}

export const tuiCommand = defineCommand({
  meta: {
    name: "tui",
    description:
      "Full-screen dashboard of a running gateway: sessions, streaming chat, live events, approvals (drost chat when no terminal)",
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
    session: { type: "string", alias: "s", description: "Session to open first (default: the last terminal session)" },
    new: { type: "boolean", description: "Open a new session" },
  },
  async run({ args }) {
    try {
      process.exit(
        await tui({
          workspace: args.workspace ?? Flag.workspace() ?? process.cwd(),
          config: args.config,
          url: args.url,
          token: args.token,
          session: args.session,
          new: args.new,
        }),
      )
    } catch (error) {
      process.stderr.write(`drost: ${error instanceof Error ? error.message : String(error)}\n`)
      process.exit(1)
    }
  },
})
