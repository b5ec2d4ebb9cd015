/**
 * The terminal chat: a readline prompt over the sessions service. Streams the answer as it arrives,
 * shows tool activity in one compact line per call, and hands slash commands to the shared dispatcher.
 * Ctrl-C or /stop aborts a running turn (commands never wait behind it). At the prompt a first Ctrl-C
 * only says how to leave and a second one within a few seconds leaves (which stops the gateway):
 * a Ctrl-C meant for a turn that just ended must not take the whole gateway down.
 */
import { createInterface } from "node:readline"
import { ToolEvent, TurnEvent } from "../agent/events.ts"
import { ApprovalEvent } from "../approval/events.ts"
import { lanePolicy } from "../core/continuity-config.ts"
import { Msg } from "../core/message.ts"
import { dispatch } from "../gateway/commands.ts"
import type { Gateway } from "../gateway/gateway.ts"
import { Flag } from "../util/flag.ts"
import { setLogWriter } from "../util/log.ts"
import { createAsker, decidedLine, questionOf } from "./approval-prompt.ts"
import { chooseSession, chosenSession } from "./chat-choice.ts"
import { createScreen, discardTyped, QUIT_WINDOW_MS } from "./chat-screen.ts"

/** Colour only on a terminal and without NO_COLOR (any non-empty value), as everywhere in the CLI. */
const color = (code: number) => (text: string) =>
  Flag.noColor() || !process.stdout.isTTY ? text : `\x1b[${code}m${text}\x1b[0m`
const dim = color(2)
const cyan = color(36)
const red = color(31)
const green = color(32)

