/**
 * The dashboard itself, an ink (React) tree: sessions on the left, the chosen session's chat with the
 * answer streaming in, the gateway's live event log below it, pending approvals, an input line and a
 * status bar (state, provider, tokens, cost). Everything shown comes from the Control API; a key press
 * is one API call (switch: read a session; Enter: a turn or a slash command; Esc: abort; Ctrl-A / Ctrl-X:
 * decide the oldest approval). Written with createElement rather than JSX, so no build setting changes.
 */
import { Box, type Key, Text, useApp, useInput, useStdout } from "ink"
import { createElement as h, useCallback, useEffect, useRef, useState } from "react"
import type { Pending } from "../../approval/approval.ts"
import { chooseSession } from "../chat-choice.ts"
import type { Link, MessageRow, SessionRow } from "./link.ts"
import { clip, clock, MIN_COLS, MIN_ROWS, preview, wrap } from "./view.ts"

interface Line {
  who: "you" | "drost" | "tool" | "note"
  text: string
}

export interface AppProps {
  link: Link
  stateDir: string
  first: string
}

const LOG_ROWS = 7
const SIDEBAR = 30
const NEW_TITLE = "terminal (tui)"

/** Where a turn starts or ends: the moments the list's busy marks change. */
const BOUNDARIES = new Set([
  "session.turn.started",
  "session.turn.completed",
  "session.turn.failed",
  "session.turn.interrupted",
  "session.turn.discard",
])
const busyOf = (queues: { sessionId: string; running: boolean; waiting: number }[]) =>
  new Set(queues.filter((queue) => queue.running || queue.waiting > 0).map((queue) => queue.sessionId))

const fromMessages = (messages: MessageRow[]): Line[] =>
  messages.flatMap((message): Line[] => {
    const text = message.parts
      .filter((part) => part.type === "text")
      .map((part) => part.text ?? "")
      .join("")
    const tools = message.parts
      .filter((part) => part.type === "tool-call" || part.type === "tool_call")
      .map((part): Line => ({ who: "tool", text: `⚙ ${part.name ?? "tool"}` }))
    if (message.role === "user" && text) return [{ who: "you", text }]
    if (message.role === "assistant") return [...tools, ...(text ? [{ who: "drost" as const, text }] : [])]
    return []
  })

function useSize() {
  const { stdout } = useStdout()
  const [size, setSize] = useState({ cols: stdout.columns || 80, rows: stdout.rows || 24 })
  useEffect(() => {
    // SIGWINCH: the terminal's new size arrives as stdout's resize event; the layout follows it.
    const resized = () => setSize({ cols: stdout.columns || 80, rows: stdout.rows || 24 })
    stdout.on("resize", resized)
    return () => void stdout.off("resize", resized)
  }, [stdout])
  return size
}

