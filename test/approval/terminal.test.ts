/**
 * Approvals in the terminal, in a real pseudo-terminal: `drost start` (the in-process chat) and
 * `drost chat` (attached over the Control API) ask y / n / a when a call of their session waits, and
 * the answer decides it. The demo provider calls `file.read` when asked to read a file;
 * `tools.approve: ["file.read"]` makes that call wait.
 */
import { describe, expect, test } from "bun:test"
import { existsSync, readFileSync } from "node:fs"
import { demoConfig } from "../lib/config.ts"
import { ENTRY, spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { KEY, spawnPty } from "../cli/pty.ts"
import { approvalEvents, journal } from "./lib.ts"

const config = demoConfig({ tools: { approve: ["file.read"] } })
const files = { "hello.txt": "hi from a file\n" }

/** approval.* events from the gateway's event log (the same events the SSE stream carries). */
function logged(path: string): { type: string; data: Record<string, unknown> }[] {
  const file = `${path}/.drost/logs/events.jsonl`
  if (!existsSync(file)) return []
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.includes('"approval.'))
    .map((line) => JSON.parse(line))
}

describe("approvals in the terminal", () => {
  test("drost start: the chat asks y/n/a; a wrong answer is asked again; y runs the call, n refuses it", async () => {
    await using ws = await workspace({ config, files })
    await using tty = spawnPty([process.execPath, ENTRY, "start"], { cwd: ws.path, env: { NO_COLOR: "1" } })
    await tty.expect("you ›", 15_000)
    tty.write(`read hello.txt${KEY.enter}`)
    await tty.expect("file.read")
    await tty.expect("waits for your approval")
    await tty.expect("[y]es / [n]o / [a]lways")
    tty.write(`maybe${KEY.enter}`)
    await tty.expect("please answer y")
    tty.write(`y${KEY.enter}`)
    await tty.expect("✓ approved by the terminal")
    await tty.expect("hi from a file")
    await tty.expect("you ›")

    tty.write(`read hello.txt${KEY.enter}`)
    await tty.expect("waits for your approval")
    tty.write(`n${KEY.enter}`)
    await tty.expect("✗ not run: denied by a person (the terminal)")
    await tty.expect("reported an error")
    await tty.expect("you ›")
    tty.write(`/quit${KEY.enter}`)
    expect(await tty.exited).toBe(0)

    expect(journal(ws).map((line) => [line.type, line.decision ?? null, line.by ?? null])).toEqual([
      ["requested", null, null],
      ["decided", "approve", "terminal"],
      ["requested", null, null],
      ["decided", "deny", "terminal"],
    ])
    // The sink flushes on stop: both decisions are in the event log (what SSE subscribers received).
    expect(
      logged(ws.path)
        .filter((event) => event.type === "approval.decided")
        .map((event) => [event.data.decision, event.data.by]),
    ).toEqual([
      ["approve", "terminal"],
      ["deny", "terminal"],
    ])
  }, 40_000)

  test("drost chat: the attached chat asks, and 'a' allows the tool for the rest of the session", async () => {
    await using ws = await workspace({ config, files })
    await using gw = await spawnGateway(ws.path)
    const events = approvalEvents(gw)
    await using tty = spawnPty([process.execPath, ENTRY, "chat", "--url", gw.url, "--new"], {
      cwd: ws.path,
      env: { NO_COLOR: "1" },
    })
    await tty.expect("you ›")
    tty.write(`read hello.txt${KEY.enter}`)
    await tty.expect("waits for your approval")
    tty.write(`a${KEY.enter}`)
    // The decision's reply and the turn's answer come over two connections: either may print first.
    await tty.expect(
      /✓ allowed for this session by the Control API[\s\S]*hi from a file|hi from a file[\s\S]*✓ allowed for this session by the Control API/,
    )
    await tty.expect("you ›")
    // Allowed for the session: the next call runs without a question.
    tty.write(`read hello.txt${KEY.enter}`)
    await tty.expect("hi from a file")
    await tty.expect("you ›")
    expect(tty.screen().match(/waits for your approval/g)).toHaveLength(1)
    expect(await events.next("approval.decided")).toMatchObject({ approved: true, decision: "session" })
    expect(journal(ws).filter((line) => line.type === "requested")).toHaveLength(1)
    tty.write(`/quit${KEY.enter}`)
    expect(await tty.exited).toBe(0)
    events.close()
  }, 40_000)
})
