/**
 * The Telegram poller's lease on a shared store (issue 22 item 3: exactly one node polls each bot): two
 * pollers, as two gateways would run them, on two contract handles of one real PostgreSQL
 * (test/lib/postgres.ts), each with its own fake Bot API so the wire shows which one polls. Skipped with
 * the reason where PostgreSQL is not installed; a failure in CI.
 */
import { expect, test } from "bun:test"
import { hostname } from "node:os"
import { Api } from "grammy"
import type { Update } from "grammy/types"
import { createPoller } from "../../src/channels/telegram/poller.ts"
import type { Store } from "../../src/store/engine/contract.ts"
import { openPostgres } from "../../src/store/engine/postgres.ts"
import { Log } from "../../src/util/log.ts"
import { FakeTelegram } from "../fake/telegram.ts"
import { postgresPerFile, postgresSkip } from "../lib/postgres.ts"

const skip = postgresSkip()

/** Until `predicate` holds (checked every 20 ms), or fail saying what was awaited. */
async function until(predicate: () => boolean, ms: number, what: string) {
  const end = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await Bun.sleep(20)
  }
}
const BOT = "4242"
const TTL = 1500

/** A poller on `store` against its own fake, supplying batches as @grammyjs/runner would ask for them. */
async function gateway(store: Store) {
  const fake = await FakeTelegram.start()
  const health: (string | null)[] = []
  const poller = createPoller({
    api: new Api(fake.token, { apiRoot: fake.apiRoot }),
    store: store.telegram,
    botId: BOT,
    timeoutSec: 1,
    stallMs: 5000,
    log: Log.create("poller-test"),
    health: (problem) => health.push(problem),
    leaseTtlMs: TTL,
  })
  const halt = new AbortController()
  const supplied: Update[] = []
  const running = (async () => {
    while (!halt.signal.aborted) supplied.push(...(await poller.supplier.supply(100, halt.signal as never)))
  })().catch(() => {})
  return {
    fake,
    health,
    supplied,
    polls: () => fake.callsOf("getUpdates"),
    async stop() {
      halt.abort()
      await poller.close()
      await running
      fake.stop()
    },
  }
}

if (skip) test.skip(`Telegram poller on PostgreSQL (skipped: ${skip})`, () => {})
else {
  const pg = postgresPerFile()

  test("two gateways on one PostgreSQL: one polls; the other takes over once the first stops renewing", async () => {
    const url = await pg.server.database()
    const [first, second] = [await openPostgres(url, { max: 4 }), await openPostgres(url, { max: 4 })]
    const a = await gateway(first)
    await until(() => a.polls().length > 0, 5000, "the first gateway polling")
    const b = await gateway(second)
    try {
      await until(
        () => b.health.some((problem) => problem?.includes("is polling this bot")),
        5000,
        "the second gateway told another one polls",
      )
      // Two lease lengths: the first renews, the second never polls.
      const id = a.fake.text(7, "fetched by the first, never handled")
      await until(() => a.supplied.some((update) => update.update_id === id), 5000, "the update supplied")
      await Bun.sleep(2 * TTL)
      expect(b.polls()).toHaveLength(0)
      expect(a.polls().length).toBeGreaterThan(1)
      expect(await second.telegram.offset(BOT)).toBe(id + 1)

      // The first gateway's store goes away: its renewals fail, its lease runs out, the second takes it.
      await first.close()
      await until(() => b.polls().length > 0, 4 * TTL, "the second gateway polling")
      const takeover = b.polls()[0]!
      // Never both: the first's last poll began before the second's first, and none began after.
      expect(a.polls().every((call) => call.at <= takeover.at)).toBe(true)
      const after = a.polls().length
      // The second continues where the first stopped: its offset, and what it fetched but did not finish.
      expect(takeover.params.offset).toBe(id + 1)
      expect(b.supplied.map((update) => update.update_id)).toContain(id)
      await Bun.sleep(TTL)
      expect(a.polls()).toHaveLength(after)
      expect(a.health.at(-1)).toContain("cannot reach the store")
      expect(b.health.at(-1)).toBeNull()
      expect(await second.telegram.lease(BOT, "someone-else", 60_000)).toMatchObject({ ok: false })
    } finally {
      await b.stop()
      await a.stop()
      await second.close()
    }
  }, 30_000)

  test("a lease left by a killed gateway on this host is taken at once, not after it expires", async () => {
    const url = await pg.server.database()
    const store = await openPostgres(url, { max: 4 })
    const dead = Bun.spawn(["true"])
    await dead.exited
    expect(await store.telegram.lease(BOT, `${hostname()}/${dead.pid}/gone`, 600_000)).toEqual({ ok: true })
    const started = Date.now()
    const g = await gateway(store)
    try {
      await until(() => g.polls().length > 0, 5000, "polling")
      expect(Date.now() - started).toBeLessThan(TTL)
      expect(g.health.filter((problem) => problem !== null)).toEqual([])
    } finally {
      await g.stop()
      await store.close()
    }
  }, 20_000)
}
