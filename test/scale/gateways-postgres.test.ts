/**
 * Two real gateways (`bun src/index.ts start`, each its own workspace) on one real PostgreSQL database
 * (DROST_STORE_URL): what one writes the other reads, their buses are linked (an SSE client on one node
 * sees the other's turns, and resumes on either with Last-Event-ID), nothing shared lands in the node's
 * own SQLite file, and /status names the store and its gateways. Skipped with the reason where
 * PostgreSQL is not installed (and failed in CI).
 */
import { Database } from "bun:sqlite"
import { expect, test } from "bun:test"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { type Cluster, startCluster } from "../lib/cluster.ts"
import { runCli } from "../lib/gateway.ts"
import { demoConfig } from "../lib/config.ts"
import { postgresPerFile, postgresSkip } from "../lib/postgres.ts"
import { readSse, type SseEvent } from "../lib/sse.ts"

const skip = postgresSkip()

interface Status {
  gatewayId: string
  store: { engine: string; where: string; gateways: { id: string }[] }
  lastEventId: number
}

async function until(events: AsyncGenerator<SseEvent>, done: (event: SseEvent) => boolean) {
  const seen: SseEvent[] = []
  for (let next = await events.next(); !next.done; next = await events.next()) {
    seen.push(next.value)
    if (done(next.value)) return seen
  }
  throw new Error(`the stream ended first: ${seen.map((event) => event.event).join(", ")}`)
}

const completed = (turnId: string) => (event: SseEvent) =>
  event.event === "session.turn.completed" && (event.data as { data: { turnId: string } }).data.turnId === turnId

if (skip) test.skip(`gateways on PostgreSQL (skipped: ${skip})`, () => {})
else {
  const pg = postgresPerFile()

  test("two gateways on one PostgreSQL: one store, one event stream, nothing shared in SQLite", async () => {
    const url = await pg.server.database()
    await using cluster: Cluster = await startCluster({ nodes: 2, storeUrl: url, config: demoConfig() })
    const [a, b] = cluster.nodes.map((node) => node.gw!) as [
      NonNullable<Cluster["nodes"][0]["gw"]>,
      NonNullable<Cluster["nodes"][0]["gw"]>,
    ]
    const statusA = (await (await a.api("/status")).json()) as Status
    const statusB = (await (await b.api("/status")).json()) as Status
    expect(statusA.store.engine).toBe("postgres")
    // The URL without a password, as every message shows it.
    expect(statusA.store.where).toBe(url.replace(/^postgres:\/\/postgres@/, "postgres://postgres@"))
    expect(statusA.store.gateways.map((peer) => peer.id).sort()).toEqual([statusA.gatewayId, statusB.gatewayId].sort())

    // B's subscriber, connected before A's turn.
    const watch = new AbortController()
    const stream = await b.api("/events", { signal: watch.signal })
    expect(stream.status).toBe(200)
    const events = readSse(stream)

    const session = (await (await a.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }
    const turn = (await (
      await a.api(`/sessions/${session.id}/turn`, { method: "POST", json: { input: "hello from A" } })
    ).json()) as { turnId: string; status: string }
    expect(turn.status).toBe("completed")
    const heard = await until(events, completed(turn.turnId))
    expect(heard.some((event) => event.event === "session.turn.queued")).toBe(true)
    watch.abort()
    const lastSeen = heard.at(-1)!.id!

    // B reads what A wrote, and runs the session's next turn.
    const history = (await (await b.api(`/sessions/${session.id}`)).json()) as {
      messages: { role: string }[]
    }
    expect(history.messages.map((message) => message.role)).toEqual(["user", "assistant"])
    const next = (await (
      await b.api(`/sessions/${session.id}/turn`, { method: "POST", json: { input: "and from B" } })
    ).json()) as { turnId: string; status: string }
    expect(next.status).toBe("completed")

    // A client that was on B resumes on A with Last-Event-ID: it gets B's turn it missed.
    const resume = new AbortController()
    const resumed = await a.api("/events", { headers: { "last-event-id": lastSeen }, signal: resume.signal })
    const missed = await until(readSse(resumed), completed(next.turnId))
    expect(missed[0]?.event).not.toBe("gap")
    expect(missed.every((event) => Number(event.id) > Number(lastSeen))).toBe(true)
    expect(missed.some((event) => event.event === "session.turn.queued")).toBe(true)
    resume.abort()

    // What is per node stays per node: each node's SQLite file holds no session, no turn.
    for (const node of cluster.nodes) {
      const stateDir = join(node.ws.path, ".drost")
      expect(existsSync(join(stateDir, "drost.db"))).toBe(false)
      const local = new Database(join(stateDir, "node.db"), { readonly: true })
      try {
        expect(local.query<{ n: number }, []>("SELECT count(*) AS n FROM sessions").get()!.n).toBe(0)
        expect(local.query<{ n: number }, []>("SELECT count(*) AS n FROM turns").get()!.n).toBe(0)
      } finally {
        local.close()
      }
    }

    // A turn streamed from a linked node: every delta reaches the stream before its end (the node's own
    // events come back through the store; the turn ends once its outcome is delivered here).
    for (let round = 0; round < 5; round++) {
      const streamed = await a.api(`/sessions/${session.id}/turn`, {
        method: "POST",
        json: { input: `stream ${round}` },
        headers: { accept: "text/event-stream" },
      })
      let text = ""
      let final: { status: string; text: string } | null = null
      for await (const event of readSse(streamed)) {
        if (event.event === "session.turn.delta") text += (event.data as { text: string }).text
        if (event.event === "turn.completed") final = event.data as { status: string; text: string }
      }
      expect(final?.status).toBe("completed")
      expect(text).toBe(final!.text)
    }

    // With every gateway stopped, the CLI reads the shared store itself (a stopped workspace on PostgreSQL).
    await cluster.stop()
    const exported = await runCli(["session", "export", session.id], {
      cwd: cluster.nodes[1]!.ws.path,
      env: { DROST_STORE_URL: url },
      timeoutMs: 20_000,
    })
    expect(exported.stderr).toBe("")
    const doc = JSON.parse(exported.stdout) as { messages: { role: string }[] }
    // Two turns above and five streamed ones.
    expect(doc.messages.map((message) => message.role)).toEqual(
      Array.from({ length: 7 }, () => ["user", "assistant"]).flat(),
    )
  }, 60_000)
}
