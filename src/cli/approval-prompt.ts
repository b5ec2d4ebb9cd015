/**
 * Approvals in the terminal, for both chats (`drost start` in a terminal and `drost chat`): when a
 * call of the chat's session waits for a person, the chat asks y / n / a (approve, deny, allow for
 * this session) on the next line the user types, one approval at a time, and posts the answer. If
 * the approval is decided elsewhere first (Telegram, the API, the timeout) the question is withdrawn.
 */
import type { Interface } from "node:readline"
import type { Choice, Decided, Pending } from "../approval/approval.ts"

const preview = (value: unknown, max = 160) => {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? "")
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

export function question(pending: Pending): string {
  const seconds = Math.round((pending.expiresAt - Date.now()) / 1000)
  return `\n  🔐 ${pending.tool} ${preview(pending.args)} waits for your approval (denied in ${seconds} s if unanswered)\n  approve? [y]es / [n]o / [a]lways in this session: `
}

export function parseAnswer(line: string): Choice | null {
  const word = line.trim().toLowerCase()
  if (word === "y" || word === "yes") return "approve"
  if (word === "n" || word === "no") return "deny"
  if (word === "a" || word === "always") return "session"
  return null
}

/** What a decision looks like in the chat. */
export function decidedLine(decided: Pick<Decided, "approved" | "decision" | "reason">): string {
  return decided.approved ? `  ✓ ${decided.reason}\n` : `  ✗ not run: ${decided.reason}\n`
}

/** `rl.question` that gives up when `signal` aborts (the approval was decided elsewhere). */
export const questionOf =
  (rl: Interface) =>
  (text: string, signal: AbortSignal): Promise<string> =>
    new Promise((resolve, reject) => {
      signal.addEventListener("abort", () => reject(new Error("withdrawn")), { once: true })
      rl.question(text, { signal }, resolve)
    })

export interface AskerDeps {
  write(text: string): void
  question(text: string, signal: AbortSignal): Promise<string>
  /** Post the decision; returns the line to show. */
  decide(id: string, choice: Choice): Promise<string>
}

export function createAsker(deps: AskerDeps) {
  const queue: Pending[] = []
  let current: { id: string; abort: AbortController } | null = null

  const run = async () => {
    while (queue.length) {
      const pending = queue[0]!
      const abort = new AbortController()
      current = { id: pending.id, abort }
      let choice: Choice | null = null
      let text = question(pending)
      while (!choice) {
        const line = await deps.question(text, abort.signal).catch(() => null)
        if (line === null) break
        choice = parseAnswer(line)
        text = "  please answer y (approve), n (deny) or a (allow for the rest of this session): "
      }
      current = null
      queue.shift()
      if (choice)
        deps.write(
          await deps.decide(pending.id, choice).catch((error: Error) => `  could not decide: ${error.message}\n`),
        )
    }
  }

  return {
    /** A new approval for this chat's session. */
    add(pending: Pending) {
      if (queue.some((entry) => entry.id === pending.id)) return
      queue.push(pending)
      if (queue.length === 1) void run()
    },
    /** An approval was decided (anywhere): withdraw its question if it is still open. */
    settled(decided: Decided) {
      if (current?.id === decided.id) {
        current.abort.abort()
        deps.write(`\n  decided elsewhere (${decided.by}):\n${decidedLine(decided)}`)
        return
      }
      const index = queue.findIndex((entry) => entry.id === decided.id)
      if (index > 0) queue.splice(index, 1)
    },
  }
}
