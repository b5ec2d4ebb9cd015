/**
 * Cost curves (issue 23, item 6): the gateway's CPU per turn against
 *   - history: the messages a session already holds (10, 100, 1,000, 10,000), compaction on (the default
 *     context settings: a 32,000-token window, older turns summarised once the history does not fit);
 *   - tools: workspace tools offered to the model besides the built-in ones (10, 100, 500 generated
 *     files in the workspace's tools/ folder, each a small tool with two parameters);
 *   - sessions: sessions that exist and were active (1, 1,000, 10,000: filled into the store, then one
 *     turn in each through the Control API before the measurement), the measured turns in one more;
 *   - subscribers: SSE subscribers of /control/v1/events that read everything (0, 100, 1,000 raw
 *     sockets in this process, test/lib/sse-socket.ts), every turn's events going to each of them.
 *
 *   bun bench/curves.ts [--curves history,tools,sessions,subscribers] [--turns 100] [--rounds 5]
 *     [--lengths 10,100,1000,10000] [--tools 10,100,500] [--sessions 1,1000,10000]
 *     [--subscribers 0,100,1000] [--binary dist/drost] [--profile DIR]
 *
 * Each point of a curve has its own session (history) or its own gateway (the others), all started
 * before the measurement; then `--rounds` rounds, each running `--turns` turns one after another at
 * every point in turn, so every point sees the same minutes of this shared machine. The figure is the
 * median over the rounds of the gateway process's CPU time (from /proc) divided by the round's turns.
 * Turns go through the Control API against the fake OpenAI provider (zero latency). The history
 * curve also reports each session's first turn on its own (history load, and past the window the
 * summary call). The subscriber curve waits, at the end of each round, until every subscriber has
 * received every event of the round, so the CPU of sending them is in the round.
 * `--profile DIR` writes a CPU profile of each gateway (Bun's --cpu-prof) into DIR/<curve>-<point>.
 * Prints a table and one JSON line per curve.
 */
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { open } from "../src/store/db.ts"
import { type FakeOpenAI, fakeOpenAI, reply } from "../test/fake/openai.ts"
import { type RunningGateway, spawnGateway } from "../test/lib/gateway.ts"
import { type ReadingSubscriber, readingSubscriber } from "../test/lib/sse-socket.ts"
import { type Workspace, workspace } from "../test/lib/workspace.ts"
import { cpuMs, finishMachine, machine, report, round } from "./lib.ts"

const { values } = parseArgs({
  options: {
    curves: { type: "string", default: "history,tools,sessions,subscribers" },
    turns: { type: "string", default: "100" },
    rounds: { type: "string", default: "5" },
    lengths: { type: "string", default: "10,100,1000,10000" },
    tools: { type: "string", default: "10,100,500" },
    sessions: { type: "string", default: "1,1000,10000" },
    subscribers: { type: "string", default: "0,100,1000" },
    binary: { type: "string" },
    /** Write a CPU profile of each gateway (Bun's --cpu-prof) into DIR/<curve>-<point>. */
    profile: { type: "string" },
  },
})
const TURNS = Number(values.turns)
const ROUNDS = Number(values.rounds)
const list = (text: string) => text.split(",").filter(Boolean).map(Number)
const CURVES = values.curves!.split(",")
const READ_TOKEN = "bench-read-token-0123456789"

const fake = await fakeOpenAI({ key: null })
fake.always(reply().text("Done: the file lists three tasks, two of them finished.").usage({ input: 120, output: 14 }))

const median = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

async function start(
  curve: string,
  point: number,
  options: { files?: Record<string, string>; fill?: (ws: Workspace) => void; readToken?: boolean } = {},
) {
  const ws = await workspace({
    config: {
      providers: {
        profiles: [
          { id: "fake", kind: "openai-compatible", model: "gpt-test", baseUrl: fake.baseUrl, apiKeyEnv: "BENCH_KEY" },
        ],
      },
      controlApi: {
        port: 0,
        mutationsPerMinute: 100_000_000,
        ...(options.readToken ? { readToken: READ_TOKEN } : {}),
      },
    },
    files: options.files ?? {},
  })
  options.fill?.(ws)
  const profile = values.profile ? join(values.profile, `${curve}-${point}`) : null
  if (profile) mkdirSync(profile, { recursive: true })
  const gw = await spawnGateway(ws.path, {
    ...(values.binary ? { command: [values.binary] } : {}),
    env: {
      BENCH_KEY: "bench-key",
      DROST_LOG_LEVEL: "warn",
      ...(profile ? { BUN_OPTIONS: `--cpu-prof --cpu-prof-dir=${profile}` } : {}),
    },
  })
  return { ws, gw }
}

