/**
 * The heartbeat: an optional periodic turn that goes through a checklist in the workspace
 * (`HEARTBEAT.md`) and speaks up only when there is something to say. The prompt asks for a sentinel
 * (`HEARTBEAT_OK`) when nothing needs the owner; that answer is suppressed, anything else is delivered
 * to the owner's chat. It runs in a session of its own (kept across restarts) with its own budget
 * (maxSteps, maxToolCalls), only inside its active hours, never two at once, and not at all while the
 * checklist is missing or holds nothing but headings.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import type { Bus } from "../bus/bus.ts"
import type { HeartbeatConfig } from "../core/continuity-config.ts"
import { parseEvery } from "../core/cron.ts"
import type { Logger } from "../util/log.ts"
import { ContinuityEvent } from "./continuity-events.ts"
import type { Deliver } from "./schedules.ts"
import type { Sessions } from "./session.ts"

type Target = { channel: string; chat: string | number }

export interface HeartbeatDeps {
  /** Where its session and last beat are kept: the store contract's kv (`gw.data.sessions.kv`). */
  kv: { get(key: string): Promise<string | null>; set(key: string, value: string): Promise<void> }
  bus: Bus
  sessions: Pick<Sessions, "prompt" | "create" | "get" | "runningTurn">
  config: () => HeartbeatConfig | undefined
  /** The owner's zone for active hours; undefined: the system's. */
  timeZone: () => string | undefined
  workspace: string
  deliver: Deliver
  /** Where answers go without heartbeat.deliver: the owner's most recent chat, or null (read from the store). */
  lastChat: () => Target | null | Promise<Target | null>
  log: Logger
  now?: () => number
}

const SESSION_KEY = "heartbeat.session"
const LAST_KEY = "heartbeat.last"

/** Minutes since midnight of `time` in `zone`. */
function minuteOfDay(time: number, zone?: string): number {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone: zone,
    hourCycle: "h23",
    hour: "2-digit",
    minute: "2-digit",
  })
    .formatToParts(new Date(time))
    .reduce<Record<string, string>>((all, part) => Object.assign(all, { [part.type]: part.value }), {})
  return Number(parts.hour) * 60 + Number(parts.minute)
}

const minutes = (clock: string) => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5))

/** Inside `hours` (HH:MM–HH:MM in `zone`, end exclusive; an end before the start spans midnight). */
export function withinHours(time: number, hours: { start: string; end: string } | undefined, zone?: string): boolean {
  if (!hours) return true
  const now = minuteOfDay(time, zone)
  const start = minutes(hours.start)
  const end = minutes(hours.end)
  if (start === end) return true
  return start < end ? now >= start && now < end : now >= start || now < end
}

