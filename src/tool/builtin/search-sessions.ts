/**
 * `sessions.search`: find what was said in earlier conversations (every stored session, every
 * channel), newest first, with the session, the time and a snippet around the match, so "what did I
 * tell you about the flat?" works without the agent having written a note. The question being asked
 * (the current turn's messages) is left out, or it would always be the first hit. The search itself is
 * the store contract's (`gw.data.search`: src/store/search.ts's FTS5 on SQLite, a tsvector on
 * PostgreSQL); this file only describes the tool the model sees.
 */
import { Type } from "../../core/schema.ts"
import type { MessageHit, Store } from "../../store/engine/contract.ts"
import type { RegisteredTool } from "../registry.ts"

const DEFAULT_LIMIT = 10
const MAX_LIMIT = 50

/** "2026-11-03 14:05" in the owner's time zone (context.timeZone), or UTC when none is set. */
export function when(ms: number, timeZone?: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: timeZone || "UTC",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(ms))
  const get = (type: string) => parts.find((part) => part.type === type)?.value ?? ""
  return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")}${timeZone ? "" : " UTC"}`
}

/** A YYYY-MM-DD or ISO time; a bare date means its start in UTC. */
function time(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined
  const ms = Date.parse(text)
  if (Number.isNaN(ms))
    throw new Error(`${name} must be a date such as 2026-11-03 or 2026-11-03T14:00:00Z, not "${text}"`)
  return ms
}

function line(hit: MessageHit, rank: number, timeZone?: string): string {
  const title = hit.sessionTitle ? ` "${hit.sessionTitle}"` : ""
  const who = hit.role === "user" ? "user said" : "assistant said"
  const snippet = hit.snippet.replace(/\s+/g, " ").trim()
  return `${rank + 1}. ${when(hit.createdAt, timeZone)} · session ${hit.sessionId}${title} · ${who}:\n   ${snippet}`
}

export function sessionsSearchTool(search: Store["search"], timeZone?: () => string | undefined): RegisteredTool {
  return {
    name: "sessions.search",
    source: "builtin",
    description:
      "Search everything said in past conversations (all sessions and channels) by words; newest first. Returns the time, the session and a snippet of each matching message («» marks the match). Use it when the user refers to something said before that is not in this conversation.",
    parameters: Type.Object(
      {
        query: Type.String({
          minLength: 1,
          maxLength: 500,
          description:
            'Words that must all occur (any word form: "flats" finds "flat"); "quoted phrase" for exact order; word* for a prefix',
        }),
        any: Type.Optional(Type.Boolean({ description: "Match messages with any of the words instead of all" })),
        limit: Type.Optional(
          Type.Integer({
            minimum: 1,
            maximum: MAX_LIMIT,
            description: `Most messages to return (default ${DEFAULT_LIMIT})`,
          }),
        ),
        role: Type.Optional(
          Type.Union([Type.Literal("user"), Type.Literal("assistant")], {
            description: "Only what the user said, or only what the assistant said",
          }),
        ),
        sessionId: Type.Optional(Type.String({ minLength: 1, description: "Only this session" })),
        since: Type.Optional(Type.String({ description: "Only messages from this date or time on (2026-11-01)" })),
        until: Type.Optional(Type.String({ description: "Only messages before this date or time" })),
        order: Type.Optional(
          Type.Union([Type.Literal("recent"), Type.Literal("relevant")], {
            description: '"recent" (default): newest first; "relevant": best match first',
          }),
        ),
      },
      { additionalProperties: false },
    ),
    async execute(args, ctx) {
      const a = args as {
        query: string
        any?: boolean
        limit?: number
        role?: "user" | "assistant"
        sessionId?: string
        since?: string
        until?: string
        order?: "recent" | "relevant"
      }
      const hits = await search.search({
        text: a.query,
        limit: a.limit ?? DEFAULT_LIMIT,
        any: a.any,
        role: a.role,
        sessionId: a.sessionId,
        since: time(a.since, "since"),
        until: time(a.until, "until"),
        excludeTurnId: ctx.turnId,
        order: a.order,
      })
      if (hits.length === 0) return `no earlier message matches "${a.query}"`
      const zone = timeZone?.()
      const order = a.order === "relevant" ? "best match first" : "newest first"
      return `${hits.length} message${hits.length === 1 ? "" : "s"} match "${a.query}" (${order}):\n\n${hits.map((hit, rank) => line(hit, rank, zone)).join("\n")}`
    },
  }
}