async function stop(running: { ws: Workspace; gw: RunningGateway }[]) {
  // SIGTERM first: a profile is written when the process exits on its own.
  for (const { gw } of running) await gw.stop()
  for (const { ws, gw } of running) {
    await gw[Symbol.asyncDispose]()
    await ws[Symbol.asyncDispose]()
  }
}

const newSession = async (gw: RunningGateway) =>
  ((await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }).id

const turn = async (gw: RunningGateway, id: string, i: number) => {
  const result = (await (
    await gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input: `question ${i} about the tasks` } })
  ).json()) as { status: string }
  if (result.status !== "completed") throw new Error(`turn ${i} in ${id}: ${JSON.stringify(result)}`)
}

const trim = (llm: FakeOpenAI) => {
  if (llm.hits.length > 1000) llm.hits.splice(0, llm.hits.length)
}

/** Warms each gateway up on a session of its own, so the first point does not pay for the JIT. */
async function warm(gws: RunningGateway[]) {
  for (const gw of gws) {
    const id = await newSession(gw)
    for (let i = 0; i < 200; i++) await turn(gw, id, i)
    trim(fake)
  }
}

interface Point {
  gw: RunningGateway
  session: string
  /** Runs after a round's turns, before its CPU is read (the subscribers' catching up). */
  settle?: () => Promise<void>
}

/** Rounds of TURNS sequential turns at each point in turn; the median CPU and wall per turn of each point. */
async function rounds(points: Point[]) {
  const cpu: number[][] = points.map(() => [])
  const wall: number[][] = points.map(() => [])
  let n = 1_000
  for (let r = 0; r < ROUNDS; r++) {
    for (const [index, point] of points.entries()) {
      const at = cpuMs(point.gw.pid)
      const started = performance.now()
      for (let i = 0; i < TURNS; i++) await turn(point.gw, point.session, n++)
      await point.settle?.()
      cpu[index]!.push((cpuMs(point.gw.pid) - at) / TURNS)
      wall[index]!.push((performance.now() - started) / TURNS)
      trim(fake)
    }
  }
  return points.map((_, index) => ({
    cpuPerTurnMs: round(median(cpu[index]!)),
    cpuRangeMs: [round(Math.min(...cpu[index]!)), round(Math.max(...cpu[index]!))],
    wallPerTurnMs: round(median(wall[index]!)),
  }))
}

const title = (what: string, info: ReturnType<typeof machine>) =>
  `curve · turn CPU against ${what} · ${ROUNDS} rounds × ${TURNS} turns, medians · ${info.cores} × ${info.cpu} · load ${info.loadStart} → ${info.loadEnd}`
const cell = (row: { cpuPerTurnMs: number; cpuRangeMs: number[]; wallPerTurnMs: number }) =>
  `${row.cpuPerTurnMs.toFixed(3)} ms CPU/turn (rounds ${row.cpuRangeMs[0]!.toFixed(2)}–${row.cpuRangeMs[1]!.toFixed(2)}, wall ${row.wallPerTurnMs.toFixed(2)} ms)`

/** Sessions filled straight into a store (same schema, via the real migrations), alternating user/assistant. */
function fill(path: string, sessions: { id: string; messages: number }[]) {
  const db = open(path)
  const now = Date.now()
  const session = db.prepare(
    "INSERT INTO sessions (id, title, created_at, updated_at, provider, channel, message_count) VALUES (?, ?, ?, ?, 'fake', 'api', ?)",
  )
  const message = db.prepare("INSERT INTO messages (id, session_id, role, parts, created_at) VALUES (?, ?, ?, ?, ?)")
  db.transaction(() => {
    for (const [i, entry] of sessions.entries()) {
      session.run(entry.id, `session ${i}`, now - 60_000, now - 60_000, entry.messages)
      for (let m = 0; m < entry.messages; m++)
        message.run(
          `msg_c${i}_${m}`,
          entry.id,
          m % 2 ? "assistant" : "user",
          JSON.stringify([
            { type: "text", text: `message ${m}: the quick brown fox jumps over the lazy dog ${"x".repeat(40)}` },
          ]),
          now - 60_000 + m,
        )
    }
  }).immediate()
  db.close()
}

const sessionId = (i: number) => `ses_curve${String(i).padStart(8, "0")}`