/** The checklist, or null when it is missing or has nothing but blank lines and headings. */
export function checklist(path: string): string | null {
  let text: string
  try {
    text = readFileSync(path, "utf8")
  } catch {
    return null
  }
  const meaningful = text.split("\n").some((line) => line.trim() !== "" && !/^\s*#/.test(line))
  return meaningful ? text.trim() : null
}

/**
 * What of an answer to deliver: null when it says "nothing to report" (the sentinel alone, perhaps in
 * bold or code, or an empty answer); otherwise the text without the sentinel.
 */
export function worthSaying(text: string, ok: string): string | null {
  const rest = text.split(ok).join("").trim()
  if (/^[\s*_`~.!:;,-]*$/.test(rest)) return null
  return rest
}

export function heartbeatPrompt(list: string, ok: string, time: string): string {
  return [
    `[Heartbeat ${time}: a periodic check, not a message from the user.]`,
    `Go through the checklist below. If something needs the user's attention, write the message for them; it is sent to their chat. If nothing does, answer exactly ${ok} and nothing else.`,
    "",
    list,
  ].join("\n")
}

export type Heartbeat = ReturnType<typeof createHeartbeat>

export function createHeartbeat(deps: HeartbeatDeps) {
  const now = deps.now ?? Date.now
  const { kv } = deps
  let timer: ReturnType<typeof setTimeout> | null = null
  let current: Promise<void> | null = null
  let stopped = true

  const publish = (
    status: string,
    extra: { sessionId?: string | null; suppressed?: boolean; delivered?: boolean; reason?: string },
  ): void =>
    void deps.bus.publish(ContinuityEvent.HeartbeatRun, {
      sessionId: extra.sessionId ?? null,
      status,
      suppressed: extra.suppressed ?? false,
      delivered: extra.delivered ?? false,
      ...(extra.reason ? { reason: extra.reason } : {}),
    })

  const sessionId = async (config: HeartbeatConfig): Promise<string> => {
    const known = await kv.get(SESSION_KEY)
    if (known) {
      try {
        return (await deps.sessions.get(known)).id
      } catch {
        // deleted: make another
      }
    }
    const session = await deps.sessions.create({
      title: "heartbeat",
      channel: "heartbeat",
      channelKey: "heartbeat",
      ...(config.provider ? { provider: config.provider } : {}),
    })
    await kv.set(SESSION_KEY, session.id)
    return session.id
  }

  async function beat(config: HeartbeatConfig): Promise<void> {
    const time = now()
    try {
      await kv.set(LAST_KEY, String(time))
    } catch (error) {
      deps.log.warn("heartbeat failed", { error: String(error) })
      return publish("failed", { reason: error instanceof Error ? error.message : String(error) })
    }
    if (!withinHours(time, config.activeHours, deps.timeZone()))
      return publish("skipped", { reason: "outside heartbeat.activeHours" })
    const list = checklist(join(deps.workspace, config.file))
    if (!list) return publish("skipped", { reason: `${config.file} is missing or empty` })
    let id: string | null = null
    try {
      id = await sessionId(config)
      if (deps.sessions.runningTurn(id)) return publish("skipped", { sessionId: id, reason: "the last one still runs" })
      const stamp = new Date(time).toLocaleString("en-GB", { timeZone: deps.timeZone() })
      const accepted = await deps.sessions.prompt({
        sessionId: id,
        text: heartbeatPrompt(list, config.ok, stamp),
        source: "heartbeat",
        limits: { maxSteps: config.maxSteps, maxToolCalls: config.maxToolCalls },
      })
      const result = await accepted.done
      if (result.status !== "completed")
        return publish(result.status, { sessionId: id, reason: result.reason ?? result.status })
      const said = worthSaying(result.text, config.ok)
      if (said === null) return publish("completed", { sessionId: id, suppressed: true })
      const target = config.deliver ?? (await deps.lastChat())
      if (!target) return publish("undelivered", { sessionId: id, reason: "no chat to deliver to (heartbeat.deliver)" })
      try {
        await deps.deliver(target.channel, target.chat, said)
        publish("completed", { sessionId: id, delivered: true })
      } catch (error) {
        publish("undelivered", { sessionId: id, reason: (error as Error).message })
      }
    } catch (error) {
      deps.log.warn("heartbeat failed", { error: String(error) })
      publish("failed", { sessionId: id, reason: error instanceof Error ? error.message : String(error) })
    }
  }

  const arm = async () => {
    const config = deps.config()
    if (stopped || !config?.enabled) return
    const every = parseEvery(config.every)
    const last = Number((await kv.get(LAST_KEY)) ?? 0)
    if (stopped) return // stopped while the store answered
    // After a restart the rhythm goes on from the last beat; the first one waits one interval.
    const due = last ? Math.max(last + every, now()) : now() + every
    // Never two pending beats (start twice, say): stop() clears only the one it knows.
    if (timer) clearTimeout(timer)
    timer = setTimeout(
      () => {
        timer = null
        current = beat(config).finally(() => {
          current = null
          rearm()
        })
      },
      Math.max(0, due - now()),
    )
  }

  /** Plan the next beat; a store that cannot be read now is tried again one interval later. */
  const rearm = (): void =>
    void arm().catch((error) => {
      deps.log.warn("heartbeat could not be planned", { error: String(error) })
      const config = deps.config()
      if (stopped || !config?.enabled) return
      if (timer) clearTimeout(timer)
      timer = setTimeout(rearm, parseEvery(config.every))
    })

  return {
    /** Resolves once the first beat is planned. */
    async start() {
      stopped = false
      try {
        if (!(await kv.get(LAST_KEY)) && deps.config()?.enabled) await kv.set(LAST_KEY, String(now()))
      } catch (error) {
        deps.log.warn("heartbeat could not read its last beat", { error: String(error) })
      }
      rearm()
    },
    async stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      timer = null
      await current
    },
  }
}
