/**
 * Provider faults, randomized and concurrent: the full matrix (5xx, 429, 401, hang, stall, reset
 * mid-stream, malformed chunk, slow drip within and beyond the idle deadline) on a gateway without a
 * fallback and on one with a fallback. Each fault has its own fake server that plays it on every
 * request (retries included), so the outcome of a turn depends only on its profile, whatever the
 * interleaving. A seeded sequence of turns runs 8 at a time; every turn must end, answered or with a
 * clear reason, within its bound: 0 hangs. Afterwards both gateways still answer, and no provider key
 * appears in anything they wrote.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { fakeAnthropic, type FakeAnthropic } from "../fake/anthropic.ts"
import { fakeOpenAI, type FakeOpenAI } from "../fake/openai.ts"
import { type Reply, reply } from "../fake/reply.ts"
import { type RunningGateway, spawnGateway } from "../lib/gateway.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"
import { findSecrets, rng, seedFrom } from "./chaos.ts"

const SEED = seedFrom("DROST_FAULT_SEED", 20261125)
const TURNS = Number(process.env.DROST_FAULT_TURNS ?? 96)
const DEADLINES = { connectTimeoutMs: 500, firstTokenTimeoutMs: 500, idleTimeoutMs: 500 }
/** No turn may take longer than this (the deadlines above plus failover and a loaded machine's slack). */
const BOUND_MS = 15_000
const OPENAI_KEY = "sk-reliability-openai-5f1e2d3c4b5a69788796a5b4"
const ANTHROPIC_KEY = "sk-ant-reliability-0a1b2c3d4e5f60718293a4b5c6"
const ANSWER = "The answer, streamed in small pieces so a drip takes a while."

/** Profile id → the fault its fake plays on every request, and whether the turn can succeed alone. */
const MATRIX: Record<string, { play: () => Reply; alone: "completed" | "failed" }> = {
  ok: { play: () => reply().text(ANSWER), alone: "completed" },
  p500: { play: () => reply().status(500), alone: "failed" },
  p503: { play: () => reply().status(503), alone: "failed" },
  p429: { play: () => reply().status(429, { retryAfter: 1 }), alone: "failed" },
  p401: { play: () => reply().status(401), alone: "failed" },
  hang: { play: () => reply().hang(), alone: "failed" },
  stall: { play: () => reply().text("half an ans").stall(), alone: "failed" },
  reset: { play: () => reply().text("half an ans").reset(), alone: "failed" },
  malformed: { play: () => reply().text("half an ans").malformed(), alone: "failed" },
  drip: { play: () => reply().text(ANSWER).chunk(4).delay(40), alone: "completed" },
  "drip-too-slow": { play: () => reply().text(ANSWER).chunk(20).delay(900), alone: "failed" },
}

interface Setup {
  ws: Workspace
  gw: RunningGateway
  sessions: Map<string, string[]>
}

const fakes = new Map<string, FakeOpenAI>()
let backup: FakeAnthropic
const setups: Record<"alone" | "fallback", Setup> = {} as never

async function setup(withFallback: boolean): Promise<Setup> {
  const profiles: Record<string, unknown>[] = Object.keys(MATRIX).map((id) => ({
    id,
    kind: "openai",
    api: "chat",
    model: "gpt-test",
    baseUrl: fakes.get(id)!.baseUrl,
    apiKeyEnv: "RELIABILITY_OPENAI_KEY",
    ...DEADLINES,
  }))
  if (withFallback)
    profiles.push({
      id: "backup",
      kind: "anthropic",
      model: "claude-test",
      baseUrl: backup.baseUrl,
      apiKeyEnv: "RELIABILITY_ANTHROPIC_KEY",
      ...DEADLINES,
    })
  const ws = await workspace({
    config: {
      providers: {
        profiles,
        defaultSessionProvider: "ok",
        failover: withFallback ? { fallbacks: ["backup"] } : { enabled: false },
      },
      controlApi: { port: 0, mutationsPerMinute: 100_000_000 },
    },
  })
  const gw = await spawnGateway(ws.path, {
    env: { RELIABILITY_OPENAI_KEY: OPENAI_KEY, RELIABILITY_ANTHROPIC_KEY: ANTHROPIC_KEY },
  })
  const sessions = new Map<string, string[]>()
  for (const id of Object.keys(MATRIX)) {
    const ids: string[] = []
    for (let i = 0; i < 2; i++)
      ids.push(
        ((await (await gw.api("/sessions", { method: "POST", json: { provider: id } })).json()) as { id: string }).id,
      )
    sessions.set(id, ids)
  }
  return { ws, gw, sessions }
}