async function historyCurve() {
  const lengths = list(values.lengths!)
  const info = machine()
  const ids = lengths.map((_, i) => sessionId(i))
  const running = await start("history", 0, {
    fill: (ws) =>
      fill(
        ws.file(".drost/drost.db"),
        lengths.map((length, i) => ({ id: ids[i]!, messages: length })),
      ),
  })
  const { gw } = running
  try {
    await warm([gw])
    const firsts: { cpuMs: number; wallMs: number; providerCalls: number }[] = []
    for (const id of ids) {
      const calls = fake.hits.length
      const at = cpuMs(gw.pid)
      const wall = performance.now()
      await turn(gw, id, 0)
      firsts.push({
        cpuMs: round(cpuMs(gw.pid) - at, 1),
        wallMs: round(performance.now() - wall, 1),
        providerCalls: fake.hits.length - calls,
      })
    }
    const measured = await rounds(ids.map((session) => ({ gw, session })))
    const rows = lengths.map((length, i) => ({ length, first: firsts[i]!, ...measured[i]! }))
    finishMachine(info)
    report(
      title("stored history (compaction on)", info),
      rows.map((row) => [
        `${row.length.toLocaleString("en-US")} messages`,
        cell(row),
        `first turn ${row.first.cpuMs} ms CPU, ${row.first.wallMs} ms, ${row.first.providerCalls} provider call(s)`,
      ]),
      { bench: "curves", curve: "history", turns: TURNS, rounds: ROUNDS, rows, machine: info },
    )
  } finally {
    await stop([running])
  }
}

/** A small workspace tool, as a person would write one: a description and two parameters. */
const toolFile = (i: number) => `import { defineTool } from "drost"
export default defineTool({
  name: "bench_tool_${i}",
  description: "Looks up item ${i} of the inventory by its key and tells whether it is in stock.",
  parameters: {
    type: "object",
    properties: {
      key: { type: "string", description: "The item's key" },
      limit: { type: "integer", description: "Most entries to return" },
    },
    required: ["key"],
    additionalProperties: false,
  },
  execute: ({ key }) => "item " + key + ": in stock",
})
`

async function toolsCurve() {
  const counts = list(values.tools!)
  const info = machine()
  const running = await Promise.all(
    counts.map((count) =>
      start("tools", count, {
        files: Object.fromEntries(Array.from({ length: count }, (_, i) => [`tools/bench_${i}.ts`, toolFile(i)])),
      }),
    ),
  )
  try {
    const gws = running.map((entry) => entry.gw)
    await warm(gws)
    // What the model is offered: the tool list of the last request each gateway made.
    const offered: number[] = []
    const sessions: string[] = []
    for (const gw of gws) {
      const id = await newSession(gw)
      const before = fake.hits.length
      await turn(gw, id, 0)
      const body = fake.hits[before]?.body as { tools?: unknown[] } | undefined
      offered.push(body?.tools?.length ?? 0)
      sessions.push(id)
    }
    for (const [i, count] of counts.entries())
      if (offered[i]! < count) throw new Error(`${count} tools written, ${offered[i]} offered`)
    const measured = await rounds(gws.map((gw, i) => ({ gw, session: sessions[i]! })))
    const rows = counts.map((count, i) => ({ workspaceTools: count, offered: offered[i]!, ...measured[i]! }))
    finishMachine(info)
    report(
      title("tools offered", info),
      rows.map((row) => [
        `${row.workspaceTools} workspace tools (${row.offered} offered)`,
        cell(row),
        `wall ${row.wallPerTurnMs} ms`,
      ]),
      { bench: "curves", curve: "tools", turns: TURNS, rounds: ROUNDS, rows, machine: info },
    )
  } finally {
    await stop(running)
  }
}

async function sessionsCurve() {
  const counts = list(values.sessions!)
  const info = machine()
  const running = await Promise.all(
    counts.map((count) =>
      start("sessions", count, {
        fill: (ws) =>
          fill(
            ws.file(".drost/drost.db"),
            Array.from({ length: count }, (_, i) => ({ id: sessionId(i), messages: 4 })),
          ),
      }),
    ),
  )
  try {
    const gws = running.map((entry) => entry.gw)
    // Every session active: one turn in each (16 at a time), then the measurement in a session of its own.
    const activated: number[] = []
    for (const [index, count] of counts.entries()) {
      const started = performance.now()
      let next = 0
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < count) {
            const i = next++
            await turn(gws[index]!, sessionId(i), i)
            if (i % 500 === 0) trim(fake)
          }
        }),
      )
      activated.push(round((performance.now() - started) / 1000, 1))
    }
    await warm(gws)
    const sessions = await Promise.all(gws.map(newSession))
    const measured = await rounds(gws.map((gw, i) => ({ gw, session: sessions[i]! })))
    const rows = counts.map((count, i) => ({ sessions: count, activatedInS: activated[i]!, ...measured[i]! }))
    finishMachine(info)
    report(
      title("live sessions", info),
      rows.map((row) => [
        `${row.sessions.toLocaleString("en-US")} sessions`,
        cell(row),
        `(one turn in each first: ${row.activatedInS} s)`,
      ]),
      { bench: "curves", curve: "sessions", turns: TURNS, rounds: ROUNDS, rows, machine: info },
    )
  } finally {
    await stop(running)
  }
}

