/**
 * The channel contract suite (docs/channels.md): one set of cases every channel passes, parametrised
 * by an adapter that knows the channel's loopback fake. The gateway is the real one, a child process
 * (test/lib/gateway.ts, which also does the kill -9); the model is the demo provider, which answers
 * `You said: "<text>"` word by word (`delayMs` between words) and calls `file.read` when asked to read
 * a file.
 *
 * A channel's test file is three lines:
 *
 *   import { contractSuite } from "./suite.ts"
 *   import { discordAdapter } from "./discord-adapter.ts"   // or inline
 *   contractSuite(discordAdapter)
 *
 * ## The adapter
 *
 * `ContractAdapter.start()` starts a fresh fake of the platform (one per case, stopped by the suite)
 * and returns a `ContractFake`:
 * - `channel(options)`: the `channels` entry that points a gateway at this fake, with `owner` allowed
 *   and `stranger` not; `pairing: true` turns pairing on; `badToken: true` gives a token the fake
 *   refuses (401 or the platform's equivalent); `editIntervalMs` sets the channel's edit pacing if it
 *   has such a setting (ignore it otherwise).
 * - `limits`: what the fake enforces (the platform's): the longest message and the least gap between two
 *   writes (posts or edits) in one conversation.
 * - `send(user, text)`: a direct message from `owner` or `stranger`, delivered the way the platform
 *   delivers it (a getUpdates answer, a Gateway dispatch, a Socket Mode envelope). It must survive a
 *   gateway restart: the fake keeps undelivered / unacknowledged events like the platform does.
 * - `messages(user)`: the bot's messages in that user's direct conversation, in order, each with its
 *   text as it reads now (after edits). Approval requests and pairing answers are messages too.
 * - `writes(user)`: every post and edit the bot made there, with the fake's arrival time and the
 *   length of the text, for the limits checks.
 * - `approve(user)`: press "Approve" on the latest approval request in that conversation, as that
 *   user; false when none is shown.
 * - `chat(user)` (optional): the delivery target (`deliver.chat` of a schedule) of that user's direct
 *   conversation, for the scheduled-delivery case (run when the adapter sets `delivery: true`).
 * - `attach(gw)` (optional): called with each gateway the case starts, once it is up; a channel that is
 *   part of the gateway (the web chat) talks to it through this.
 * - `config(options)` (optional): more top-level config for the case (a channel plugin: `plugins` and its
 *   `pluginConfig`, built from the same options as `channel()`, which then returns null).
 * - `prepare(dir)` (optional): called with the workspace folder before each gateway starts (a channel
 *   plugin installs its package into `node_modules` here).
 * - `stop()`: stop the fake.
 *
 * A channel built into the gateway rather than configured (the web chat) returns `null` from `channel()`:
 * the config then has no `channels` entry. Capability flags on the adapter map the cases onto a channel
 * that is not a bot (see `ContractAdapter`); each has a default that is the bot channels' behaviour, and
 * a case that does not apply is opted out of in `optOut` with its reason, which the skipped test's
 * name carries (docs/channels.md lists them).
 *
 * What the suite expects of the channel besides the fake: it publishes `<kind>.message.ignored` when it
 * drops a message (the stranger case waits for it), approval decisions are `by: "<kind>:<userId>"`, and
 * health reasons start with `<kind>: ` (the component name of the first instance of a kind).
 */
import { afterEach, describe, expect, test } from "bun:test"
import { fakeOpenAI, reply } from "../../fake/openai.ts"
import { events, waitEvent } from "../helpers.ts"
import { type RunningGateway, spawnGateway } from "../../lib/gateway.ts"
import { demoConfig } from "../../lib/config.ts"
import { workspace } from "../../lib/workspace.ts"

export type Who = "owner" | "stranger"

export interface ChannelOptions {
  pairing?: boolean
  badToken?: boolean
  editIntervalMs?: number
}

