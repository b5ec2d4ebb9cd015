/**
 * The slash commands, channel-neutral: the terminal chat, Telegram and the Control API all dispatch
 * through here with their own notion of "the current session". A command never throws; errors come
 * back as text for the user.
 */
import { DrostError } from "../core/error.ts"
import { describeSchedule } from "../tool/builtin/schedule.ts"
import { toolsReport, toolsSummary } from "../tool/report.ts"
import { skillsReport } from "../skills/report.ts"
import { usd } from "./budgets.ts"
import type { Gateway } from "./gateway.ts"

export interface CommandContext {
  channel: string
  sessionId: string | null
  /** Make another session current for this channel (after /new and /session); awaited when a store write. */
  setSession(id: string): unknown
  /** Columns the reply may use (a terminal's width); listings fit it. Default: DEFAULT_WIDTH. */
  width?: number
}

/**
 * What a command answers, the same on every surface; each surface renders it once (terminal: the
 * text as it is; Telegram: a listing in <pre>, a note as plain text).
 */
export interface CommandReply {
  text: string
  /** A listing in columns (/help, /status, /sessions, /tools, …): keep its lines and spacing. */
  listing?: boolean
  quit?: boolean
}

/** Columns for a listing when the surface does not say (Telegram, scripts). */
export const DEFAULT_WIDTH = 100
/** Other names a command answers to (the attached chat used to call /stop /abort). */
const ALIASES: Record<string, string> = { abort: "stop" }

interface Command {
  usage: string
  help: string
  run(gw: Gateway, ctx: CommandContext, arg: string): Promise<CommandReply> | CommandReply
}

const ago = (time: number) => {
  const seconds = Math.round((Date.now() - time) / 1000)
  return seconds < 60
    ? `${seconds}s ago`
    : seconds < 3600
      ? `${Math.round(seconds / 60)}m ago`
      : seconds < 86400
        ? `${Math.round(seconds / 3600)}h ago`
        : `${Math.round(seconds / 86400)}d ago`
}

/** Sessions with messages waiting behind a running turn (orchestration), when there are any. */
const waitingLine = (gw: Gateway): string[] => {
  const busy = gw.sessions.queues().filter((queue) => queue.waiting > 0)
  return busy.length
    ? [
        `waiting: ${busy.map((queue) => `${queue.sessionId} ${queue.messages} message${queue.messages === 1 ? "" : "s"}`).join(", ")}`,
      ]
    : []
}

const need = (ctx: CommandContext) => {
  if (!ctx.sessionId) throw new DrostError("NoSession", "no current session; send a message or use /new first")
  return ctx.sessionId
}

/** Background jobs (agent.spawn, shell background) running now, this chat's among them, against the limits. */
function jobsLine(gw: Gateway, sessionId: string | null): string {
  const counts = gw.jobs.counts()
  const mine = sessionId ? (counts.perSession[sessionId] ?? 0) : 0
  return `background jobs: ${counts.running} running (this session ${mine}; limits ${counts.maxPerSession} per session, ${counts.maxTotal} in all)`
}

/** One line per listed plugin: loaded (with what it adds) or failed, with the reason. */
function pluginLines(gw: Gateway): string[] {
  return (gw.plugins?.list() ?? []).map((plugin) => {
    const parts = (["tools", "providers", "commands", "routes", "channels"] as const)
      .filter((key) => plugin[key].length)
      .map((key) => `${key} ${plugin[key].join(", ")}`)
    const what = parts.length ? ` (${parts.join("; ")})` : ""
    const label = `plugin ${plugin.name}${plugin.version ? ` ${plugin.version}` : ""}`
    return `${label}: ${plugin.state}${plugin.state === "loaded" ? what : ""}${plugin.reason ? ` — ${plugin.reason}` : ""}`
  })
}