async function subscribersCurve() {
  const counts = list(values.subscribers!)
  const info = machine()
  const running = await Promise.all(counts.map((count) => start("subscribers", count, { readToken: true })))
  const all: ReadingSubscriber[][] = counts.map(() => [])
  try {
    const gws = running.map((entry) => entry.gw)
    await warm(gws)
    for (const [index, count] of counts.entries())
      for (let i = 0; i < count; i += 100)
        all[index]!.push(
          ...(await Promise.all(
            Array.from({ length: Math.min(100, count - i) }, () => readingSubscriber(gws[index]!.url, READ_TOKEN)),
          )),
        )
    const frames = (index: number) => all[index]!.reduce((sum, entry) => sum + entry.ids.length, 0)
    const bytes = (index: number) => all[index]!.reduce((sum, entry) => sum + entry.bytes, 0)
    /** Until every subscriber has what the first one has, and nothing more arrives for 20 ms. */
    const settle = (index: number) => async () => {
      const subscribers = all[index]!
      if (subscribers.length === 0) return
      let last = -1
      for (;;) {
        const total = frames(index)
        const newest = Math.max(...subscribers.map((entry) => entry.ids.at(-1) ?? 0))
        if (total === last && subscribers.every((entry) => (entry.ids.at(-1) ?? 0) === newest)) return
        last = total
        await Bun.sleep(20)
      }
    }
    const sessions = await Promise.all(gws.map(newSession))
    for (const [index] of counts.entries()) await settle(index)()
    const framesBefore = counts.map((_, index) => frames(index))
    const bytesBefore = counts.map((_, index) => bytes(index))
    const measured = await rounds(gws.map((gw, i) => ({ gw, session: sessions[i]!, settle: settle(i) })))
    const total = ROUNDS * TURNS
    const rows = counts.map((count, i) => {
      const framesPerTurn = count ? (frames(i) - framesBefore[i]!) / count / total : 0
      return {
        subscribers: count,
        framesPerTurnEach: round(framesPerTurn, 1),
        bytesPerTurnEach: count ? Math.round((bytes(i) - bytesBefore[i]!) / count / total) : 0,
        overflowed: all[i]!.filter((entry) => entry.overflowed || entry.closed).length,
        ...measured[i]!,
      }
    })
    const base = rows[0]!
    const perFrameUs = rows.map((row) =>
      row.subscribers && row.framesPerTurnEach
        ? round(((row.cpuPerTurnMs - base.cpuPerTurnMs) * 1000) / (row.subscribers * row.framesPerTurnEach), 2)
        : null,
    )
    finishMachine(info)
    report(
      title("SSE subscribers (reading)", info),
      rows.map((row, i) => [
        `${row.subscribers.toLocaleString("en-US")} subscribers`,
        cell(row),
        row.subscribers
          ? `${row.framesPerTurnEach} frames, ${row.bytesPerTurnEach} bytes per turn each; ${perFrameUs[i]} µs CPU per frame sent over ${base.subscribers}; ${row.overflowed} cut off`
          : "",
      ]),
      {
        bench: "curves",
        curve: "subscribers",
        turns: TURNS,
        rounds: ROUNDS,
        rows: rows.map((row, i) => ({ ...row, cpuPerFrameUs: perFrameUs[i] })),
        machine: info,
      },
    )
  } finally {
    for (const subscribers of all) for (const entry of subscribers) entry.close()
    await stop(running)
  }
}

try {
  const curves: Record<string, () => Promise<void>> = {
    history: historyCurve,
    tools: toolsCurve,
    sessions: sessionsCurve,
    subscribers: subscribersCurve,
  }
  for (const name of CURVES) {
    const curve = curves[name]
    if (!curve) throw new Error(`unknown curve ${name} (history, tools, sessions, subscribers)`)
    await curve()
  }
} finally {
  await fake.close()
}
