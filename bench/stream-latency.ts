/**
 * Streaming latency (issue 23, target 4): the time from a token leaving the provider to its delta
 * reaching an SSE client of the Control API (`GET /control/v1/events`, `session.turn.delta`), p50 / p99.
 *
 *   bun bench/stream-latency.ts [--turns 100] [--tokens 20] [--gap-ms 5] [--binary dist/drost]
 *
 * The provider is a Chat Completions streamer in this process (the same wire format as test/fake/openai.ts)
 * that writes one numbered token per frame, `--gap-ms` apart so no two tokens share a read, and notes
 * the moment it hands each frame to the socket. The SSE client is in this process too (one clock): it
 * notes when the delta carrying a token's number arrives. The figure is therefore provider socket →
 * gateway (SSE parse, event, bus) → Control API frame → client socket, on loopback; channel pacing
 * (Telegram's edit interval) is outside it by design. The floor beside it: the same token relayed by a
 * bare Bun.serve that reads the provider's stream and writes each frame straight to its own SSE client.
 * Prints a table and one JSON line.
 */
import { parseArgs } from "node:util"
import { spawnGateway } from "../test/lib/gateway.ts"
import { workspace } from "../test/lib/workspace.ts"
import { finishMachine, machine, ms, report, round, summarize } from "./lib.ts"

const { values } = parseArgs({
  options: {
    turns: { type: "string", default: "100" },
    tokens: { type: "string", default: "20" },
    "gap-ms": { type: "string", default: "5" },
    binary: { type: "string" },
  },
})
const TURNS = Number(values.turns)
const TOKENS = Number(values.tokens)
const GAP = Number(values["gap-ms"])
const info = machine()
const now = () => performance.now()

/** When each token (by its number) was handed to the provider's socket. */
const sent = new Map<number, number>()
let nextToken = 0
const encoder = new TextEncoder()
const frame = (delta: Record<string, unknown>, finish: string | null = null) =>
  encoder.encode(
    `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 0, model: "gpt-test", choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`,
  )

const provider = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  idleTimeout: 0,
  async fetch(request) {
    if (!new URL(request.url).pathname.endsWith("/chat/completions")) return new Response("not found", { status: 404 })
    await request.text()
    const stream = new ReadableStream<Uint8Array>({
      type: "direct",
      async pull(controller: { write(bytes: Uint8Array): void; flush(): void; close(): void }) {
        controller.write(frame({ role: "assistant", content: "" }))
        controller.flush()
        for (let i = 0; i < TOKENS; i++) {
          await Bun.sleep(GAP)
          const token = nextToken++
          sent.set(token, now())
          controller.write(frame({ content: ` ⟦${token}⟧` }))
          controller.flush()
        }
        controller.write(frame({}, "stop"))
        controller.write(encoder.encode("data: [DONE]\n\n"))
        controller.close()
      },
    } as unknown as ConstructorParameters<typeof ReadableStream<Uint8Array>>[0])
    return new Response(stream, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } })
  },
})

/** Reads an SSE body and notes when each token number first appears in it. */
async function collect(body: ReadableStream<Uint8Array>, into: Map<number, number>) {
  const decoder = new TextDecoder()
  const marker = /⟦(\d+)⟧/g
  let carry = ""
  for await (const chunk of body) {
    const at = now()
    const text = carry + decoder.decode(chunk, { stream: true })
    for (const match of text.matchAll(marker)) {
      const token = Number(match[1])
      if (!into.has(token)) into.set(token, at)
    }
    carry = text.slice(-16) // a marker split across two reads
  }
}

const latencies = (received: Map<number, number>, from: number, to: number) => {
  const out: number[] = []
  for (let token = from; token < to; token++) {
    const start = sent.get(token)
    const end = received.get(token)
    if (start !== undefined && end !== undefined) out.push(end - start)
  }
  return out
}

// The floor: a bare relay, provider stream in, each read written straight to its SSE client.
const relay = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  idleTimeout: 0,
  async fetch() {
    const upstream = await fetch(`http://127.0.0.1:${provider.port}/v1/chat/completions`, {
      method: "POST",
      body: "{}",
    })
    return new Response(upstream.body, { headers: { "content-type": "text/event-stream" } })
  },
})
const floorReceived = new Map<number, number>()
const floorFrom = nextToken
for (let turn = 0; turn < TURNS; turn++) {
  const response = await fetch(`http://127.0.0.1:${relay.port}/`)
  await collect(response.body!, floorReceived)
}
const floor = summarize(latencies(floorReceived, floorFrom + TOKENS * 5, nextToken))

const ws = await workspace({
  config: {
    providers: {
      profiles: [
        {
          id: "fake",
          kind: "openai-compatible",
          model: "gpt-test",
          baseUrl: `http://127.0.0.1:${provider.port}/v1`,
          apiKeyEnv: "BENCH_KEY",
        },
      ],
    },
    controlApi: { port: 0, mutationsPerMinute: 100_000_000 },
  },
})
const gw = await spawnGateway(ws.path, {
  ...(values.binary ? { command: [values.binary] } : {}),
  env: { BENCH_KEY: "bench-key", DROST_LOG_LEVEL: "warn" },
})
const received = new Map<number, number>()
const controller = new AbortController()
try {
  const events = await gw.api("/events", { signal: controller.signal })
  const reading = collect(events.body!, received).catch(() => {})
  const session = async () =>
    ((await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }).id
  let id = await session()
  const gatewayFrom = nextToken
  for (let turn = 0; turn < TURNS; turn++) {
    // A fresh session every 20 turns keeps the history (and so the request) a realistic size.
    if (turn % 20 === 19) id = await session()
    const result = (await (
      await gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input: `turn ${turn}` } })
    ).json()) as { status: string }
    if (result.status !== "completed") throw new Error(`turn ${turn}: ${JSON.stringify(result)}`)
  }
  await Bun.sleep(200)
  controller.abort()
  await reading
  // The first five turns warm the gateway up; they are left out.
  const samples = latencies(received, gatewayFrom + TOKENS * 5, nextToken)
  const stats = summarize(samples)
  const expected = (TURNS - 5) * TOKENS
  finishMachine(info)
  report(
    `stream latency · token leaves the provider → delta reaches an SSE client · ${TURNS} turns × ${TOKENS} tokens, ${GAP} ms apart · ${info.cores} × ${info.cpu} · load ${info.loadStart} → ${info.loadEnd}`,
    [
      ["gateway (Control API /events), p50", ms(stats.p50), "target ≤ 0.3 ms"],
      ["gateway (Control API /events), p99", ms(stats.p99), "target ≤ 1 ms"],
      ["floor (bare Bun.serve relay), p50 / p99", `${ms(floor.p50)} / ${ms(floor.p99)}`, "(machine limit)"],
      ["tokens measured / expected", `${samples.length} / ${expected}`, "all"],
    ],
    {
      bench: "stream-latency",
      p50_ms: round(stats.p50),
      p99_ms: round(stats.p99),
      max_ms: round(stats.max),
      floor_p50_ms: round(floor.p50),
      floor_p99_ms: round(floor.p99),
      measured: samples.length,
      expected,
      turns: TURNS,
      tokens: TOKENS,
      gap_ms: GAP,
      machine: info,
    },
  )
} finally {
  controller.abort()
  await gw[Symbol.asyncDispose]()
  await ws[Symbol.asyncDispose]()
  provider.stop(true)
  relay.stop(true)
}