export interface ContractFake {
  channel(options?: ChannelOptions): Record<string, unknown> | null
  readonly limits: { messageChars: number; editIntervalMs: number }
  send(user: Who, text: string): void | Promise<void>
  messages(user: Who): { text: string }[]
  writes(user: Who): { at: number; chars: number }[]
  approve(user: Who): boolean | Promise<boolean>
  chat?(user: Who): string | number
  attach?(gw: RunningGateway): void | Promise<void>
  config?(options: ChannelOptions): Record<string, unknown>
  prepare?(dir: string): void
  stop(): void | Promise<void>
}

export interface ContractAdapter {
  /** The config `kind` and session channel ("telegram", "discord", "slack", "web"). */
  kind: string
  /** Whether the channel offers pairing to strangers (the pairing case is skipped otherwise). */
  pairing: boolean
  /** The command a pairing offer names, when not `drost <kind> approve` (plugin channels: `drost pairing approve`). */
  pairingCommand?: string
  /** Whether to run the scheduled-delivery case (the fake then needs `chat(user)`). */
  delivery?: boolean
  /** The `channel` of its sessions when it is not `kind` (the web chat's sessions are Control API sessions: "api"). */
  sessionChannel?: string
  /** What an approval decision's `by` starts with, when not `<kind>:` (the web chat decides through the API). */
  approvalBy?: string
  /**
   * How a stranger is refused: `event` (default) publishes `<kind>.message.ignored`; `send` refuses the
   * request itself (the web chat: 401), and the adapter's `send` throws unless it was refused.
   */
  strangerRefusal?: "event" | "send"
  /** Cases that do not apply to this channel, each with the reason (docs/channels.md). */
  optOut?: Partial<Record<OptOut, string>>
  start(): Promise<ContractFake>
}

/** The cases a channel may opt out of, with a reason. */
export type OptOut = "badToken" | "kill9"

/** Poll `probe` until it returns something truthy. */
async function until<T>(probe: () => T | undefined | null | false, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = probe()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(50)
  }
}

const said = (text: string) => `You said: "${text}"`

/** Where a case's gateways keep their store: SQLite in the workspace (default), or another engine. */
export interface SuiteOptions {
  /** Shown in the suite's name ("PostgreSQL"). */
  engine: string
  /** The environment that points a workspace's gateways at their store (DROST_STORE_URL); the same for every gateway of that workspace. */
  env(workspace: string): Promise<Record<string, string>>
}

