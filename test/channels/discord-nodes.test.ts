/**
 * Two real gateways on one store (one SQLite file, `DROST_DB`; one PostgreSQL database, `DROST_STORE_URL`,
 * where the server is installed) with the same
 * Discord bot, against the fake Discord (test/fake/discord.ts): one holds the Gateway connection (one
 * IDENTIFY, no RESUME from the other), the other waits on standby and stays ready; when the holder is
 * killed with -9 the other takes the connection over within about the lease's time, RESUMEs the stored
 * session (so what was sent meanwhile is replayed) and answers; no message is answered twice. A holder
 * frozen (SIGSTOP) past its lease is taken over and, woken, disconnects and stands by without connecting
 * again. A clean stop hands the connection over at once.
 */
import { afterEach, describe, expect, test } from "bun:test"
import { join } from "node:path"
import { createFakeDiscord, type FakeDiscord } from "../fake/discord.ts"
import { demoConfig } from "../lib/config.ts"
import { type RunningGateway, spawnGateway } from "../lib/gateway.ts"
import { postgresPerFile, postgresSkip } from "../lib/postgres.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"

const OWNER = "1200000000000000111"
const DM = "1400000000000000111"
/** `store.heartbeatMs` of both gateways: the lease lasts 5 heartbeats (2.5 s). */
const HEARTBEAT_MS = 500
const TTL_MS = HEARTBEAT_MS * 5

let fake: FakeDiscord | null = null
afterEach(() => {
  fake?.stop()
  fake = null
})

const config = (discord: FakeDiscord) =>
  demoConfig({
    channels: [{ kind: "discord", token: discord.token, apiRoot: discord.api, allowedUsers: [OWNER] }],
    store: { heartbeatMs: HEARTBEAT_MS },
  })
const said = (text: string) => `You said: "${text}"`
const answers = (discord: FakeDiscord, text: string) =>
  discord.messages(DM).filter((message) => message.content.includes(said(text))).length
/** IDENTIFYs and RESUMEs the fake received: each is one connection made with the token. */
const connections = (discord: FakeDiscord) => discord.identifies.length + discord.resumes.length
const ready = async (gw: RunningGateway) => (await fetch(`${gw.url}/readyz`)).status

const engines: { name: string; env: (ws: Workspace) => Promise<Record<string, string>> }[] = [
  { name: "sqlite", env: async (ws) => ({ DROST_DB: join(ws.path, "shared.db") }) },
]
const skip = postgresSkip()
if (!skip) {
  const pg = postgresPerFile()
  engines.push({ name: "postgres", env: async () => ({ DROST_STORE_URL: await pg.server.database() }) })
} else test.skip(`Discord between gateways on PostgreSQL (skipped: ${skip})`, () => {})