beforeAll(async () => {
  for (const [id, { play }] of Object.entries(MATRIX)) {
    const fake = await fakeOpenAI({ key: OPENAI_KEY })
    fake.always(play())
    fakes.set(id, fake)
  }
  backup = await fakeAnthropic({ key: ANTHROPIC_KEY })
  backup.always(reply().text("backup answer"))
  const [alone, fallback] = await Promise.all([setup(false), setup(true)])
  setups.alone = alone
  setups.fallback = fallback
}, 60_000)

afterAll(async () => {
  for (const each of Object.values(setups)) {
    await each.gw[Symbol.asyncDispose]()
    await each.ws[Symbol.asyncDispose]()
  }
  for (const fake of fakes.values()) await fake.close()
  await backup?.close()
})

describe.each(["alone", "fallback"] as const)("provider faults, %s", (mode) => {
  test(`${TURNS} random turns over the whole matrix, 8 at a time: every turn ends, 0 hangs (seed ${SEED})`, async () => {
    const { gw, sessions } = setups[mode]
    const random = rng(SEED + (mode === "fallback" ? 1 : 0))
    const plan = Array.from({ length: TURNS }, (_, i) => {
      const profile = random.pick(Object.keys(MATRIX))
      return { i, profile, session: random.pick(sessions.get(profile)!) }
    })
    const results: { profile: string; status: string; reason: string | null; text: string; ms: number }[] = []
    let next = 0
    const worker = async () => {
      while (next < plan.length) {
        const turn = plan[next++]!
        const started = performance.now()
        const timer = AbortSignal.timeout(BOUND_MS)
        const response = await gw.api(`/sessions/${turn.session}/turn`, {
          method: "POST",
          json: { input: `turn ${turn.i} on ${turn.profile}` },
          signal: timer,
        })
        expect(response.status).toBe(200)
        const body = (await response.json()) as { status: string; reason: string | null; text: string }
        results.push({ profile: turn.profile, ...body, ms: performance.now() - started })
      }
    }
    await Promise.all(Array.from({ length: 8 }, worker))
    expect(results.length).toBe(TURNS)
    for (const result of results) {
      const expected = mode === "fallback" ? "completed" : MATRIX[result.profile]!.alone
      expect({ profile: result.profile, status: result.status }).toEqual({ profile: result.profile, status: expected })
      if (result.status === "completed")
        expect(result.text).toBe(result.profile === "ok" || result.profile === "drip" ? ANSWER : "backup answer")
      else {
        // A clear reason: says what went wrong, not an internal error.
        expect(result.reason ?? "").not.toBe("")
        expect(result.reason!).not.toContain("internal error")
      }
      expect(result.ms).toBeLessThan(BOUND_MS)
    }
    const slowest = results.reduce((max, result) => (result.ms > max.ms ? result : max))
    const reasons = [
      ...new Set(
        results.filter((result) => result.reason).map((result) => `${result.profile}: ${result.reason!.slice(0, 90)}`),
      ),
    ].slice(0, 12)
    console.info(
      `faults (${mode}): ${TURNS} turns, slowest ${Math.round(slowest.ms)} ms (${slowest.profile})\n  ${reasons.join("\n  ")}`,
    )
    // Still healthy and answering.
    expect((await gw.api("/healthz")).status).toBe(200)
    const after = (await (
      await gw.api(`/sessions/${sessions.get("ok")![0]}/turn`, { method: "POST", json: { input: "still there?" } })
    ).json()) as { status: string }
    expect(after.status).toBe("completed")
  }, 120_000)
})

test("no provider key in anything the gateways wrote (store, WAL, logs, events)", async () => {
  for (const { ws } of Object.values(setups)) expect(findSecrets(ws.path, [OPENAI_KEY, ANTHROPIC_KEY])).toEqual([])
})
