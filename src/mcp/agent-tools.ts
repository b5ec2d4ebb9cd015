/**
 * What an MCP client does with the agent: run a turn in a session (new, or named by id or by a name of
 * its own), list and read sessions, abort a running turn. Each tool is a TypeBox schema (its JSON
 * Schema is what `tools/list` shows; the same object validates the call) and a handler over the
 * gateway. The turn goes through `gw.sessions.prompt` like any channel's message, so the model runs
 * with its own tools, policy, sandbox and approvals: an MCP client gets what a user gets, no more.
 */
import { TurnEvent } from "../agent/events.ts"
import type { Message, Part } from "../core/message.ts"
import { type Static, type TSchema, Type } from "../core/schema.ts"
import type { Gateway } from "../gateway/gateway.ts"
import { problems } from "../tool/validate.ts"

/** The channel MCP sessions are stored under; a session named by the client keeps that name as its key. */
export const CHANNEL = "mcp"

export interface CallResult {
  [key: string]: unknown
  content: { type: "text"; text: string }[]
  structuredContent?: Record<string, unknown>
  isError?: boolean
}

export interface CallContext {
  signal: AbortSignal
  /** Reports streamed text while a turn runs (MCP progress notifications), when the client asked for them. */
  progress?: (done: number, message: string) => void
}

export interface AgentTool<S extends TSchema = TSchema> {
  name: string
  title: string
  description: string
  schema: S
  readOnly: boolean
  run(gw: Gateway, args: Static<S>, context: CallContext): Promise<CallResult> | CallResult
}

const define = <S extends TSchema>(tool: AgentTool<S>) => tool as unknown as AgentTool

const text = (value: string, structured?: Record<string, unknown>, isError = false): CallResult => ({
  content: [{ type: "text", text: value }],
  ...(structured ? { structuredContent: structured } : {}),
  ...(isError ? { isError: true } : {}),
})

const SESSION_ID = /^ses_[0-9a-z]+$/

/** An existing session id, or a name: the session of channel "mcp" with that key, created on first use. */
async function resolveSession(gw: Gateway, session: string | undefined, provider: string | undefined) {
  if (session && SESSION_ID.test(session)) return gw.sessions.get(session)
  if (session) {
    const existing = await gw.data.sessions.byChannelKey(CHANNEL, session)
    if (existing) return existing
  }
  return gw.sessions.create({ title: session ?? "MCP", channel: CHANNEL, channelKey: session, provider })
}

const RunTurn = Type.Object(
  {
    input: Type.String({ minLength: 1, description: "The message to the agent" }),
    session: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description:
          "A session id (ses_…) to continue, or a name of your choosing: the first call with a name creates its session, later calls continue it. Omit for a new session.",
      }),
    ),
    provider: Type.Optional(
      Type.String({ description: "Provider profile for a new session (default: the gateway's default)" }),
    ),
  },
  { additionalProperties: false },
)

const ListSessions = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 20 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
    q: Type.Optional(Type.String({ maxLength: 200, description: "Case-insensitive substring of the title" })),
    channel: Type.Optional(Type.String({ description: "Only this channel's sessions (mcp, api, telegram, …)" })),
  },
  { additionalProperties: false },
)

const ReadSession = Type.Object(
  {
    session: Type.String({ minLength: 1, description: "Session id (ses_…) or the name run_turn was given" }),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50, description: "Last N messages" })),
  },
  { additionalProperties: false },
)

const AbortTurn = Type.Object(
  { session: Type.String({ minLength: 1, description: "Session id (ses_…) or name" }) },
  { additionalProperties: false },
)

/** A session named by id or by its MCP name; null when neither exists. */
function find(gw: Gateway, session: string) {
  return SESSION_ID.test(session) ? gw.data.sessions.get(session) : gw.data.sessions.byChannelKey(CHANNEL, session)
}

const unknown = (session: string) =>
  text(`unknown session "${session}"; list_sessions shows the sessions there are`, undefined, true)

