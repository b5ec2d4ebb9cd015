/**
 * The scale-out chaos scenario (issue 22 item 4): three gateways on one store behind a round-robin proxy
 * (test/lib/cluster.ts), 64 sessions of load through the Control API (16 of them with a second client,
 * so two nodes are asked for turns of one session at the same time), a Telegram bot receiving a message
 * every 100 ms from sixteen people, and one node killed with SIGKILL every few seconds (and started again)
 * for `seconds`. Then every node stops cleanly and the store is read directly.
 *
 * What must hold (returned as a list of violations, so one run reports all of them):
 * - every turn a client saw acknowledged (`turn.accepted`) is stored with its user message and ended
 *   (`completed` with its answer, or `interrupted`: its node died), never left `queued` or `running`; a
 *   turn the client saw complete is stored completed;
 * - no duplicated answers: one turn per user message, one answer per completed turn;
 * - no session ever ran two turns at once: the turns of a session, by their start, each began after the
 *   one before ended (a turn cut off by its node's death ended at that kill, not when recovery wrote it);
 * - every Telegram message is stored once and answered: its answer streamed, or (its gateway killed
 *   first) sent after the kill by the gateway that polls, its stored answer if its turn completed, else
 *   the restart notice (src/channels/telegram/owed.ts); answered twice only in the one known case, a
 *   gateway killed between sending an answer and recording that it did (counted as `duplicates`).
 */
import { Database } from "bun:sqlite"
import { join } from "node:path"
import { RESTART_NOTICE } from "../../src/channels/telegram/owed.ts"
import { FakeTelegram } from "../fake/telegram.ts"
import { type Cluster, startCluster } from "../lib/cluster.ts"
import { demoConfig } from "../lib/config.ts"
import { readSse } from "../lib/sse.ts"
import { rng } from "../reliability/chaos.ts"

export interface ChaosOptions {
  /** postgres://… ; absent: one SQLite file shared by the nodes. */
  storeUrl?: string
  seconds: number
  seed: number
  nodes?: number
  sessions?: number
  /** Sessions that also get a second client. */
  contended?: number
  log?: (line: string) => void
}

export interface ChaosReport {
  violations: string[]
  acknowledged: number
  completed: number
  interrupted: number
  kills: number
  /**
   * answered: every message with an answer or a notice; resent: stored answers sent after their gateway
   * was killed; notices: restart notices (their turn interrupted); duplicates: answered twice because a
   * gateway was killed between sending an answer and settling it (the known at-least-once window).
   */
  telegram: {
    sent: number
    stored: number
    answered: number
    resent: number
    notices: number
    duplicates: number
    /** Answers written whole twice into one message (a send-to-settle kill the takeover's edit absorbed). */
    rewritten: number
    /**
     * The owed replies the polling nodes delivered, by how (owed.ts `Delivery`): `unchanged` counts the
     * kills between a send and its settle that the edit kept from showing an answer twice.
     */
    takeovers: { posted: number; edited: number; unchanged: number }
  }
  /** Requests each node served through the proxy. */
  served: number[]
}

interface Ack {
  turnId: string
  messageId: string
  sessionId: string
  seen?: string
}

interface TurnRow {
  id: string
  session_id: string
  status: string
  error: string | null
  owner: string | null
  source: string
  started_at: number | null
  ended_at: number | null
}

interface MessageRow {
  id: string
  session_id: string
  turn_id: string | null
  role: string
  parts: string
}

const PEOPLE = Array.from({ length: 16 }, (_, i) => 501 + i)

