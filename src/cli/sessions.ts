/**
 * `drost sessions list|show|rename|delete`: the running gateway's sessions over the Control API
 * (typed client, api/client.ts). `--json` prints the API's answer. With no gateway running each
 * exits 1 with the hint (reach.ts); `drost session export|import` work on a stopped workspace too.
 */
import { defineCommand } from "citty"
import { Msg } from "../core/message.ts"
import { integer } from "./args.ts"
import { attachArgs } from "./attach.ts"
import { connect, data, where } from "./reach.ts"

const json = { json: { type: "boolean", description: "Print the API's JSON answer" } } as const
const id = { id: { type: "positional", required: true, description: "Session id (ses_…)" } } as const

const when = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 16)
const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)

const list = defineCommand({
  meta: { name: "list", description: "Sessions, most recently active first" },
  args: {
    ...attachArgs,
    ...json,
    limit: { type: "string", alias: "n", description: "How many (default 20, at most 200)" },
    channel: { type: "string", description: "Only this channel (terminal, api, telegram, openai, …)" },
    search: { type: "string", alias: "q", description: "Only titles containing this (case-insensitive)" },
  },
  async run({ args }) {
    const limit = integer(args.limit, "--limit", { min: 1, max: 200 }) ?? 20
    const running = await connect(where(args))
    const page = await data(
      running,
      running.api.control.v1.sessions.get({ query: { limit, channel: args.channel, q: args.search } }),
    )
    if (args.json) return print(page)
    if (page.sessions.length === 0) {
      process.stdout.write("no sessions\n")
      return
    }
    for (const session of page.sessions)
      process.stdout.write(
        `${session.id}  ${when(session.updatedAt)}  ${String(session.messageCount).padStart(4)} msgs  ${(session.channel ?? "-").padEnd(9)} ${session.provider.padEnd(10)} ${session.title}\n`,
      )
    if (page.total > page.sessions.length)
      process.stdout.write(`(${page.sessions.length} of ${page.total}; --limit for more)\n`)
  },
})

const show = defineCommand({
  meta: { name: "show", description: "One session: its details and last messages" },
  args: {
    ...attachArgs,
    ...json,
    ...id,
    messages: { type: "string", alias: "n", description: "How many of the last messages (default 20)" },
  },
  async run({ args }) {
    const limit = integer(args.messages, "--messages", { min: 0, max: 200 }) ?? 20
    const running = await connect(where(args))
    const answer = await data(running, running.api.control.v1.sessions({ id: args.id }).get({ query: { limit } }))
    if (args.json) return print(answer)
    const { session, messages, turns } = answer
    const lines = [
      `${session.id}  ${session.title || "(untitled)"}`,
      `  channel ${session.channel ?? "-"} · provider ${session.provider}${session.pendingProvider ? ` (switching to ${session.pendingProvider})` : ""}`,
      `  created ${when(session.createdAt)} · active ${when(session.updatedAt)} · ${session.messageCount} messages · ${turns.length} recent turns`,
      "",
      ...messages.map((message) => {
        const text = Msg.text(message.parts).trim() || `(${message.parts.map((part) => part.type).join(", ")})`
        return `[${message.role}] ${text}`
      }),
    ]
    process.stdout.write(`${lines.join("\n")}\n`)
  },
})

const rename = defineCommand({
  meta: { name: "rename", description: "Give a session a new title" },
  args: {
    ...attachArgs,
    ...json,
    ...id,
    title: { type: "positional", required: true, description: "The new title" },
  },
  async run({ args }) {
    const running = await connect(where(args))
    const session = await data(running, running.api.control.v1.sessions({ id: args.id }).patch({ title: args.title }))
    if (args.json) return print(session)
    process.stdout.write(`renamed ${session.id} to "${session.title}"\n`)
  },
})

const remove = defineCommand({
  meta: { name: "delete", description: "Delete a session, its messages and turns (a running turn is aborted)" },
  args: { ...attachArgs, ...json, ...id },
  async run({ args }) {
    const running = await connect(where(args))
    const answer = await data(running, running.api.control.v1.sessions({ id: args.id }).delete())
    if (args.json) return print(answer)
    process.stdout.write(`deleted ${answer.deleted}\n`)
  },
})

export const sessionsCommand = defineCommand({
  meta: { name: "sessions", description: "List, show, rename and delete the running gateway's sessions" },
  subCommands: { list, show, rename, delete: remove },
})