export const agentTools: AgentTool[] = [
  define({
    name: "run_turn",
    title: "Run a turn",
    description:
      "Send a message to the Drost agent and wait for its answer. The agent works with its own tools in the session; the reply is its final text. Turns of one session run one after another.",
    schema: RunTurn,
    readOnly: false,
    async run(gw, args, context) {
      const session = await resolveSession(gw, args.session, args.provider)
      const accepted = await gw.sessions.prompt({ sessionId: session.id, text: args.input, source: CHANNEL })
      let streamed = ""
      const stop = context.progress
        ? gw.bus.subscribe(TurnEvent.Delta, (event) => {
            // Progress must rise with every notification: an empty delta adds nothing to report.
            if (event.data.turnId !== accepted.turn.id || !event.data.text) return
            streamed += event.data.text
            context.progress!(streamed.length, event.data.text)
          })
        : () => {}
      // A cancelled request (notifications/cancelled) aborts the turn, if it is the one running.
      const onAbort = () => {
        if (gw.sessions.runningTurn(session.id) === accepted.turn.id)
          gw.sessions.abort(session.id, "cancelled by the MCP client")
      }
      context.signal.addEventListener("abort", onAbort, { once: true })
      try {
        const result = await accepted.done
        const structured = {
          sessionId: session.id,
          turnId: result.turnId,
          status: result.status,
          reason: result.reason,
          text: result.text,
        }
        if (result.status === "completed") return text(result.text || "(no text)", structured)
        return text(`the turn ${result.status}: ${result.reason ?? "no reason given"}`, structured, true)
      } finally {
        stop()
        context.signal.removeEventListener("abort", onAbort)
      }
    },
  }),
  define({
    name: "list_sessions",
    title: "List sessions",
    description: "The agent's sessions, newest activity first, with their id, title, channel and message count.",
    schema: ListSessions,
    readOnly: true,
    async run(gw, args) {
      const limit = args.limit ?? 20
      const offset = args.offset ?? 0
      const page = await gw.data.sessions.page({ limit, offset, title: args.q, channel: args.channel })
      const sessions = page.sessions.map((session) => ({
        id: session.id,
        title: session.title,
        channel: session.channel,
        name: session.channel === CHANNEL ? session.channelKey : null,
        provider: session.provider,
        messageCount: session.messageCount,
        updatedAt: new Date(session.updatedAt).toISOString(),
      }))
      const lines = sessions.map(
        (s) => `${s.id}  ${s.title}  (${s.channel ?? "-"}, ${s.messageCount} messages, ${s.updatedAt})`,
      )
      const more = offset + sessions.length < page.total ? offset + sessions.length : null
      const head = `${page.total} session${page.total === 1 ? "" : "s"}${more === null ? "" : `; next offset ${more}`}`
      return text([head, ...lines].join("\n"), { sessions, total: page.total, nextOffset: more })
    },
  }),
  define({
    name: "read_session",
    title: "Read a session",
    description: "A session's last messages as a transcript (user, assistant, tool calls and results).",
    schema: ReadSession,
    readOnly: true,
    async run(gw, args) {
      const session = await find(gw, args.session)
      if (!session) return unknown(args.session)
      const messages = await gw.data.sessions.messages(session.id, { limit: args.limit ?? 50 })
      return text(`# ${session.title} (${session.id})\n\n${transcript(messages)}`, {
        session: { id: session.id, title: session.title, channel: session.channel, messageCount: session.messageCount },
        messages: messages.map((message) => ({ seq: message.seq, role: message.role, parts: message.parts })),
      })
    },
  }),
  define({
    name: "abort_turn",
    title: "Abort the running turn",
    description: "Stops the session's running turn (it ends failed, reason: aborted); waiting turns still run.",
    schema: AbortTurn,
    readOnly: false,
    async run(gw, args) {
      const session = await find(gw, args.session)
      if (!session) return unknown(args.session)
      const aborted = gw.sessions.abort(session.id, "aborted by the MCP client")
      return text(aborted ? `aborted the running turn of ${session.id}` : `no turn was running in ${session.id}`, {
        aborted,
      })
    },
  }),
]

/** One line per part: what a reader needs to follow the conversation. */
export function transcript(messages: Message[]): string {
  const part = (role: string, p: Part): string => {
    switch (p.type) {
      case "text":
        return `${role}: ${p.text}`
      case "reasoning":
        return `${role} (thinking): ${p.text}`
      case "image":
        return `${role}: [image ${p.mediaType}]`
      case "tool-call":
        return `${role} calls ${p.name} ${JSON.stringify(p.args)}`
      case "tool-result":
        return `${p.name}${p.isError ? " (error)" : ""} → ${p.output}`
    }
  }
  return messages.flatMap((message) => message.parts.map((p) => part(message.role, p))).join("\n")
}

/** null when `args` fits the tool's schema; else one line per problem (the client sees it as a tool error). */
export function invalid(tool: AgentTool, args: unknown): string | null {
  const lines = problems(tool.schema as unknown as Record<string, unknown>, args)
  return lines.length ? lines.join("\n") : null
}