/** Every turn and message, read from the store with the gateways stopped. */
async function readStore(cluster: Cluster, storeUrl: string | undefined) {
  const turnsSql = "SELECT id, session_id, status, error, owner, source, started_at, ended_at FROM turns"
  const messagesSql = "SELECT id, session_id, turn_id, role, parts FROM messages"
  if (storeUrl) {
    const sql = new Bun.SQL(storeUrl, { max: 1 })
    try {
      const turns = (await sql.unsafe(turnsSql)) as TurnRow[]
      const messages = (await sql.unsafe(messagesSql)) as MessageRow[]
      const number = (value: unknown) => (value === null ? null : Number(value))
      return {
        turns: turns.map((row) => ({ ...row, started_at: number(row.started_at), ended_at: number(row.ended_at) })),
        messages,
        integrity: "ok",
      }
    } finally {
      await sql.close()
    }
  }
  const db = new Database(join(cluster.storeDir!, "drost.db"), { readonly: true })
  try {
    return {
      turns: db.query(turnsSql).all() as TurnRow[],
      messages: db.query(messagesSql).all() as MessageRow[],
      integrity: (db.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check,
    }
  } finally {
    db.close()
  }
}

const textOf = (row: MessageRow) =>
  (JSON.parse(row.parts) as { type: string; text?: string }[]).map((part) => part.text ?? "").join("")

export async function clusterChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => {})
  const random = rng(options.seed)
  const nodes = options.nodes ?? 3
  const sessionCount = options.sessions ?? 64
  const contended = options.contended ?? 16
  const fake = await FakeTelegram.start()
  const config = demoConfig(
    {
      controlApi: { port: 0, mutationsPerMinute: 100_000_000 },
      // A killed node's leases (its sessions', the Telegram poll) are taken over after 5 heartbeats: 2.5 s.
      store: { heartbeatMs: 500 },
      channels: [
        {
          kind: "telegram",
          token: fake.token,
          apiRoot: fake.apiRoot,
          allowedUsers: PEOPLE,
          pollTimeoutSec: 1,
          editIntervalMs: 250,
        },
      ],
    },
    { delayMs: 30 },
  )
  const began = performance.now()
  const phase = (what: string) => log(`${((performance.now() - began) / 1000).toFixed(1)} s: ${what}`)
  const cluster = await startCluster({ nodes, storeUrl: options.storeUrl, config })
  phase("cluster up")
  const violations: string[] = []
  const acked: Ack[] = []
  /** Gateway id → when its node was killed. */
  const killedAt = new Map<string, number>()
  const killTimes: number[] = []
  const gatewayOf = async (index: number) => {
    const status = (await (await cluster.nodes[index]!.gw!.api("/status")).json()) as { gatewayId: string }
    return status.gatewayId
  }
  const ids = await Promise.all(cluster.nodes.map((_, index) => gatewayOf(index)))
  let kills = 0
  try {
    const sessions: string[] = []
    for (let i = 0; i < sessionCount; i++) {
      const response = await cluster.api("/sessions", { method: "POST", json: {} })
      sessions.push(((await response.json()) as { id: string }).id)
    }
    let running = true
    let unexpected = 0
    const client = async (sessionId: string, name: string) => {
      for (let n = 0; running; n++) {
        let ack: Ack | null = null
        try {
          const response = await cluster.api(`/sessions/${sessionId}/turn`, {
            method: "POST",
            json: { input: `${name} turn ${n}` },
            headers: { accept: "text/event-stream" },
          })
          if (response.status !== 200) {
            // A clear "not now" (the session is busy on another node, the gateway is stopping, no node
            // answers) is retried after a pause; anything else is a finding.
            const body = await response.text()
            if (![409, 429, 502, 503].includes(response.status) && unexpected++ < 5)
              violations.push(`a turn of ${sessionId} answered ${response.status}: ${body.slice(0, 200)}`)
            await Bun.sleep(50)
            continue
          }
          for await (const event of readSse(response)) {
            if (event.event === "turn.accepted") {
              const data = event.data as { turnId: string; messageId: string }
              ack = { turnId: data.turnId, messageId: data.messageId, sessionId }
              acked.push(ack)
            } else if (ack && /^turn\.(completed|failed|interrupted)$/.test(event.event)) ack.seen = event.event
          }
        } catch {
          // The node under this request was killed: the stream broke. The next turn goes elsewhere.
          await Bun.sleep(20)
        }
      }
    }
    const clients = [
      ...sessions.map((id, i) => client(id, `c${i}`)),
      ...sessions.slice(0, contended).map((id, i) => client(id, `d${i}`)),
    ]
    const telegramSent: string[] = []
    /** Each message's Telegram message id (the fake's: its update id). */
    const messageIdOf = new Map<string, number>()
    const feeder = (async () => {
      for (let n = 0; running; n++) {
        const text = `tg ${n}`
        messageIdOf.set(text, fake.text(random.pick(PEOPLE), text))
        telegramSent.push(text)
        await Bun.sleep(100)
      }
    })()
    const until = performance.now() + options.seconds * 1000
    const restarts: Promise<void>[] = []
    /** Every node process's log (stderr), read after its kill or stop: the owed replies' takeovers. */
    const outputs: string[] = []
    while (performance.now() < until) {
      await Bun.sleep(random.between(2_500, 4_500))
      const live = cluster.live()
      if (live.length < 2 || performance.now() >= until) continue
      const victim = random.pick(live).index
      killedAt.set(ids[victim]!, Date.now())
      killTimes.push(Date.now())
      const dying = cluster.nodes[victim]!.gw
      await cluster.kill9(victim)
      outputs.push(dying?.output() ?? "")
      kills++
      log(
        `killed node ${victim} (${ids[victim]}) at ${Math.round(options.seconds - (until - performance.now()) / 1000)} s`,
      )
      restarts.push(
        (async () => {
          await Bun.sleep(random.between(500, 1_500))
          await cluster.restart(victim)
          const node = cluster.nodes[victim]!.gw
          try {
            ids[victim] = await gatewayOf(victim)
          } catch (error) {
            // Killed again already (the loop picked it), or it died by itself: the latter is a finding.
            if (cluster.nodes[victim]!.gw !== node) return
            violations.push(
              `node ${victim} did not answer after its restart (${error}): ${node?.output().slice(-1500)}`,
            )
          }
        })(),
      )
    }
    running = false
    phase(`load over; telegram ${fake.messages.length} sent by the bot for ${telegramSent.length}`)
    await Promise.all([...clients, feeder, ...restarts])
    phase(`clients and restarts done; telegram ${fake.messages.length} sent by the bot for ${telegramSent.length}`)
    // Every Telegram message is answered (or 30 s pass) before the stop: the bot's last messages are
    // still being handled when the load ends, and what a kill left owed is answered by the polling node
    // once recovery ended the killed node's turns.
    /** Final answers (rendered: html; a streamed preview is plain) quoting the message. */
    const finals = (text: string) =>
      fake.messages.filter((sent) => sent.html !== null && sent.text.includes(`You said: "${text}"`))
    /** sendMessage calls attached to the message: the owed replies sent after a kill (streamed ones are not, in private chats). */
    const attached = (text: string) =>
      fake
        .callsOf("sendMessage")
        .filter(
          (call) =>
            call.status === "ok" &&
            (call.params.reply_parameters as { message_id?: number } | undefined)?.message_id === messageIdOf.get(text),
        )
    const noticesOf = (text: string) => attached(text).filter((call) => call.params.text === RESTART_NOTICE).length
    const answeredText = (text: string) => finals(text).length > 0 || noticesOf(text) > 0
    const deadline = performance.now() + 30_000
    while (performance.now() < deadline && !telegramSent.every(answeredText)) await Bun.sleep(100)
    // Later sweeps must not answer again.
    await Bun.sleep(2_500)
    phase("telegram answered")
    const served = cluster.nodes.map((node) => node.served)
    await cluster.stop()
    for (const node of cluster.nodes) outputs.push(node.gw?.output() ?? "")
    phase("stopped")
    // A last start of one node: its recovery ends what the killed gateways left open.
    await cluster.restart(0)
    await cluster.stop()
    phase("recovered")

    const { turns, messages, integrity } = await readStore(cluster, options.storeUrl)
    if (integrity !== "ok") violations.push(`integrity_check: ${integrity}`)
    const turnById = new Map(turns.map((turn) => [turn.id, turn]))
    const messageIds = new Set(messages.map((message) => message.id))
    const answersOf = new Map<string, number>()
    for (const message of messages)
      if (message.role === "assistant" && message.turn_id)
        answersOf.set(message.turn_id, (answersOf.get(message.turn_id) ?? 0) + 1)
    const report = (line: string) => {
      if (violations.length < 40) violations.push(line)
    }
    for (const ack of acked) {
      const turn = turnById.get(ack.turnId)
      if (!messageIds.has(ack.messageId)) report(`acknowledged message ${ack.messageId} is not stored`)
      if (!turn) {
        report(`acknowledged turn ${ack.turnId} is not stored`)
        continue
      }
      if (turn.status !== "completed" && turn.status !== "interrupted")
        report(`acknowledged turn ${turn.id} ended ${turn.status} (${turn.error ?? ""})`)
      if (ack.seen === "turn.completed" && turn.status !== "completed")
        report(`turn ${turn.id} was seen completed but is stored ${turn.status}`)
    }
    // One turn per user message, one answer per completed turn.
    const userMessages = messages.filter((message) => message.role === "user")
    const turnsPerMessage = new Map<string, number>()
    for (const message of userMessages)
      if (message.turn_id) turnsPerMessage.set(message.id, (turnsPerMessage.get(message.id) ?? 0) + 1)
    for (const [id, count] of turnsPerMessage) if (count > 1) report(`user message ${id} is stored ${count} times`)
    for (const turn of turns) {
      const answers = answersOf.get(turn.id) ?? 0
      if (turn.status === "completed" && answers !== 1) report(`completed turn ${turn.id} has ${answers} answers`)
      if (turn.status === "queued" || turn.status === "running") report(`turn ${turn.id} was left ${turn.status}`)
    }
    // No session ran two turns at once.
    const bySession = new Map<string, TurnRow[]>()
    for (const turn of turns)
      if (turn.started_at !== null) bySession.set(turn.session_id, [...(bySession.get(turn.session_id) ?? []), turn])
    let overlaps = 0
    for (const list of bySession.values()) {
      list.sort((a, b) => a.started_at! - b.started_at!)
      for (let i = 1; i < list.length; i++) {
        const before = list[i - 1]!
        const killed = before.owner ? killedAt.get(before.owner) : undefined
        const end = Math.min(before.ended_at ?? Number.POSITIVE_INFINITY, killed ?? Number.POSITIVE_INFINITY)
        if (list[i]!.started_at! < end && overlaps++ < 5)
          report(
            `session ${before.session_id} ran two turns at once: ${before.id} (${before.owner}, ${before.started_at}–${end}) and ${list[i]!.id} (${list[i]!.owner}, from ${list[i]!.started_at})`,
          )
      }
    }
    if (overlaps > 5) report(`… ${overlaps} overlapping pairs of turns in all`)
    // Telegram: stored once each, answered once (twice only in the known window).
    const stored = new Map<string, MessageRow[]>()
    for (const message of userMessages) {
      const text = textOf(message)
      if (text.startsWith("tg ")) stored.set(text, [...(stored.get(text) ?? []), message])
    }
    // How the polling nodes delivered what a kill left owed (src/channels/telegram/owed.ts logs each).
    const takeovers = { posted: 0, edited: 0, unchanged: 0 }
    for (const line of outputs.join("\n").split("\n")) {
      const how = /left unanswered.* how=(posted|edited|unchanged)/.exec(line)?.[1] as
        | keyof typeof takeovers
        | undefined
      if (how) takeovers[how]++
    }
    let answered = 0
    let resent = 0
    let notices = 0
    let duplicates = 0
    let rewritten = 0
    for (const text of telegramSent) {
      const rows = stored.get(text) ?? []
      if (rows.length !== 1) report(`Telegram message "${text}" is stored ${rows.length} times`)
      const turn = rows[0]?.turn_id ? turnById.get(rows[0].turn_id) : undefined
      const all = finals(text)
      const owedAnswers = attached(text).length - noticesOf(text)
      const streamed = all.length - owedAnswers
      const noticed = noticesOf(text)
      resent += owedAnswers
      notices += noticed
      // The answer written whole (HTML) more than once into one message: a kill between its send and its
      // settle, absorbed by the takeover's edit (the person sees the same message, edited).
      const writes = fake.calls.filter(
        (call) =>
          call.status === "ok" &&
          call.params.parse_mode === "HTML" &&
          String(call.params.text ?? "").includes(`You said: &quot;${text}&quot;`),
      ).length
      if (all.length === 1 && writes > 1) rewritten++
      const replies = all.length + noticed
      if (replies === 0) {
        report(`Telegram message "${text}" was never answered (its turn ${turn?.status ?? "not stored"})`)
        continue
      }
      answered++
      if (noticed > 0 && turn?.status === "completed")
        report(`Telegram message "${text}" got the restart notice though its turn completed`)
      if (replies === 1) continue
      // Twice, the second after a node was killed following the first: the sender was killed between its
      // send and its settle (the streaming node, or a node that had taken the reply over), and the next
      // polling node sent it again. Anything else answered twice is a violation.
      const times = [
        ...all.map((sent) => sent.updatedAt),
        ...attached(text)
          .filter((call) => call.params.text === RESTART_NOTICE)
          .map((call) => call.at),
      ].sort((a, b) => a - b)
      if (replies === 2 && killTimes.some((at) => at >= times[0]! && at <= times[1]!)) duplicates++
      else
        report(
          `Telegram message "${text}" was answered ${replies} times (${streamed} streamed, ${owedAnswers} resent, ${noticed} notices)`,
        )
    }
    return {
      violations,
      acknowledged: acked.length,
      completed: turns.filter((turn) => turn.status === "completed").length,
      interrupted: turns.filter((turn) => turn.status === "interrupted").length,
      kills,
      telegram: {
        sent: telegramSent.length,
        stored: stored.size,
        answered,
        resent,
        notices,
        duplicates,
        rewritten,
        takeovers,
      },
      served,
    }
  } finally {
    fake.stop()
    await cluster[Symbol.asyncDispose]()
  }
}

/**
 * Run by hand: `bun test/scale/chaos.ts [--seconds 60] [--seed N] [--postgres]` prints the report and
 * every violation (on one shared SQLite file unless --postgres, which starts a server of its own).
 */
if (import.meta.main) {
  const { parseArgs } = await import("node:util")
  const { startPostgres } = await import("../lib/postgres.ts")
  const { values } = parseArgs({
    options: {
      seconds: { type: "string", default: "60" },
      seed: { type: "string", default: String(Date.now() % 100_000) },
      postgres: { type: "boolean", default: false },
    },
  })
  const pg = values.postgres ? await startPostgres() : null
  try {
    const result = await clusterChaos({
      seconds: Number(values.seconds),
      seed: Number(values.seed),
      storeUrl: pg ? await pg.database() : undefined,
      log: (line) => console.log(line),
    })
    const { violations, ...figures } = result
    console.log(JSON.stringify({ seed: Number(values.seed), ...figures, violations: violations.length }))
    for (const line of violations) console.log(`  - ${line}`)
    process.exitCode = violations.length ? 1 : 0
  } finally {
    await pg?.stop()
  }
}
