/**
 * Config sections for memory and continuity: prompt assembly (`context`), the memory folder (`memory`),
 * what happens to messages that arrive during a turn (`orchestration`), timed turns (`schedules`) and
 * old sessions (`retention`). Kept beside config.ts so that file stays the map of sections.
 */
import { type Static, Type } from "./schema.ts"

const closed = { additionalProperties: false } as const

export const Context = Type.Object(
  {
    personaFiles: Type.Array(Type.String({ minLength: 1 }), {
      default: ["AGENTS.md", "SOUL.md", "USER.md", "MEMORY.md"],
      description:
        "Workspace files added to the system prompt after prompts/system.md, in this order (missing ones are skipped)",
    }),
    systemTokens: Type.Integer({
      minimum: 64,
      default: 4_000,
      description: "Budget for prompts/system.md (estimated tokens)",
    }),
    personaTokens: Type.Integer({ minimum: 0, default: 4_000, description: "Budget for all persona files together" }),
    factsTokens: Type.Integer({
      minimum: 0,
      default: 400,
      description: "Budget for runtime facts (date, time zone, workspace, tools)",
    }),
    memoryTokens: Type.Integer({
      minimum: 0,
      default: 600,
      description: "Budget for the memory capsule (recent daily notes)",
    }),
    windowTokens: Type.Integer({
      minimum: 1_000,
      default: 32_000,
      description: "Context window assumed for every provider (estimated tokens)",
    }),
    reserveTokens: Type.Integer({
      minimum: 0,
      default: 4_000,
      description: "Kept free in the window for the model's answer",
    }),
    keepRecentTokens: Type.Integer({
      minimum: 0,
      default: 8_000,
      description: "Newest history kept verbatim when older turns are summarised",
    }),
    summaryTokens: Type.Integer({ minimum: 64, default: 800, description: "Length asked of a summary" }),
    timeZone: Type.Optional(
      Type.String({ description: "IANA zone for runtime facts and daily notes (default: the system's)" }),
    ),
  },
  closed,
)
export type ContextConfig = Static<typeof Context>

export const Memory = Type.Object(
  {
    dir: Type.String({ default: "memory", description: "Folder of Markdown notes, relative to the workspace" }),
    rescanSeconds: Type.Integer({
      minimum: 0,
      default: 60,
      description: "Full rescan interval behind the file watcher (0: never)",
    }),
  },
  closed,
)
export type MemoryConfig = Static<typeof Memory>

const modes = [Type.Literal("queue"), Type.Literal("interrupt"), Type.Literal("collect")]
const MODE_HELP =
  "queue: run after the current turn; interrupt: abort it and run now; collect: batch messages after a debounce"
const drops = [Type.Literal("oldest"), Type.Literal("newest"), Type.Literal("reject")]
const DROP_HELP =
  "When the queue is full: drop the oldest waiting turn, drop the new message, or refuse it with an error"
const DEBOUNCE_HELP = "collect: quiet time before the batch runs"
const QUEUE_HELP = "Waiting turns per session"

/** A channel's override: only the keys it sets (no defaults, so the global values show through). */
const LaneOverride = Type.Object(
  {
    mode: Type.Optional(Type.Union(modes, { description: MODE_HELP })),
    debounceMs: Type.Optional(Type.Integer({ minimum: 0, description: DEBOUNCE_HELP })),
    maxQueue: Type.Optional(Type.Integer({ minimum: 1, description: QUEUE_HELP })),
    drop: Type.Optional(Type.Union(drops, { description: DROP_HELP })),
  },
  closed,
)

export const Orchestration = Type.Object(
  {
    mode: Type.Union(modes, { default: "queue", description: MODE_HELP }),
    debounceMs: Type.Integer({ minimum: 0, default: 1_500, description: DEBOUNCE_HELP }),
    maxQueue: Type.Integer({ minimum: 1, default: 20, description: QUEUE_HELP }),
    drop: Type.Union(drops, { default: "reject", description: DROP_HELP }),
    channels: Type.Record(Type.String(), LaneOverride, {
      default: {},
      description: "Per-channel overrides keyed by channel name (telegram, api, terminal, schedule)",
    }),
  },
  closed,
)
export type OrchestrationConfig = Static<typeof Orchestration>
export type LanePolicy = Omit<OrchestrationConfig, "channels">

/** The policy for messages from `channel`: its override over the global values. */
export function lanePolicy(config: OrchestrationConfig, channel: string | null): LanePolicy {
  const { channels, ...base } = config
  const override = channel ? channels[channel] : undefined
  return { ...base, ...Object.fromEntries(Object.entries(override ?? {}).filter(([, value]) => value !== undefined)) }
}