export function contractSuite(adapter: ContractAdapter, options?: SuiteOptions) {
  describe(`channel contract: ${adapter.kind}${options ? ` (${options.engine})` : ""}`, () => {
    let fake: ContractFake | null = null
    const started = async () => {
      fake = await adapter.start()
      return fake
    }
    afterEach(async () => {
      await fake?.stop()
      fake = null
    })
    /** What points a gateway at the fake: its `channels` entry, and the top-level config it adds. */
    const setup = (fake: ContractFake, options: ChannelOptions = {}) => {
      const channel = fake.channel(options)
      return { channels: channel ? [channel] : [], ...fake.config?.(options) }
    }
    const config = (
      fake: ContractFake,
      options: ChannelOptions = {},
      demo: Record<string, unknown> = {},
      extra: Record<string, unknown> = {},
    ) => demoConfig({ ...setup(fake, options), ...extra }, demo)
    /** The gateway of a case, handed to the fake once it is up. */
    const spawn = async (...[cwd, given = {}]: Parameters<typeof spawnGateway>) => {
      fake?.prepare?.(cwd)
      const env = { ...given.env, ...(await options?.env(cwd)) }
      const gw = await spawnGateway(cwd, { ...given, env })
      await fake?.attach?.(gw)
      return gw
    }
    const sessionChannel = adapter.sessionChannel ?? adapter.kind
    /** A case, or its skipped stand-in naming why it does not apply to this channel. */
    const optional = (name: OptOut, title: string, body: () => Promise<void>, timeout: number) => {
      const reason = adapter.optOut?.[name]
      if (reason) test.skip(`${title} (not for ${adapter.kind}: ${reason})`, body)
      else test(title, body, timeout)
    }

    test("an allowed user's message runs a turn; the reply streams within the platform's limits", async () => {
      const fake = await started()
      await using ws = await workspace({ config: config(fake, {}, { delayMs: 30 }) })
      await using gw = await spawn(ws.path)
      const text = "tell me about the weather in the mountains this week, and what to pack for it"
      await fake.send("owner", text)
      await until(() => fake.messages("owner").some((message) => message.text.includes(said(text))), "the answer")
      await waitEvent(ws, "session.turn.completed")
      const writes = fake.writes("owner")
      // It streamed: the answer was edited into place, not only posted once at the end.
      expect(writes.length).toBeGreaterThan(1)
      for (const write of writes) expect(write.chars).toBeLessThanOrEqual(fake.limits.messageChars)
      // The fake stamps arrivals; a write sent after the gap can arrive a few ms early relative to the one before.
      for (let i = 1; i < writes.length; i++)
        expect(writes[i]!.at - writes[i - 1]!.at).toBeGreaterThanOrEqual(fake.limits.editIntervalMs - 60)
      const sessions = (await (await gw.api(`/sessions?channel=${sessionChannel}`)).json()) as { sessions: unknown[] }
      expect(sessions.sessions).toHaveLength(1)
      expect(await gw.stop()).toBe(0)
    }, 40_000)

    /** The loopback fake OpenAI as the model: its request log counts the provider requests exactly. */
    const counted = async (fake: ContractFake, options: ChannelOptions = {}) => {
      const llm = await fakeOpenAI({ key: null })
      const profile = {
        id: "llm",
        kind: "openai-compatible",
        baseUrl: llm.baseUrl,
        model: "m",
        apiKeyEnv: "CONTRACT_KEY",
      }
      const calls = () => llm.requests("chat").length + llm.requests("responses").length
      return { llm, calls, config: demoConfig({ ...setup(fake, options), providers: { profiles: [profile] } }) }
    }
    const env = { CONTRACT_KEY: "test-key" }

    test("a stranger reaches nothing: no answer, no session, 0 provider requests", async () => {
      const fake = await started()
      const { llm, calls, config } = await counted(fake)
      await using _llm = llm
      llm.queue(reply().text("pong"))
      await using ws = await workspace({ config })
      await using gw = await spawn(ws.path, { env })
      await fake.send("stranger", "let me in")
      if (adapter.strangerRefusal !== "send") await waitEvent(ws, `${adapter.kind}.message.ignored`)
      // The owner is answered after it: the model was reachable all along.
      await fake.send("owner", "ping")
      await until(() => fake.messages("owner").some((message) => message.text.includes("pong")), "the answer")
      expect(calls()).toBe(1)
      expect(fake.messages("stranger")).toEqual([])
      const sessions = (await (await gw.api(`/sessions?channel=${sessionChannel}`)).json()) as { sessions: unknown[] }
      expect(sessions.sessions).toHaveLength(1)
      expect(await gw.stop()).toBe(0)
    }, 30_000)

    if (adapter.pairing)
      test("with pairing on, a stranger gets a one-time code and still 0 provider requests", async () => {
        const fake = await started()
        const { llm, calls, config } = await counted(fake, { pairing: true })
        await using _llm = llm
        await using ws = await workspace({ config })
        await using gw = await spawn(ws.path, { env })
        await fake.send("stranger", "hello?")
        const offer = await until(
          () => fake.messages("stranger").find((message) => /approve [A-Z2-9]{8}/.test(message.text)),
          "the pairing code",
        )
        expect(offer.text).toContain(adapter.pairingCommand ?? `drost ${adapter.kind} approve`)
        expect(calls()).toBe(0)
        const sessions = (await (await gw.api(`/sessions?channel=${sessionChannel}`)).json()) as { sessions: unknown[] }
        expect(sessions.sessions).toHaveLength(0)
        expect(await gw.stop()).toBe(0)
      }, 30_000)

    test("commands answer while a turn runs, and /stop aborts it", async () => {
      const fake = await started()
      // One word a second: a turn that runs for minutes unless stopped.
      await using ws = await workspace({ config: config(fake, {}, { delayMs: 1000 }) })
      await using gw = await spawn(ws.path)
      await fake.send("owner", "tell me everything")
      await waitEvent(ws, "session.turn.started")
      await fake.send("owner", "/status")
      const status = await until(
        () => fake.messages("owner").find((message) => message.text.includes("running turns: 1")),
        "/status during the turn",
      )
      expect(status.text).toContain("state:")
      await fake.send("owner", "/stop")
      await until(
        () => fake.messages("owner").find((message) => message.text.includes("stopped the running turn")),
        "/stop answered",
      )
      const failed = await waitEvent(ws, "session.turn.failed")
      expect(String(failed.data.reason)).toStartWith(`aborted by user (/stop in ${adapter.kind})`)
      await until(() => fake.messages("owner").find((message) => message.text.includes("Stopped")), "the stop note")
      expect(await gw.stop()).toBe(0)
    }, 40_000)

    test("an approval button approves the waiting call", async () => {
      const fake = await started()
      await using ws = await workspace({
        config: config(fake, { editIntervalMs: 250 }, {}, { tools: { approve: ["file.read"] } }),
        files: { "hello.txt": "hi from a file\n" },
      })
      await using gw = await spawn(ws.path)
      await fake.send("owner", "read hello.txt")
      await until(
        () => fake.messages("owner").find((message) => message.text.includes("Approval needed")),
        "the approval request",
      )
      expect(await fake.approve("owner")).toBe(true)
      await until(
        () => fake.messages("owner").find((message) => message.text.includes("hi from a file")),
        "the answer with the file",
      )
      const decided = await waitEvent(ws, "approval.decided")
      expect(decided.data).toMatchObject({ approved: true, decision: "approve" })
      expect(String(decided.data.by)).toStartWith(adapter.approvalBy ?? `${adapter.kind}:`)
      expect(await gw.stop()).toBe(0)
    }, 30_000)

    if (adapter.delivery)
      test("a scheduled result is delivered to the conversation, within the platform's length", async () => {
        const fake = await started()
        if (!fake.chat) throw new Error(`the ${adapter.kind} adapter sets delivery but its fake has no chat()`)
        const schedule = {
          id: "ping",
          every: "2s",
          prompt: "scheduled ping",
          deliver: { channel: adapter.kind, chat: fake.chat("owner") },
        }
        await using ws = await workspace({ config: config(fake, {}, {}, { schedules: [schedule] }) })
        await using gw = await spawn(ws.path)
        // Listed once the channel knows its platform identity (a plugin channel: once it serves).
        const listed = async () => ((await (await gw.api("/schedules")).json()) as { deliveries: string[] }).deliveries
        for (const deadline = Date.now() + 15_000; !(await listed()).includes(adapter.kind); await Bun.sleep(50))
          if (Date.now() > deadline) break
        expect(await listed()).toContain(adapter.kind)
        await until(
          () => fake.messages("owner").find((message) => message.text.includes("scheduled ping")),
          "the scheduled delivery",
        )
        for (const write of fake.writes("owner")) expect(write.chars).toBeLessThanOrEqual(fake.limits.messageChars)
        expect(await gw.stop()).toBe(0)
      }, 30_000)

    optional(
      "kill9",
      "kill -9 mid-turn, restart: nothing answered twice, nothing lost",
      async () => {
        const fake = await started()
        await using ws = await workspace({ config: config(fake, {}, { delayMs: 20 }) })
        const sent = ["m1", "m2", "m3", "m4", "m5"]
        const answers = (text: string) => fake.messages("owner").filter((message) => message.text.includes(said(text)))
        {
          await using gw = await spawn(ws.path)
          for (const text of sent) await fake.send("owner", text)
          await until(() => answers("m1").length === 1, "the answer to m1")
          // m2's turn is running.
          await until(
            () => events(ws).filter((event) => event.type === "session.turn.started").length >= 2,
            "m2's turn",
          )
          await gw.kill9()
        }
        {
          await using gw = await spawn(ws.path)
          for (const text of ["m3", "m4", "m5"]) await until(() => answers(text).length >= 1, `the answer to ${text}`)
          const list = (await (await gw.api(`/sessions?channel=${sessionChannel}`)).json()) as {
            sessions: { id: string }[]
          }
          expect(list.sessions).toHaveLength(1)
          const body = (await (await gw.api(`/sessions/${list.sessions[0]!.id}?limit=200`)).json()) as {
            messages: { role: string; parts: { type: string; text?: string }[] }[]
          }
          const users = body.messages
            .filter((message) => message.role === "user")
            .map((message) => message.parts.map((part) => part.text ?? "").join(""))
          // None lost, none twice, in order.
          expect(users).toEqual(sent)
          // Give a duplicate the chance to show up, then count: every message answered at most once.
          await waitEvent(ws, "session.turn.completed", (data) =>
            events(ws).some((event) => event.type === "session.turn.completed" && event.data.turnId !== data.turnId),
          )
          for (const text of sent) expect(answers(text).length).toBeLessThanOrEqual(1)
          for (const text of ["m1", "m3", "m4", "m5"]) expect(answers(text)).toHaveLength(1)
          expect(await gw.stop()).toBe(0)
        }
      },
      60_000,
    )

    optional(
      "badToken",
      "a bad token degrades only this channel, with the reason in /status",
      async () => {
        const fake = await started()
        await using ws = await workspace({ config: config(fake, { badToken: true }) })
        await using gw = await spawn(ws.path)
        await waitEvent(ws, "gateway.state", (data) =>
          (data.reasons as string[]).some((reason) => reason.startsWith(`${adapter.kind}: `)),
        )
        const health = await gw.api("/healthz")
        expect(health.status).toBe(503)
        const reasons = ((await health.json()) as { reasons: string[] }).reasons
        expect(reasons.every((reason) => reason.startsWith(`${adapter.kind}: `))).toBe(true)
        // /status (any surface) says the same.
        const status = (await (await gw.api("/commands", { method: "POST", json: { line: "/status" } })).json()) as {
          text: string
        }
        expect(status.text).toContain(`state: degraded (${adapter.kind}: `)
        const session = ((await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }).id
        const turn = (await (
          await gw.api(`/sessions/${session}/turn`, { method: "POST", json: { input: "still alive?" } })
        ).json()) as { status: string }
        expect(turn.status).toBe("completed")
        expect(await gw.stop()).toBe(0)
      },
      30_000,
    )

    test("a failure answers one short message with an error id", async () => {
      const fake = await started()
      const broken = {
        id: "broken",
        kind: "openai-compatible",
        baseUrl: "http://127.0.0.1:9/v1",
        model: "m",
        api: "chat",
      }
      await using ws = await workspace({
        config: demoConfig({
          ...setup(fake),
          providers: { profiles: [broken], failover: { enabled: false } },
        }),
      })
      await using gw = await spawn(ws.path)
      await fake.send("owner", "hello")
      const message = await until(
        () => fake.messages("owner").find((candidate) => /error id/i.test(candidate.text)),
        "the error message",
        30_000,
      )
      const failed = await waitEvent(ws, "session.turn.failed")
      expect(message.text).toContain(String(failed.data.turnId))
      expect(message.text.length).toBeLessThan(200)
      expect(fake.messages("owner")).toHaveLength(1)
      expect(await gw.stop()).toBe(0)
    }, 40_000)
  })
}