export function App({ link, stateDir, first }: AppProps) {
  const app = useApp()
  const { cols, rows } = useSize()
  const [sessions, setSessions] = useState<SessionRow[]>([])
  const [current, setCurrent] = useState(first)
  // The chat belongs to one session: a frame drawn right after a switch shows none rather than the old one's.
  const [chat, setChat] = useState<{ id: string; lines: Line[] }>({ id: first, lines: [] })
  const [log, setLog] = useState<string[]>([])
  const [approvals, setApprovals] = useState<Pending[]>([])
  const [input, setInput] = useState("")
  const [state, setState] = useState("…")
  /** Sessions with a turn running or messages waiting, on any channel (the gateway's lanes). */
  const [busy, setBusy] = useState<Set<string>>(new Set())
  const [cost, setCost] = useState<Record<string, number | null>>({})
  const [notice, setNotice] = useState("")
  /** The session whose turn this dashboard started and is streaming (Esc and Ctrl-C abort that one). */
  const [running, setRunning] = useState<string | null>(null)
  const currentRef = useRef(current)
  currentRef.current = current

  const say = useCallback((error: unknown) => setNotice(error instanceof Error ? error.message : String(error)), [])
  const refresh = useCallback(async () => {
    const [list, status, providers] = await Promise.all([link.sessions(), link.status(), link.providers()])
    setSessions(list)
    setState(status.state)
    setBusy(busyOf(status.queues))
    setCost(Object.fromEntries(providers.map((provider) => [provider.id, provider.costUsd ?? null])))
  }, [link])
  const open = useCallback(
    async (id: string) => {
      const { messages } = await link.session(id)
      if (currentRef.current === id) setChat({ id, lines: fromMessages(messages) })
    },
    [link],
  )

  // Start: the lists, the pending approvals, and the bus for as long as the dashboard is open.
  useEffect(() => {
    const watch = new AbortController()
    refresh().catch(say)
    link.approvals().then(setApprovals).catch(say)
    void link.watch(
      watch.signal,
      ({ event, data }) => {
        if (event === "gap" || event === "overflow") return setLog((old) => [...old.slice(-49), `— ${event} —`])
        const payload = (data.data ?? {}) as Record<string, unknown> & Pending
        if (typeof data.type !== "string" || data.type.endsWith(".delta")) return
        const time = typeof data.time === "number" ? data.time : Date.now()
        const session = typeof payload.sessionId === "string" ? ` ${payload.sessionId.slice(-6)}` : ""
        const what = payload.name ?? payload.tool ?? payload.status ?? payload.reason ?? ""
        setLog((old) => [...old.slice(-49), `${clock(time)} ${data.type}${session} ${preview(what, 40)}`.trimEnd()])
        if (data.type === "approval.requested") setApprovals((old) => [...old, payload])
        if (data.type === "approval.decided") setApprovals((old) => old.filter((one) => one.id !== payload.id))
        if (data.type.startsWith("session.") && !data.type.startsWith("session.turn.")) refresh().catch(say)
        if (data.type.startsWith("gateway.") || BOUNDARIES.has(data.type))
          link.status().then((status) => {
            setState(status.state)
            setBusy(busyOf(status.queues))
          }, say)
      },
      () => setLog((old) => [...old.slice(-49), `${clock(Date.now())} connected to ${link.url}`]),
    )
    return () => watch.abort()
  }, [link, refresh, say])

  useEffect(() => {
    open(current).catch(say)
    chooseSession(stateDir, current)
  }, [current, open, say, stateDir])

  const turn = async (text: string) => {
    const id = current
    const control = new AbortController()
    setRunning(id)
    // Updates for this turn's session only; once another is open, they no longer belong on screen.
    const setLines = (update: (old: Line[]) => Line[]) =>
      setChat((old) => (old.id === id ? { id, lines: update(old.lines) } : old))
    setLines((old) => [...old, { who: "you", text }, { who: "drost", text: "" }])
    // The answer grows in the last line as deltas arrive; tool calls go in above it.
    const grow = (delta: string) =>
      setLines((old) => {
        const last = old.at(-1)
        return last?.who === "drost" ? [...old.slice(0, -1), { ...last, text: last.text + delta }] : old
      })
    // A tool call goes below the text so far; what the model says after it starts a new answer line.
    const above = (line: Line) =>
      setLines((old) => {
        const last = old.at(-1)
        const kept = last?.who === "drost" && !last.text ? old.slice(0, -1) : old
        return [...kept, line, { who: "drost", text: "" }]
      })
    try {
      for await (const { event, data } of link.turn(id, text, control.signal)) {
        if (currentRef.current !== id) continue
        if (event === "session.turn.delta") grow(String(data.text ?? ""))
        else if (event === "tool.call.started") above({ who: "tool", text: `⚙ ${data.name} ${preview(data.args, 50)}` })
        else if (event === "tool.call.completed")
          above({ who: "tool", text: `${data.isError ? "✗" : "✓"} ${data.name} · ${data.durationMs} ms` })
        else if (event.startsWith("turn.") && event !== "turn.accepted" && event !== "turn.completed")
          above({
            who: "note",
            text: `[turn ${data.status ?? event.slice(5)}${data.reason ? `: ${data.reason}` : ""}]`,
          })
      }
    } catch (error) {
      if (!control.signal.aborted) say(error)
    } finally {
      setRunning(null)
      refresh().catch(say)
    }
  }

  const submit = async (line: string) => {
    if (!line.startsWith("/")) return void turn(line)
    const reply = await link.command(line, current, Math.max(20, cols - SIDEBAR - 4))
    if (reply.quit) return app.exit()
    const id = current
    setChat((old) => (old.id === id ? { id, lines: [...old.lines, { who: "note", text: reply.text }] } : old))
    if (reply.sessionId && reply.sessionId !== current) setCurrent(reply.sessionId)
    await refresh()
  }

  const move = (step: number) => {
    if (sessions.length === 0) return
    const at = sessions.findIndex((session) => session.id === current)
    const next = sessions[(at + step + sessions.length) % sessions.length]!
    if (next.id !== current) setCurrent(next.id)
  }

  const decide = (decision: "approve" | "deny") => {
    const oldest = approvals[0]
    if (!oldest) return setNotice("no approval is waiting")
    link
      .decide(oldest.id, decision)
      .then((decided) => setNotice(`${decided.tool}: ${decided.decision ?? decision}`), say)
  }

  useInput((typed: string, key: Key) => {
    setNotice("")
    if (key.ctrl && typed === "c") {
      if (running) return void link.abort(running).catch(say)
      return app.exit()
    }
    if (key.escape) return void (running ? link.abort(running).catch(say) : setInput(""))
    if (key.upArrow) return move(-1)
    if (key.downArrow) return move(1)
    if (key.ctrl && typed === "a") return decide("approve")
    if (key.ctrl && typed === "x") return decide("deny")
    if (key.ctrl && typed === "n")
      return void link
        .create(NEW_TITLE)
        .then(async (created) => {
          await refresh()
          setCurrent(created.id)
        })
        .catch(say)
    // A paste (or keys typed faster than read) arrives as one chunk: Enter inside it still sends.
    const enter = typed.indexOf("\r")
    if (key.return || enter >= 0) {
      const line = (input + (enter > 0 ? typed.slice(0, enter) : "")).trim()
      setInput("")
      if (line) submit(line).catch(say)
      return
    }
    if (key.backspace || key.delete) return setInput((old) => old.slice(0, -1))
    if (typed && !key.ctrl && !key.meta) setInput((old) => old + typed)
  })

  if (cols < MIN_COLS || rows < MIN_ROWS)
    return h(
      Box,
      { width: cols, height: rows - 1 },
      h(Text, null, clip(`terminal too small (${cols}×${rows}, needs ${MIN_COLS}×${MIN_ROWS}); Ctrl-C quits`, cols)),
    )

  const session = sessions.find((one) => one.id === current)
  const side = Math.min(SIDEBAR, Math.floor(cols / 3))
  const main = cols - side
  const approvalRows = approvals.length ? Math.min(3, approvals.length) + 1 : 0
  // Rows: status bar, chat (border 2), log (border 2), approvals, input, help; the last row stays free.
  const chatRows = Math.max(3, rows - 1 - 1 - 2 - (LOG_ROWS + 2) - approvalRows - 1 - 1)
  const inner = main - 4
  const lines = chat.id === current ? chat.lines : []
  const chatText = lines
    .filter((line, index) => line.who !== "drost" || line.text || (running === current && index === lines.length - 1))
    .flatMap((line) => {
      const prefix = line.who === "you" ? "you › " : line.who === "drost" ? "drost › " : "  "
      return wrap(prefix + line.text, inner).map((text) => ({ who: line.who, text }))
    })
    .slice(-chatRows)
  const spent = session ? cost[session.provider] : null
  const bar = [
    `drost tui · ${state}`,
    session ? `${session.id}` : current,
    `provider ${session?.provider ?? "?"}`,
    `tokens ${session?.usage.input ?? 0}/${session?.usage.output ?? 0}`,
    `cost ${spent === null || spent === undefined ? "-" : `$${spent.toFixed(4)}`}`,
    running ? `● turn running${running === current ? "" : ` in ${running}`} (Esc aborts)` : "",
  ]
    .filter(Boolean)
    .join(" │ ")
  const colour = { you: "cyan", drost: undefined, tool: "gray", note: "yellow" } as const

  return h(
    Box,
    { flexDirection: "column", width: cols, height: rows - 1 },
    h(Text, { inverse: true, wrap: "truncate" }, clip(bar, cols).padEnd(cols)),
    h(
      Box,
      { flexDirection: "row", flexGrow: 1 },
      h(
        Box,
        { flexDirection: "column", width: side, borderStyle: "single", paddingX: 0 },
        h(Text, { bold: true }, clip(` Sessions (${sessions.length})`, side - 2)),
        ...sessions
          .slice(0, Math.max(1, rows - 6))
          .map((one) =>
            h(
              Text,
              { key: one.id, inverse: one.id === current, wrap: "truncate" },
              clip(
                `${one.id === current ? "›" : " "}${busy.has(one.id) ? "●" : " "}${one.title || one.id} (${one.messageCount})`,
                side - 2,
              ),
            ),
          ),
      ),
      h(
        Box,
        { flexDirection: "column", width: main },
        h(
          Box,
          { flexDirection: "column", borderStyle: "single", height: chatRows + 2, paddingX: 1 },
          ...chatText.map((line, index) =>
            h(Text, { key: `c${index}`, color: colour[line.who], wrap: "truncate" }, line.text || " "),
          ),
        ),
        h(
          Box,
          { flexDirection: "column", borderStyle: "single", height: LOG_ROWS + 2, paddingX: 1 },
          ...log
            .slice(-LOG_ROWS)
            .map((line, index) => h(Text, { key: `l${index}`, color: "gray", wrap: "truncate" }, clip(line, inner))),
        ),
        ...(approvals.length
          ? [
              h(
                Text,
                { key: "ah", color: "yellow", wrap: "truncate" },
                clip(`${approvals.length} waiting for approval: Ctrl-A approves, Ctrl-X denies the first`, main),
              ),
              ...approvals
                .slice(0, 3)
                .map((one) =>
                  h(
                    Text,
                    { key: one.id, color: "yellow", wrap: "truncate" },
                    clip(`  ${one.tool} ${preview(one.args, 50)} · ${one.sessionId.slice(-6)}`, main),
                  ),
                ),
            ]
          : []),
        h(Text, { color: "cyan", wrap: "truncate" }, clip(`you › ${input}█`, main)),
      ),
    ),
    h(
      Text,
      { dimColor: true, wrap: "truncate" },
      clip(
        notice ||
          "↑/↓ session · Enter send · /help commands · Esc abort turn · Ctrl-A/Ctrl-X approve/deny · Ctrl-N new · Ctrl-C quit",
        cols,
      ),
    ),
  )
}