export const COMMANDS: Record<string, Command> = {
  help: {
    usage: "/help",
    help: "Show the commands",
    run: (gw) => ({
      listing: true,
      // Plugins' commands follow the built-in ones (src/plugins), marked with their plugin.
      text: [
        ...Object.values(COMMANDS).map((command) => `${command.usage.padEnd(22)} ${command.help}`),
        ...(gw.plugins?.commands() ?? []).map(
          (command) => `${command.usage.padEnd(22)} ${command.help} (plugin ${command.plugin})`,
        ),
      ].join("\n"),
    }),
  },
  status: {
    usage: "/status",
    help: "Gateway state and diagnostics",
    async run(gw, ctx) {
      const { state, reasons } = gw.state()
      const session = ctx.sessionId ? await gw.data.sessions.get(ctx.sessionId) : null
      const count = await gw.data.sessions.count()
      return {
        listing: true,
        text: [
          `state: ${state}${reasons.length ? ` (${reasons.join("; ")})` : ""}`,
          `workspace: ${gw.config.workspaceDir}`,
          `uptime: ${Math.round((Date.now() - gw.startedAt) / 1000)}s, sessions: ${count}, running turns: ${gw.sessions.activeCount()}`,
          ...waitingLine(gw),
          jobsLine(gw, ctx.sessionId),
          toolsSummary(gw.tools),
          ...pluginLines(gw),
          session
            ? `session: ${session.id} (${session.messageCount} messages, provider ${session.provider}${session.pendingProvider ? ` → ${session.pendingProvider} next turn` : ""}, tokens in/out ${session.usage.input}/${session.usage.output}, cost ${usd((await gw.budgets.session(session.id)).total)})`
            : "session: none yet",
        ].join("\n"),
      }
    },
  },
  usage: {
    usage: "/usage",
    help: "This session's tokens and cost per provider, today's and this month's cost, the budgets",
    async run(gw, ctx) {
      const report =
        ctx.sessionId && (await gw.data.sessions.get(ctx.sessionId)) ? await gw.budgets.session(ctx.sessionId) : null
      const { perSession, perDay, perMonth, action = "refuse" } = gw.config.budgets ?? {}
      const of = (limit: number | undefined) => (limit === undefined ? "" : ` of ${usd(limit)}`)
      const { today, month } = await gw.budgets.spending()
      return {
        listing: true,
        text: [
          report ? `session ${ctx.sessionId}: ${usd(report.total)}${of(perSession)}` : "session: none yet",
          ...(report?.providers ?? []).map(
            (row) =>
              `  ${row.provider.padEnd(16)} tokens in/out/cached ${row.input}/${row.output}/${row.cached}  ${row.cost === null ? "no prices" : usd(row.cost)}`,
          ),
          `today: ${usd(today)}${of(perDay)}; this month: ${usd(month)}${of(perMonth)}`,
          perSession === undefined && perDay === undefined && perMonth === undefined
            ? "budgets: none (config budgets)"
            : `over a budget a turn is ${action === "approve" ? "held for approval" : "refused"}`,
        ].join("\n"),
      }
    },
  },
  providers: {
    usage: "/providers",
    help: "List configured providers",
    async run(gw, ctx) {
      const current = ctx.sessionId
        ? (await gw.data.sessions.get(ctx.sessionId))?.provider
        : gw.config.providers.defaultSessionProvider
      const lines = (await gw.providerStatus()).map((status) => {
        const mark = status.id === current ? "*" : " "
        const health = status.cooldown
          ? `cooling down ${Math.ceil(status.cooldown.remainingMs / 1000)}s after ${status.cooldown.kind}${status.cooldown.status ? ` (${status.cooldown.status})` : ""}`
          : status.available
            ? status.auth.startsWith("missing")
              ? "no credential"
              : "ready"
            : `unavailable: ${status.error}`
        const cost = status.costUsd !== null ? `, $${status.costUsd.toFixed(4)}` : ""
        return `${mark} ${status.id.padEnd(16)} ${status.kind.padEnd(18)} ${(status.model ?? "-").padEnd(20)} ${health}; tokens in/out ${status.usage.input}/${status.usage.output}${cost}`
      })
      const failover = gw.config.providers.failover
      if (failover.enabled && failover.fallbacks.length) lines.push(`failover: ${failover.fallbacks.join(" → ")}`)
      return { listing: true, text: lines.join("\n") }
    },
  },
  provider: {
    usage: "/provider <id>",
    help: "Switch this session's provider (from the next turn)",
    run(gw, ctx, arg) {
      if (!arg) return { text: "usage: /provider <id> (see /providers)" }
      gw.sessions.switchProvider(need(ctx), arg)
      return { text: `provider for this session switches to ${arg} at the next turn` }
    },
  },
  sessions: {
    usage: "/sessions",
    help: "List recent sessions",
    async run(gw, ctx) {
      const list = await gw.data.sessions.list({ limit: 20 })
      if (list.length === 0) return { text: "no sessions yet" }
      return {
        listing: true,
        text: list
          .map(
            (session) =>
              `${session.id === ctx.sessionId ? "*" : " "} ${session.id}  ${String(session.messageCount).padStart(4)} msgs  ${ago(session.updatedAt).padStart(8)}  ${session.title || ""}`,
          )
          .join("\n"),
      }
    },
  },
  session: {
    usage: "/session <id>",
    help: "Switch to another session",
    async run(gw, ctx, arg) {
      if (!arg) return { text: `current session: ${ctx.sessionId ?? "none"}` }
      const session = await gw.data.sessions.require(arg)
      await ctx.setSession(session.id)
      return { text: `switched to ${session.id} (${session.messageCount} messages)` }
    },
  },
  new: {
    usage: "/new [fresh]",
    help: "Start a new session (continuing from a summary of this one; `fresh` for a blank start)",
    async run(gw, ctx, arg) {
      const from = arg === "fresh" ? null : ctx.sessionId
      const { session, source } = await gw.continuity.startNew(from, { channel: ctx.channel })
      await ctx.setSession(session.id)
      const note =
        source === "model"
          ? ", continuing from a summary of the previous one"
          : source === "fallback"
            ? ", continuing from a digest of the previous one (the model could not summarise)"
            : ""
      return { text: `new session ${session.id}${note}` }
    },
  },
  schedules: {
    usage: "/schedules [cancel|pause|resume <id>]",
    help: "List reminders and schedules (* made in this chat); cancel, pause or resume one",
    async run(gw, ctx, arg) {
      const book = gw.continuity.scheduleBook
      const zone = gw.config.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone
      const [verb, id] = arg.split(/\s+/)
      if (verb) {
        if (!id || !["cancel", "pause", "resume"].includes(verb))
          return { text: "usage: /schedules, or /schedules cancel|pause|resume <id>" }
        if (verb === "cancel") return { text: `cancelled ${(await book.remove(id)).id}` }
        const changed = await book.update(id, { enabled: verb === "resume" })
        return { text: `${verb === "pause" ? "paused" : "resumed"} ${changed.id}` }
      }
      const list = (await book.list()).filter((schedule) => schedule.state !== "done")
      if (list.length === 0) return { text: "no schedules" }
      return {
        listing: true,
        text: list
          .map(
            (schedule) =>
              `${schedule.sessionId && schedule.sessionId === ctx.sessionId ? "*" : " "} ${describeSchedule(schedule, zone)}`,
          )
          .join("\n"),
      }
    },
  },
  tools: {
    usage: "/tools",
    help: "List loaded tools",
    async run(gw, ctx) {
      await gw.toolset.refresh() // show the tools/ folder as it is now, not as of the last turn
      return { listing: true, text: toolsReport(gw.tools, { width: ctx.width ?? DEFAULT_WIDTH }) }
    },
  },
  skills: {
    usage: "/skills [on|off <name>]",
    help: "List skills; turn one on or off for this session",
    async run(gw, ctx, arg) {
      const [verb, name] = arg.split(/\s+/)
      const snapshot = gw.skills.refresh()
      if (verb) {
        if (!name || !["on", "off"].includes(verb)) return { text: "usage: /skills, or /skills on|off <name>" }
        await gw.skills.catalog.setSession(need(ctx), name, verb === "on")
        const still = verb === "on" && gw.skills.catalog.get(name)?.disabled
        return {
          text: `skill ${name} is ${verb} for this session (from the next turn)${still ? ", but it stays off: skills.disabled in the config lists it" : ""}`,
        }
      }
      const off = gw.skills.catalog.sessionOff(ctx.sessionId)
      return {
        listing: true,
        text: skillsReport(snapshot, off, ctx.width ?? DEFAULT_WIDTH, (root) => gw.skills.catalog.shown({ root })),
      }
    },
  },
  tool: {
    usage: "/tool <name> [json]",
    help: "Run a tool directly",
    async run(gw, ctx, arg) {
      const [name, ...rest] = arg.split(/\s+/)
      if (!name) return { text: "usage: /tool <name> [json arguments]" }
      await gw.toolset.refresh() // the tool as its file is now, not as of the last turn
      const result = await gw.tools.run({
        name,
        args: rest.join(" ").trim() || "{}",
        context: {
          sessionId: ctx.sessionId ?? "",
          turnId: "",
          callId: "manual",
          workspace: {
            root: gw.config.workspaceDir,
            tools: `${gw.config.workspaceDir}/tools`,
            memory: `${gw.config.workspaceDir}/memory`,
            prompts: `${gw.config.workspaceDir}/prompts`,
          },
          signal: AbortSignal.timeout(gw.config.agent.toolTimeoutMs),
        },
      })
      return { listing: true, text: `${result.isError ? "error: " : ""}${result.output}` }
    },
  },
  stop: {
    usage: "/stop",
    help: "Stop this session's running turn (waiting messages still run)",
    run(gw, ctx) {
      if (!ctx.sessionId || !gw.sessions.abort(ctx.sessionId, `aborted by user (/stop in ${ctx.channel})`))
        return { text: "no turn is running" }
      return { text: "stopped the running turn" }
    },
  },
  restart: {
    usage: "/restart",
    help: "Restart the gateway (sessions are kept)",
    run(gw, ctx) {
      gw.requestRestart(ctx.channel)
      return { text: "restart requested" }
    },
  },
  quit: {
    usage: "/quit",
    help: "Leave this chat (drost start's chat stops the gateway; drost chat detaches)",
    run: () => ({ text: "bye", quit: true }),
  },
}

/** Null when `line` is not a slash command. */
export async function dispatch(gw: Gateway, ctx: CommandContext, line: string): Promise<CommandReply | null> {
  const match = line.trim().match(/^\/([a-z]+)(?:@\S+)?(?:\s+([\s\S]*))?$/i)
  if (!match) return null
  const name = match[1]!.toLowerCase()
  const builtin = COMMANDS[ALIASES[name] ?? name]
  // A plugin's command (src/plugins) answers when no built-in one has the name; plugins cannot shadow these.
  const plugin = builtin ? undefined : gw.plugins?.command(name)
  if (!builtin && !plugin) return { text: `unknown command /${match[1]}; try /help` }
  try {
    if (plugin) return await plugin.run((match[2] ?? "").trim(), { channel: ctx.channel, sessionId: ctx.sessionId })
    return await builtin!.run(gw, ctx, (match[2] ?? "").trim())
  } catch (error) {
    return { text: error instanceof Error ? error.message : String(error) }
  }
}