export const Schedule = Type.Object(
  {
    id: Type.String({ minLength: 1, pattern: "^[A-Za-z0-9_.:-]+$" }),
    cron: Type.Optional(
      Type.String({
        description:
          "minute hour day-of-month month day-of-week (names like MON-FRI and JAN work; an optional leading seconds field; or @daily, @weekly, @monthly, @yearly, @hourly)",
      }),
    ),
    every: Type.Optional(Type.String({ pattern: "^\\d+(ms|s|m|h|d)$", description: "Interval such as 30m, 1h, 1d" })),
    at: Type.Optional(
      Type.String({
        description:
          "Once, at this time: ISO 8601 like 2026-12-02T09:00 (read in timeZone) or with an offset (2026-12-02T09:00+01:00)",
      }),
    ),
    timeZone: Type.Optional(
      Type.String({ description: "IANA zone for cron and at (default: the top-level timeZone, else the system's)" }),
    ),
    session: Type.Optional(
      Type.String({ description: "Run in this session id (default: one session per schedule, reused)" }),
    ),
    new: Type.Optional(Type.Boolean({ description: "Run every time in a fresh session" })),
    prompt: Type.String({ minLength: 1 }),
    deliver: Type.Optional(
      Type.Object({ channel: Type.String(), chat: Type.Union([Type.String(), Type.Number()]) }, closed),
    ),
    missed: Type.Optional(
      Type.Union([Type.Literal("skip"), Type.Literal("once")], {
        description: "After downtime: skip missed runs, or run once at start (default once)",
      }),
    ),
    enabled: Type.Optional(Type.Boolean()),
  },
  closed,
)
export type Schedule = Static<typeof Schedule>

const CLOCK = "^([01]\\d|2[0-3]):[0-5]\\d$|^24:00$"

export const Heartbeat = Type.Object(
  {
    enabled: Type.Boolean({ default: false, description: "Run the heartbeat turn" }),
    every: Type.String({ pattern: "^\\d+(ms|s|m|h|d)$", default: "30m", description: "How often (30m, 1h, …)" }),
    activeHours: Type.Optional(
      Type.Object(
        {
          start: Type.String({ pattern: CLOCK, description: "HH:MM in the owner's time zone, e.g. 08:00" }),
          end: Type.String({ pattern: CLOCK, description: "HH:MM; before start means overnight (22:00–06:00)" }),
        },
        { ...closed, description: "Only between these times (default: all day)" },
      ),
    ),
    file: Type.String({
      default: "HEARTBEAT.md",
      description: "The checklist in the workspace; missing or empty: no turn",
    }),
    ok: Type.String({
      minLength: 2,
      default: "HEARTBEAT_OK",
      description: "What the model answers when there is nothing to report; that answer is not delivered",
    }),
    deliver: Type.Optional(
      Type.Object(
        { channel: Type.String(), chat: Type.Union([Type.String(), Type.Number()]) },
        {
          ...closed,
          description: "Where answers go (default: the chat of the most recently active Telegram session)",
        },
      ),
    ),
    provider: Type.Optional(
      Type.String({ description: "Provider profile of the heartbeat session (default: the default)" }),
    ),
    maxSteps: Type.Integer({ minimum: 1, default: 6, description: "Model calls allowed per heartbeat turn" }),
    maxToolCalls: Type.Integer({ minimum: 0, default: 10, description: "Tool calls allowed per heartbeat turn" }),
  },
  closed,
)
export type HeartbeatConfig = Static<typeof Heartbeat>

export const Retention = Type.Object(
  {
    maxAgeDays: Type.Optional(Type.Integer({ minimum: 1, description: "Sessions idle longer than this" })),
    maxSessions: Type.Optional(Type.Integer({ minimum: 1, description: "Keep only the newest N sessions" })),
    maxBytes: Type.Optional(
      Type.Integer({ minimum: 1, description: "Keep the newest sessions whose messages fit in this many bytes" }),
    ),
    action: Type.Union([Type.Literal("archive"), Type.Literal("delete")], {
      default: "archive",
      description: "archive writes JSON under .drost/archive first",
    }),
    intervalMinutes: Type.Integer({
      minimum: 0,
      default: 0,
      description: "Apply automatically this often (0: only by command)",
    }),
  },
  closed,
)
export type RetentionConfig = Static<typeof Retention>