async function until(what: string, probe: () => boolean, ms: number, gw?: RunningGateway) {
  const deadline = Date.now() + ms
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${gw ? `:\n${gw.output()}` : ""}`)
    await Bun.sleep(20)
  }
}

describe.each(engines)("one Discord bot, two gateways on $name", ({ env: storeEnv }) => {
  test("two gateways, one bot: one connects, the other stands by; kill -9 the holder and the other resumes and answers, nothing twice", async () => {
    fake = createFakeDiscord()
    await using a = await workspace({ config: config(fake) })
    await using b = await workspace({ config: config(fake) })
    const env = { ...(await storeEnv(a)), DROST_LOG_LEVEL: "info" }
    const first = await spawnGateway(a.path, { env })
    await using _first = first
    await fake.until(() => fake!.connected, 15_000, "the first connection")
    await using second = await spawnGateway(b.path, { env })
    await until("the standby line", () => second.output().includes("standby: gateway "), 10_000, second)
    // Several of the standby's asks later (one a second) and past a lease time, still one connection.
    await Bun.sleep(TTL_MS + 1000)
    expect(connections(fake)).toBe(1)
    expect(fake.identifies).toHaveLength(1)
    expect(await ready(second)).toBe(200)
    expect(await ready(first)).toBe(200)

    fake.message(DM, OWNER, "before")
    await fake.until(() => answers(fake!, "before") === 1, 15_000, "the first answer")

    await first.kill9()
    const killed = Date.now()
    await fake.until(() => !fake!.connected, 5000, "the dead connection")
    fake.message(DM, OWNER, "while nobody held it")
    await fake.until(() => fake!.connected, TTL_MS + 5000, "the standby's connection")
    const took = Date.now() - killed
    // Resumed with the session the killed gateway stored: Discord replays what came meanwhile.
    expect(fake.resumes).toHaveLength(1)
    expect(fake.identifies).toHaveLength(1)
    expect(took).toBeLessThan(TTL_MS + 3000)
    await fake.until(() => answers(fake!, "while nobody held it") === 1, 15_000, "the replayed answer")
    fake.message(DM, OWNER, "after")
    await fake.until(() => answers(fake!, "after") === 1, 15_000, "the answer after")
    // Time for a second answer to any of them, if one were coming.
    await Bun.sleep(1000)
    for (const text of ["before", "while nobody held it", "after"]) expect(answers(fake, text)).toBe(1)
    expect(connections(fake)).toBe(2)
    expect(await ready(second)).toBe(200)
    expect(second.output()).toContain("standby: gateway ")
    expect(await second.stop()).toBe(0)
  }, 60_000)

  test("a holder frozen past its lease is taken over; woken, it lets the connection go and stands by", async () => {
    fake = createFakeDiscord()
    await using a = await workspace({ config: config(fake) })
    await using b = await workspace({ config: config(fake) })
    const env = { ...(await storeEnv(a)), DROST_LOG_LEVEL: "info" }
    await using first = await spawnGateway(a.path, { env })
    await fake.until(() => fake!.connected, 15_000, "the first connection")
    await using second = await spawnGateway(b.path, { env })
    await until("the standby line", () => second.output().includes("standby: gateway "), 10_000, second)
    // Frozen: no heartbeats, no renewals, its socket still open (as a node stuck or cut off from the store).
    process.kill(first.pid, "SIGSTOP")
    try {
      await fake.until(() => fake!.resumes.length === 1, TTL_MS * 2 + 5000, "the second gateway's RESUME")
    } finally {
      process.kill(first.pid, "SIGCONT")
    }
    await until("the woken holder letting go", () => first.output().includes("disconnecting until"), 10_000, first)
    const standbys = (gw: RunningGateway) => gw.output().split("standby: gateway ").length - 1
    await until("the woken holder on standby", () => standbys(first) > 0, 10_000, first)
    fake.message(DM, OWNER, "after the take-over")
    await fake.until(() => answers(fake!, "after the take-over") === 1, 15_000, "the answer")
    await Bun.sleep(TTL_MS)
    expect(answers(fake, "after the take-over")).toBe(1)
    // The woken one did not connect again: one IDENTIFY (its own), one RESUME (the successor's).
    expect(connections(fake)).toBe(2)
    expect(await ready(first)).toBe(200)
    expect(await first.stop()).toBe(0)
    expect(await second.stop()).toBe(0)
  }, 60_000)

  test("a clean stop of the holder hands the connection to the other gateway", async () => {
    fake = createFakeDiscord()
    await using a = await workspace({ config: config(fake) })
    await using b = await workspace({ config: config(fake) })
    const env = { ...(await storeEnv(a)), DROST_LOG_LEVEL: "info" }
    await using first = await spawnGateway(a.path, { env })
    await fake.until(() => fake!.connected, 15_000, "the first connection")
    await using second = await spawnGateway(b.path, { env })
    await until("the standby line", () => second.output().includes("standby: gateway "), 10_000, second)
    expect(connections(fake)).toBe(1)
    expect(await first.stop()).toBe(0)
    // The lease is released at the stop: taken at the standby's next ask, not after the lease's time.
    await fake.until(() => fake!.connected && connections(fake!) === 2, 5000, "the second connection")
    fake.message(DM, OWNER, "to the second")
    await fake.until(() => answers(fake!, "to the second") === 1, 15_000, "the answer")
    await Bun.sleep(500)
    expect(answers(fake, "to the second")).toBe(1)
    expect(await second.stop()).toBe(0)
  }, 60_000)
})