function preview(value: unknown, max = 80): string {
  const text = typeof value === "string" ? value : JSON.stringify(value)
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/** Resolves when the user leaves the chat (/quit, Ctrl-C or Ctrl-D at the prompt). */
export async function runChat(gw: Gateway): Promise<"quit"> {
  const stdout = process.stdout
  // The session chosen last time (/session, /new) in this terminal, else the latest terminal one.
  const chosen = chosenSession(gw.config.stateDir)
  const last =
    (chosen ? await gw.data.sessions.get(chosen) : null) ??
    (await gw.data.sessions.list({ channel: "terminal", limit: 1 }))[0]
  // Its last messages, shown when it resumes (read before the prompt and the listeners exist).
  const recent = last
    ? (await gw.data.sessions.messages(last.id, { limit: 4 })).filter(
        (message) => message.role === "user" || message.role === "assistant",
      )
    : []
  let sessionId = last?.id ?? (await gw.sessions.create({ channel: "terminal", title: "terminal" })).id
  const setSession = (id: string) => {
    sessionId = id
    chooseSession(gw.config.stateDir, id)
  }
  /** True while this chat's own turn runs: its events are shown, Ctrl-C aborts it. */
  let busy = false
  const mine = (data: { sessionId: string }) => busy && data.sessionId === sessionId

  const rl = createInterface({ input: process.stdin, output: stdout, prompt: cyan("you › "), terminal: true })
  const screen = createScreen(stdout, rl)
  const out = { write: (text: string) => screen.write(text) }
  setLogWriter((line) => screen.above(dim(line.trimEnd())))

  out.write(
    `${dim("Type a message, or /help for commands. Ctrl-C or /stop aborts a running turn; /quit, Ctrl-D or Ctrl-C twice at the prompt stops the gateway.")}\n`,
  )
  if (last) {
    out.write(dim(`Resumed session ${sessionId} (${last.messageCount} messages).\n`))
    for (const message of recent) {
      const text = Msg.text(message.parts).trim()
      if (text)
        out.write(dim(`  ${message.role === "user" ? "you" : "drost"}: ${preview(text.replace(/\s+/g, " "), 100)}\n`))
    }
  } else out.write(dim(`New session ${sessionId}.\n`))

  // A call of this chat's session waits for a person (tools.approve): the next line typed answers it.
  const asker = createAsker({
    write: (text) => out.write(text),
    question: questionOf(rl),
    decide: async (id, choice) =>
      decidedLine(gw.approvals.decide(id, choice, { by: "terminal", label: "the terminal" })),
  })
  const stops = [
    gw.bus.subscribe(ApprovalEvent.Requested, (event) => {
      if (event.data.sessionId === sessionId) asker.add(event.data)
    }),
    gw.bus.subscribe(ApprovalEvent.Decided, (event) => {
      if (event.data.sessionId === sessionId) asker.settled(event.data)
    }),
    gw.bus.subscribe(TurnEvent.Delta, (event) => {
      if (mine(event.data)) out.write(event.data.text)
    }),
    gw.bus.subscribe(ToolEvent.Started, (event) => {
      if (mine(event.data)) out.write(`\n${dim(`  ⚙ ${event.data.name} ${preview(event.data.args)}`)}`)
    }),
    // A provider failed mid-answer: the text above is void and the answer restarts on the next one.
    gw.bus.subscribe(TurnEvent.Discard, (event) => {
      if (mine(event.data)) out.write(`\n${dim(`  ↺ discarded the partial answer above: ${event.data.reason}`)}\n`)
    }),
    gw.bus.subscribe(ToolEvent.Completed, (event) => {
      if (!mine(event.data)) return
      const lines = event.data.output.split("\n").length
      const mark = event.data.isError ? red("✗") : green("✓")
      out.write(
        `\n  ${mark} ${dim(`${event.data.name} · ${event.data.isError ? preview(event.data.output, 60) : `${lines} line${lines === 1 ? "" : "s"}`} · ${event.data.durationMs} ms`)}\n`,
      )
    }),
  ]

  return new Promise((resolve) => {
    let closed = false
    const leave = () => {
      if (closed) return
      closed = true
      for (const stop of stops) stop()
      setLogWriter((line) => process.stderr.write(line))
      rl.close()
      resolve("quit")
    }
    let armed = Number.NEGATIVE_INFINITY
    rl.on("SIGINT", () => {
      if (busy) {
        gw.sessions.abort(sessionId, "aborted by user (Ctrl-C)")
        return
      }
      if (discardTyped(rl)) {
        out.write("\n")
        return screen.prompt()
      }
      if (Date.now() - armed < QUIT_WINDOW_MS) {
        out.write("\n")
        return leave()
      }
      armed = Date.now()
      out.write(`\n${dim("(no turn is running: press Ctrl-C again to stop the gateway and leave, or type /quit)")}\n`)
      screen.prompt()
    })
    rl.on("close", leave)

    // Commands run at once, even while a turn runs (/stop, /status). Messages typed while a turn runs
    // wait their turn here with orchestration `queue`; with `interrupt` or `collect` they reach the
    // busy session at once and its mode decides. The prompt stays live so Ctrl-C still reaches us.
    const pending: string[] = []
    const mode = () => lanePolicy(gw.config.orchestration, "terminal").mode
    let outstanding = 0
    const ask = async (input: string) => {
      outstanding++
      busy = true
      try {
        const accepted = await gw.sessions.prompt({ sessionId, text: input, source: "terminal" })
        const result = await accepted.done
        // Collected into another message's turn, or superseded by a newer one: that one answers.
        const answered = result.turnId !== accepted.turn.id || result.reason?.startsWith("superseded")
        if (!answered && result.status !== "completed")
          out.write(`\n${red(`[turn ${result.status}: ${result.reason}]`)}`)
        if (!answered) out.write("\n")
      } catch (error) {
        out.write(`${red(error instanceof Error ? error.message : String(error))}\n`)
      } finally {
        busy = --outstanding > 0
      }
    }
    const command = async (input: string) => {
      const reply = await dispatch(gw, { channel: "terminal", sessionId, setSession, width: stdout.columns }, input)
      if (!reply) return false
      out.write(`${busy ? "\n" : ""}${reply.text}\n`)
      if (reply.quit) leave()
      return true
    }
    const handle = async (input: string) => {
      if (await command(input)) return
      out.write(cyan("drost › "))
      await ask(input)
    }
    let draining = false
    rl.on("line", async (line) => {
      const input = line.trim()
      armed = Number.NEGATIVE_INFINITY // a line typed since the first Ctrl-C: the next one warns again
      if (input.startsWith("/") && draining && (await command(input))) return
      if (input && draining && mode() !== "queue") return void ask(input)
      if (input) pending.push(input)
      if (draining) return
      draining = true
      while (pending.length && !closed) await handle(pending.shift()!)
      draining = false
      if (!closed) screen.prompt()
    })
    screen.prompt()
  })
}
