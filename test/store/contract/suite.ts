/**
 * The store contract suite (src/store/engine/contract.ts): the same cases against every engine, run from
 * sqlite.test.ts and postgres.test.ts. An engine fixture gives a fresh, empty store per test and a second
 * handle on the same database (two gateways, two claimers racing).
 */
import { describe, expect, test } from "bun:test"
import { NotFound } from "../../../src/core/error.ts"
import { unpack } from "../../../src/store/engine/announce.ts"
import { AlreadyAccepted, type Engine, type Store } from "../../../src/store/engine/contract.ts"
import { COLUMNS, EXPORT_FORMAT, EXPORT_VERSION } from "../../../src/store/portable.ts"

export interface EngineFixture {
  engine: Engine
  /**
   * A fresh, empty store on a new database, and another handle on that same database (opened for
   * gateway `owner`: the owner of the turns it begins and starts).
   */
  fresh(): Promise<{ store: Store; again(owner?: string): Promise<Store> }>
}

const text = (value: string) => [{ type: "text" as const, text: value }]
const texts = (messages: { parts: unknown[] }[]) => messages.map((m) => (m.parts[0] as { text: string }).text)

export function contractSuite(fixture: EngineFixture) {
  const withStore = (name: string, fn: (store: Store, again: (owner?: string) => Promise<Store>) => Promise<void>) =>
    test(name, async () => {
      const { store, again } = await fixture.fresh()
      const others: Store[] = []
      try {
        await fn(store, async (owner) => {
          const other = await again(owner)
          others.push(other)
          return other
        })
      } finally {
        for (const other of others) await other.close()
        await store.close()
      }
    })

  describe(`store contract (${fixture.engine})`, () => {
    withStore(
      "sessions: create, get, require, list and page with filters, count, title, provider, remove",
      async (s) => {
        const a = await s.sessions.create({
          provider: "demo",
          title: "Alpha notes",
          channel: "telegram",
          channelKey: "42",
        })
        expect(a).toMatchObject({ provider: "demo", title: "Alpha notes", channel: "telegram", channelKey: "42" })
        expect(a.metadata).toEqual({})
        expect(a.usage).toEqual({ input: 0, output: 0, cached: 0 })
        await Bun.sleep(2)
        const b = await s.sessions.create({ provider: "other", metadata: { k: 1 } })
        await Bun.sleep(2)
        const c = await s.sessions.create({ provider: "demo", title: "beta" })
        expect((await s.sessions.get(b.id))!.metadata).toEqual({ k: 1 })
        expect(await s.sessions.get("ses_missing")).toBeNull()
        expect(await s.sessions.count()).toBe(3)
        expect((await s.sessions.list()).map((x) => x.id)).toEqual([c.id, b.id, a.id])
        expect((await s.sessions.list({ limit: 1, offset: 1 })).map((x) => x.id)).toEqual([b.id])
        expect((await s.sessions.list({ channel: "telegram" })).map((x) => x.id)).toEqual([a.id])
        expect((await s.sessions.list({ limit: 1.7, offset: 0.2 })).map((x) => x.id)).toEqual([c.id])
        const page = await s.sessions.page({ provider: "demo", limit: 1 })
        expect(page.total).toBe(2)
        expect(page.sessions.map((x) => x.id)).toEqual([c.id])
        expect((await s.sessions.page({ title: "ALPHA" })).sessions.map((x) => x.id)).toEqual([a.id])
        expect((await s.sessions.page({ updatedAfter: a.updatedAt })).total).toBe(2)
        expect((await s.sessions.byChannelKey("telegram", "42"))!.id).toBe(a.id)
        expect(await s.sessions.byChannelKey("telegram", "43")).toBeNull()
        await s.sessions.setTitle(b.id, "renamed")
        await s.sessions.setPendingProvider(b.id, "next")
        expect(await s.sessions.require(b.id)).toMatchObject({ title: "renamed", pendingProvider: "next" })
        await s.sessions.setProvider(b.id, "next")
        expect(await s.sessions.require(b.id)).toMatchObject({ provider: "next", pendingProvider: null })
        await s.sessions.remove(b.id)
        expect(await s.sessions.get(b.id)).toBeNull()
        expect(await s.sessions.count()).toBe(2)
      },
    )

    withStore("bad input: an unknown session is NotFound; unknown ids read as null", async (s) => {
      for (const call of [
        () => s.sessions.require("ses_nope"),
        () => s.sessions.remove("ses_nope"),
        () => s.sessions.setTitle("ses_nope", "x"),
        () => s.sessions.setPendingProvider("ses_nope", "x"),
        () => s.sessions.beginTurn({ sessionId: "ses_nope", parts: text("hi"), source: "api" }),
      ]) {
        const error = await call().then(
          () => null,
          (e) => e,
        )
        expect(error).toBeInstanceOf(NotFound)
      }
      expect(await s.sessions.turn("turn_nope")).toBeNull()
      expect(await s.sessions.turns("ses_nope")).toEqual([])
      expect(await s.sessions.messages("ses_nope")).toEqual([])
      expect(await s.jobs.get("job_nope")).toBeNull()
      expect(await s.schedules.get("nope")).toBeNull()
      expect(await s.schedules.remove("nope")).toBe(false)
      const missing = await s.schedules.update({ id: "nope", prompt: "x", every: "1d" } as never).catch((e) => e)
      expect(missing).toBeInstanceOf(NotFound)
    })

    withStore("messages: appended in order, seq increasing across sessions, paged from the end", async (s) => {
      const a = await s.sessions.create({ provider: "demo" })
      const b = await s.sessions.create({ provider: "demo" })
      const seqs: number[] = []
      for (let i = 0; i < 6; i++) {
        const m = await s.sessions.append({
          sessionId: i % 2 ? b.id : a.id,
          turnId: null,
          role: "user",
          parts: text(`m${i}`),
        })
        seqs.push(m.seq)
      }
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!)
      // Any text is stored as given, a NUL character and astral-plane characters included.
      const odd = await s.sessions.append({
        sessionId: b.id,
        turnId: null,
        role: "user",
        parts: text("nul \u0000 🦀 end"),
      })
      expect(texts([odd])).toEqual(["nul \u0000 🦀 end"])
      expect(texts((await s.sessions.history(b.id)).slice(-1))).toEqual(["nul \u0000 🦀 end"])
      seqs.push(odd.seq)
      expect(texts(await s.sessions.history(a.id))).toEqual(["m0", "m2", "m4"])
      expect(texts(await s.sessions.messages(a.id, { limit: 2 }))).toEqual(["m2", "m4"])
      expect(texts(await s.sessions.messages(a.id, { beforeSeq: seqs[4]! }))).toEqual(["m0", "m2"])
      expect(texts(await s.sessions.messages(b.id, { limit: 1 }))).toEqual(["nul \u0000 🦀 end"])
      const withUsage = await s.sessions.append({
        sessionId: a.id,
        turnId: null,
        role: "assistant",
        parts: text("answer"),
        provider: "p1",
        usage: { input: 3, output: 4, cached: 1 },
      })
      expect(withUsage).toMatchObject({ role: "assistant", provider: "p1", usage: { input: 3, output: 4, cached: 1 } })
      expect((await s.sessions.history(a.id)).at(-1)).toEqual(withUsage)
      // A usage without one of its counts (a provider that reports no cache) sums as 0 for it.
      await s.sessions.append({
        sessionId: b.id,
        turnId: null,
        role: "assistant",
        parts: text("other"),
        provider: "p2",
        usage: { input: 2, output: 1 } as never,
      })
      expect(await s.sessions.stepUsageByProvider()).toEqual({
        p1: { input: 3, output: 4, cached: 1 },
        p2: { input: 2, output: 1, cached: 0 },
      })
      expect(await s.usage.steps({ sessionId: a.id })).toEqual({ p1: { input: 3, output: 4, cached: 1 } })
      expect(await s.usage.steps({ sessionId: b.id })).toEqual({ p2: { input: 2, output: 1, cached: 0 } })
      expect(await s.usage.steps({ sessionId: b.id, since: Date.now() + 60_000 })).toEqual({})
      const slices = await s.usage.slices(0, 86_400_000)
      expect(slices.map((slice) => [slice.provider, slice.usage]).sort()).toEqual([
        ["p1", { input: 3, output: 4, cached: 1 }],
        ["p2", { input: 2, output: 1, cached: 0 }],
      ])
    })

    withStore(
      "turns: beginTurn stores the user message and a queued turn together; finishTurn is idempotent",
      async (s) => {
        const session = await s.sessions.create({ provider: "demo" })
        const { turn, message } = await s.sessions.beginTurn({
          sessionId: session.id,
          parts: text("hi"),
          source: "api",
        })
        expect(turn).toMatchObject({ sessionId: session.id, status: "queued", source: "api", startedAt: null })
        // The same fields on every engine.
        expect(Object.keys(turn).sort()).toEqual(
          "createdAt endedAt error id provider sessionId source startedAt status steps toolCalls usage".split(" "),
        )
        expect(Object.keys(message).sort()).toEqual(
          "createdAt id parts provider role seq sessionId turnId usage".split(" "),
        )
        expect(Object.keys(session).sort()).toEqual(
          "channel channelKey createdAt id messageCount metadata pendingProvider provider title updatedAt usage".split(
            " ",
          ),
        )
        expect(message).toMatchObject({ turnId: turn.id, role: "user", sessionId: session.id })
        expect((await s.sessions.require(session.id)).messageCount).toBe(1)
        await s.sessions.startTurn(turn.id, "p1")
        expect(await s.sessions.turn(turn.id)).toMatchObject({ status: "running", provider: "p1" })
        await s.sessions.append({ sessionId: session.id, turnId: turn.id, role: "assistant", parts: text("hello") })
        const end = {
          id: turn.id,
          sessionId: session.id,
          status: "completed" as const,
          usage: { input: 10, output: 5, cached: 2 },
          steps: 1,
          toolCalls: 0,
          messages: 1,
        }
        expect(await s.sessions.finishTurn(end)).toBe(true)
        const done = (await s.sessions.turn(turn.id))!
        expect(done).toMatchObject({ status: "completed", usage: { input: 10, output: 5, cached: 2 }, steps: 1 })
        expect(done.endedAt).not.toBeNull()
        // A second end (a late failure) changes nothing on the turn, and says so.
        expect(await s.sessions.finishTurn({ ...end, status: "failed", error: "late", messages: 0 })).toBe(false)
        expect(await s.sessions.turn(turn.id)).toMatchObject({ status: "completed", error: null })
        const stored = await s.sessions.require(session.id)
        expect(stored.messageCount).toBe(2)
        expect((await s.sessions.turns(session.id)).map((t) => t.id)).toEqual([turn.id])
        expect(await s.sessions.usageByProvider()).toEqual([
          { provider: "p1", turns: 1, input: 10, output: 5, cached: 2 },
        ])
        expect(await s.sessions.flushDeferred()).toBe(true)
      },
    )

    withStore("recovery without owners: every open turn is interrupted, ended ones are left alone", async (s) => {
      const session = await s.sessions.create({ provider: "demo" })
      const open = await s.sessions.beginTurn({ sessionId: session.id, parts: text("a"), source: "api" })
      const running = await s.sessions.beginTurn({ sessionId: session.id, parts: text("b"), source: "api" })
      await s.sessions.startTurn(running.turn.id, "p1")
      const ended = await s.sessions.beginTurn({ sessionId: session.id, parts: text("c"), source: "api" })
      await s.sessions.finishTurn({
        id: ended.turn.id,
        sessionId: session.id,
        status: "completed",
        usage: { input: 0, output: 0, cached: 0 },
        steps: 0,
        toolCalls: 0,
        messages: 0,
      })
      const recovered = await s.sessions.recoverInterrupted("the gateway stopped")
      expect(recovered.map((t) => t.id).sort()).toEqual([open.turn.id, running.turn.id].sort())
      expect(await s.sessions.turn(open.turn.id)).toMatchObject({ status: "interrupted", error: "the gateway stopped" })
      expect((await s.sessions.turn(ended.turn.id))!.status).toBe("completed")
      expect(await s.sessions.recoverInterrupted("again")).toEqual([])
    })

    withStore(
      "turn ownership: a live owner's turns are left alone, a gone owner's are interrupted",
      async (s, again) => {
        const other = await again()
        await s.gateways.register("gw-live")
        await other.gateways.register("gw-dead")
        expect((await s.gateways.list()).map((g) => g.id).sort()).toEqual(["gw-dead", "gw-live"])
        const session = await s.sessions.create({ provider: "demo" })
        const begin = (value: string, owner?: string) =>
          s.sessions.beginTurn({ sessionId: session.id, parts: text(value), source: "api", owner })
        const live = await begin("a", "gw-live")
        const queued = await begin("b", "gw-live")
        const dead = await begin("c", "gw-dead")
        const orphan = await begin("d")
        const unknown = await begin("e", "gw-never-registered")
        await s.sessions.startTurn(live.turn.id, "p1", "gw-live")
        await other.sessions.startTurn(dead.turn.id, "p1", "gw-dead")
        // gw-live beats at least 50 ms after gw-dead's last beat; judged at that moment with a stale limit
        // of 25 ms, gw-dead is gone and gw-live is not (both rows carry this process's live pid and host).
        await Bun.sleep(50)
        expect(await s.gateways.beat("gw-live")).toBe(true)
        const beats = Object.fromEntries((await s.gateways.list()).map((g) => [g.id, g.heartbeatAt]))
        const gone = { self: "gw-live", staleMs: 25, now: beats["gw-live"]! }
        // Nothing of a live gateway's is touched by another's stop; its own stop takes only its own.
        expect((await s.sessions.recoverInterrupted("stop", { owner: "gw-other" })).map((t) => t.id)).toEqual([])
        const recovered = await s.sessions.recoverInterrupted("its gateway is gone", { gone })
        expect(recovered.map((t) => t.id).sort()).toEqual([dead.turn.id, orphan.turn.id, unknown.turn.id].sort())
        const why = Object.fromEntries(recovered.map((t) => [t.id, t.why]))
        expect(why[dead.turn.id]).toContain("no heartbeat")
        expect(why[orphan.turn.id]).toBe("no owner recorded")
        expect(why[unknown.turn.id]).toContain("not registered")
        expect(recovered.every((t) => t.status === "interrupted" && t.error === "its gateway is gone")).toBe(true)
        expect((await s.sessions.turn(live.turn.id))!.status).toBe("running")
        expect((await s.sessions.turn(queued.turn.id))!.status).toBe("queued")
        expect((await s.sessions.turn(dead.turn.id))!.status).toBe("interrupted")
        expect(await s.gateways.prune(gone)).toEqual(["gw-dead"])
        expect((await s.gateways.list()).map((g) => g.id)).toEqual(["gw-live"])
        // The dead gateway learns at its next heartbeat that it was found silent, and is registered again.
        expect(await other.gateways.beat("gw-dead")).toBe(false)
        expect((await s.gateways.list()).map((g) => g.id).sort()).toEqual(["gw-dead", "gw-live"])
        // gw-live's own stop: its running and queued turns.
        const stopped = await s.sessions.recoverInterrupted("stop", { owner: "gw-live" })
        expect(stopped.map((t) => t.id).sort()).toEqual([live.turn.id, queued.turn.id].sort())
        await s.gateways.remove("gw-live")
        expect((await s.gateways.list()).map((g) => g.id)).toEqual(["gw-dead"])
      },
    )

    withStore(
      "turn ownership: a store opened for a gateway records it on the turns it begins and starts",
      async (s, again) => {
        expect(s.owner).toBeNull()
        const session = await s.sessions.create({ provider: "demo" })
        const owned = await again("gw-a")
        const { turn } = await owned.sessions.beginTurn({ sessionId: session.id, parts: text("x"), source: "api" })
        await owned.sessions.startTurn(turn.id, "p1")
        expect(owned.owner).toBe("gw-a")
        await owned.gateways.register("gw-a")
        // Judged by another gateway: gw-a is registered, beating, this process: alive.
        expect(await s.sessions.recoverInterrupted("gone", { gone: { self: "gw-b", staleMs: 60_000 } })).toEqual([])
        await owned.gateways.remove("gw-a")
        const lost = await s.sessions.recoverInterrupted("gone", { gone: { self: "gw-b", staleMs: 60_000 } })
        expect(lost.map((t) => [t.id, t.why])).toEqual([[turn.id, "gateway gw-a is not registered"]])
      },
    )

    withStore("summaries: newest first by upto_seq, all in order", async (s) => {
      const session = await s.sessions.create({ provider: "demo" })
      expect(await s.summaries.latest(session.id)).toBeNull()
      await s.summaries.add({ sessionId: session.id, uptoSeq: 5, text: "first", source: "model" })
      const second = await s.summaries.add({ sessionId: session.id, uptoSeq: 9, text: "second", source: "fallback" })
      expect(await s.summaries.latest(session.id)).toEqual(second)
      expect((await s.summaries.list(session.id)).map((x) => x.text)).toEqual(["first", "second"])
    })

    withStore(
      "free text with a NUL character is stored, not refused (titles, summaries, job output, errors, kv)",
      async (s) => {
        const nul = "alpha \u0000 omega"
        const kept = (value: string | null | undefined) => expect(value).toMatch(/^alpha . omega$/u)
        const session = await s.sessions.create({ provider: "demo", title: nul })
        kept(session.title)
        await s.sessions.setTitle(session.id, nul)
        kept((await s.sessions.require(session.id)).title)
        kept(
          (await s.summaries.add({ sessionId: session.id, uptoSeq: 1, text: nul, source: "model" })) &&
            (await s.summaries.latest(session.id))!.text,
        )
        const { turn } = await s.sessions.beginTurn({ sessionId: session.id, parts: text(nul), source: "api" })
        await s.sessions.finishTurn({
          id: turn.id,
          sessionId: session.id,
          status: "failed",
          error: nul,
          usage: { input: 0, output: 0, cached: 0 },
          steps: 0,
          toolCalls: 0,
          messages: 0,
        })
        kept((await s.sessions.turn(turn.id))!.error)
        const job = await s.jobs.create({ kind: "shell", sessionId: session.id, title: nul })
        await s.jobs.finish(job.id, { status: "completed", result: nul, error: nul })
        const ended = (await s.jobs.get(job.id))!
        for (const value of [ended.title, ended.result, ended.error]) kept(value)
        await s.sessions.kv.set("k", nul)
        kept(await s.sessions.kv.get("k"))
        expect(await s.search.search({ text: "alpha omega", limit: 5 })).toHaveLength(1)
      },
    )

    withStore("kv: missing is null, set overwrites", async (s) => {
      expect(await s.sessions.kv.get("k")).toBeNull()
      await s.sessions.kv.set("k", "1")
      await s.sessions.kv.set("k", "2")
      expect(await s.sessions.kv.get("k")).toBe("2")
    })

    withStore(
      "telegram inbox: an update is stored once, done with its turn's message, offset moves forward",
      async (s, again) => {
        expect(await s.telegram.offset("bot")).toBe(0)
        expect(await s.telegram.receive("bot", [{ update_id: 7 }, { update_id: 8 }])).toBe(9)
        // Delivered again (Telegram resends after a crash before the offset reached it): still once.
        expect(await s.telegram.receive("bot", [{ update_id: 8 }])).toBe(9)
        expect(await s.telegram.pending("bot")).toEqual([{ update_id: 7 }, { update_id: 8 }])
        const session = await s.sessions.create({ provider: "demo" })
        await s.sessions.beginTurn({
          sessionId: session.id,
          parts: text("from telegram"),
          source: "telegram",
          accept: { telegram: { botId: "bot", updateIds: [7] } },
        })
        const other = await again()
        expect(await other.telegram.pending("bot")).toEqual([{ update_id: 8 }])
        // An accept whose turn fails (unknown session) leaves the update pending.
        await s.sessions
          .beginTurn({
            sessionId: "ses_nope",
            parts: text("x"),
            source: "telegram",
            accept: { telegram: { botId: "bot", updateIds: [8] } },
          })
          .catch(() => {})
        expect(await s.telegram.pending("bot")).toEqual([{ update_id: 8 }])
        await s.telegram.done("bot", [8])
        expect(await s.telegram.pending("bot")).toEqual([])
        expect(await other.telegram.offset("bot")).toBe(9)
        await s.telegram.setSession("bot", 5, session.id)
        expect(await other.telegram.session("bot", 5)).toBe(session.id)
        expect(await other.telegram.session("bot", 6)).toBeNull()
      },
    )

    withStore(
      "telegram replies owed: recorded before the accept, taken over until a turn is recorded, settled once",
      async (s, again) => {
        const other = await again()
        const session = await s.sessions.create({ provider: "demo" })
        await s.telegram.receive("bot", [{ update_id: 30 }, { update_id: 31 }])
        const reply = { key: 30, chatId: -1001234567890, messageId: 77, sessionId: session.id, holder: "gw_a" }
        await s.telegram.replies.owe("bot", reply)
        // Its update not accepted yet: pending, no turn.
        expect(await other.telegram.replies.owed("bot")).toEqual([
          { ...reply, turnId: null, createdAt: expect.any(Number), pending: true, turn: null, answerId: null },
        ])
        expect(await other.telegram.replies.owed("other-bot")).toEqual([])
        // Another gateway handling the same update (a replay) takes it over while no turn is recorded.
        await other.telegram.replies.owe("bot", { ...reply, holder: "gw_b" })
        expect((await s.telegram.replies.owed("bot"))[0]!.holder).toBe("gw_b")
        const { turn } = await s.sessions.beginTurn({
          sessionId: session.id,
          parts: text("owed"),
          source: "telegram",
          accept: { telegram: { botId: "bot", updateIds: [30] } },
        })
        await s.telegram.replies.accepted("bot", { ...reply, turnId: turn.id })
        // Once accepted it is the accepting gateway's: a late owe changes nothing.
        await other.telegram.replies.owe("bot", { ...reply, holder: "gw_b" })
        const [owed] = await other.telegram.replies.owed("bot")
        expect(owed).toMatchObject({ holder: "gw_a", turnId: turn.id, pending: false })
        expect(owed!.turn).toEqual({ status: "queued", error: null })
        // Taken over from a gone gateway by one of two claimants.
        const claims = await Promise.all([
          s.telegram.replies.claim("bot", 30, "gw_a", "gw_c"),
          other.telegram.replies.claim("bot", 30, "gw_a", "gw_d"),
        ])
        expect(claims.filter(Boolean)).toHaveLength(1)
        expect(await s.telegram.replies.claim("bot", 30, "gw_a", "gw_e")).toBe(false)
        expect(["gw_c", "gw_d"]).toContain((await s.telegram.replies.owed("bot"))[0]!.holder)
        // The bot's message its answer streams into.
        await s.telegram.replies.posted("bot", 30, 5)
        expect((await other.telegram.replies.owed("bot"))[0]!.answerId).toBe(5)
        await s.sessions.startTurn(turn.id, "demo")
        await s.sessions.finishTurn({
          id: turn.id,
          sessionId: session.id,
          status: "interrupted",
          error: "interrupted: gone",
          usage: { input: 0, output: 0, cached: 0 },
          steps: 0,
          toolCalls: 0,
          messages: 0,
        })
        expect((await s.telegram.replies.owed("bot"))[0]!.turn).toEqual({
          status: "interrupted",
          error: "interrupted: gone",
        })
        // A second owed reply; settle names the turn it answered: another turn's settle leaves the row.
        await s.telegram.replies.owe("bot", { ...reply, key: 31, messageId: 78 })
        await other.telegram.replies.settle("bot", 30, null)
        await other.telegram.replies.settle("bot", 30, "turn_other")
        expect((await s.telegram.replies.owed("bot")).map((r) => r.key)).toEqual([30, 31])
        await other.telegram.replies.settle("bot", 30, turn.id)
        await other.telegram.replies.settle("bot", 31, null)
        expect(await s.telegram.replies.owed("bot")).toEqual([])
        // A reply whose turn is gone (its session deleted) reads with turn null.
        await s.telegram.replies.accepted("bot", { ...reply, key: 32, turnId: turn.id })
        await s.sessions.remove(session.id)
        expect((await other.telegram.replies.owed("bot"))[0]).toMatchObject({ key: 32, turn: null, pending: false })
      },
    )

    withStore(
      "telegram on the shared channel tables: its inbox, chats and pairings are the channels' rows",
      async (s, again) => {
        const other = await again()
        // Pending in update order (10 after 9, though "10" < "9" as text), under the scope telegram:<bot>.
        expect(await s.telegram.receive("bot", [{ update_id: 10 }, { update_id: 9 }])).toBe(11)
        expect(await other.telegram.pending("bot")).toEqual([{ update_id: 9 }, { update_id: 10 }])
        expect((await s.channels.pending("telegram:bot")).map((e) => e.eventId).sort()).toEqual(["10", "9"])
        expect(await s.channels.pending("telegram:other")).toEqual([])
        // An update handled is remembered as seen: delivered again, it is not handled twice.
        await s.telegram.done("bot", [9])
        expect(await s.channels.receive("telegram:bot", "9", { update_id: 9 })).toBe(false)
        expect(await other.telegram.receive("bot", [{ update_id: 9 }])).toBe(11)
        expect(await s.telegram.pending("bot")).toEqual([{ update_id: 10 }])
        // A chat is the conversation <bot>:<chat> of the scope "telegram" (the sessions' channelKey).
        const session = await s.sessions.create({ provider: "demo", channel: "telegram", channelKey: "bot:5" })
        await s.telegram.setSession("bot", 5, session.id)
        expect(await other.channels.session("telegram", "bot:5")).toBe(session.id)
        await other.channels.setSession("telegram", "bot:6", session.id)
        expect(await s.telegram.session("bot", 6)).toBe(session.id)
        // Pairings: scope telegram:<bot>, the user and chat ids as text; one code space with the channels'.
        const asked = (await s.telegram.pairingFor({ botId: "bot", userId: 7, chatId: -100, name: "Ann" }))!
        const [shared] = await other.channels.pairings("telegram:")
        expect(shared).toMatchObject({
          code: asked.pairing.code,
          scope: "telegram:bot",
          userId: "7",
          conversation: "-100",
        })
        expect(await other.channels.approve(asked.pairing.code, "discord")).toBeNull()
        expect(await other.channels.approve(asked.pairing.code)).toMatchObject({ scope: "telegram:bot" })
        expect(await s.telegram.approved("bot", 7)).toBe(true)
        expect(await s.channels.approved("telegram:bot", "7")).toBe(true)
        expect((await s.telegram.unnotified("bot")).map((p) => [p.userId, p.chatId])).toEqual([[7, -100]])
        // A Telegram code is approved only as a Telegram one.
        const discord = (await s.channels.pairingFor({ scope: "discord:1", userId: "7", conversation: "c", name: "" }))!
        expect(await s.telegram.approve(discord.pairing.code)).toBeNull()
        await s.channels.approve(discord.pairing.code)
        // revoke(user): the user's approvals for every bot, no other channel's.
        const second = (await s.telegram.pairingFor({ botId: "bot2", userId: 7, chatId: 7, name: "" }))!
        await s.telegram.approve(second.pairing.code)
        expect((await s.telegram.list()).map((p) => p.botId).sort()).toEqual(["bot", "bot2"])
        expect(await other.telegram.revoke(7)).toBe(2)
        expect(await s.telegram.approved("bot2", 7)).toBe(false)
        expect(await s.channels.approved("discord:1", "7")).toBe(true)
        expect(await s.telegram.list()).toEqual([])
      },
    )

    withStore("channel inbox: at most once, also after done; done with the turn's message", async (s) => {
      expect(await s.channels.receive("discord:1", "e1", { n: 1 })).toBe(true)
      expect(await s.channels.receive("discord:1", "e1", { n: 1 })).toBe(false)
      expect(await s.channels.receive("discord:1", "e2", { n: 2 })).toBe(true)
      expect(await s.channels.receive("slack:1", "e1", null)).toBe(true)
      expect(await s.channels.pending("discord:1")).toEqual([
        { eventId: "e1", payload: { n: 1 } },
        { eventId: "e2", payload: { n: 2 } },
      ])
      const session = await s.sessions.create({ provider: "demo" })
      await s.sessions.beginTurn({
        sessionId: session.id,
        parts: text("hi"),
        source: "discord",
        accept: { channel: { scope: "discord:1", eventIds: ["e1"] } },
      })
      expect(await s.channels.pending("discord:1")).toEqual([{ eventId: "e2", payload: { n: 2 } }])
      expect(await s.channels.receive("discord:1", "e1", { n: 1 })).toBe(false)
      await s.channels.done("discord:1", ["e2"])
      expect(await s.channels.pending("discord:1")).toEqual([])
      await s.channels.setSession("discord:1", "c1", session.id)
      expect(await s.channels.session("discord:1", "c1")).toBe(session.id)
      expect(await s.channels.session("discord:1", "c2")).toBeNull()
    })

    withStore(
      "inbox accept: of two gateways accepting the same rows at once, one stores the turn; the other stores nothing and is told",
      async (s, again) => {
        // The scale-out chaos run (test/scale/chaos.ts) found Telegram messages stored and answered twice:
        // a gateway starting up replays the inbox rows still pending while the polling gateway handles them.
        const other = await again()
        await s.telegram.receive("bot", [{ update_id: 21 }])
        await s.channels.receive("discord:1", "e9", { n: 9 })
        const session = await s.sessions.create({ provider: "demo" })
        for (const accept of [
          { telegram: { botId: "bot", updateIds: [21] } },
          { channel: { scope: "discord:1", eventIds: ["e9"] } },
        ]) {
          const outcomes = await Promise.allSettled(
            [s, other].map((handle) =>
              handle.sessions.beginTurn({ sessionId: session.id, parts: text("once"), source: "telegram", accept }),
            ),
          )
          expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(["fulfilled", "rejected"])
          const refused = outcomes.find((outcome) => outcome.status === "rejected") as PromiseRejectedResult
          expect(refused.reason).toBeInstanceOf(AlreadyAccepted)
          expect((refused.reason as AlreadyAccepted).code).toBe("AlreadyAccepted")
        }
        // A later accept of a row already done is refused too (a replay after the first one finished).
        await expect(
          s.sessions.beginTurn({
            sessionId: session.id,
            parts: text("again"),
            source: "telegram",
            accept: { telegram: { botId: "bot", updateIds: [21] } },
          }),
        ).rejects.toBeInstanceOf(AlreadyAccepted)
        expect(texts(await s.sessions.history(session.id))).toEqual(["once", "once"])
        expect(await s.telegram.pending("bot")).toEqual([])
        expect(await s.channels.pending("discord:1")).toEqual([])
      },
    )

    withStore(
      "channel state: a value per scope and key, in kv, shared by handles; undefined deletes",
      async (s, again) => {
        const other = await again()
        expect(await s.channels.stateGet("plugin:loop", "cursor")).toBeUndefined()
        await s.channels.stateSet("plugin:loop", "cursor", { after: 2, note: "é \u0000" })
        expect(await other.channels.stateGet("plugin:loop", "cursor")).toEqual({ after: 2, note: "é \u0000" })
        expect(await other.channels.stateGet("plugin:other", "cursor")).toBeUndefined()
        expect(await s.sessions.kv.get("channel-state/plugin:loop/cursor")).toBe('{"after":2,"note":"é \\u0000"}')
        await other.channels.stateSet("plugin:loop", "cursor", 3)
        expect(await s.channels.stateGet("plugin:loop", "cursor")).toBe(3)
        const big = await s.channels.stateSet("plugin:loop", "big", "x".repeat(64 * 1024)).catch((e) => e)
        expect(big).toBeInstanceOf(RangeError)
        await s.channels.stateSet("plugin:loop", "cursor", undefined)
        expect(await other.channels.stateGet("plugin:loop", "cursor")).toBeUndefined()
      },
    )

    withStore("pairing codes: one open code per user, approval, revoke, limits", async (s, again) => {
      // A user asking on two gateways at once gets one code.
      const other = await again()
      const racing = await Promise.all(
        [s, other, s, other].map((store) =>
          store.channels.pairingFor({ scope: "x:1", userId: "u", conversation: "c", name: "" }),
        ),
      )
      expect(new Set(racing.map((r) => r!.pairing.code)).size).toBe(1)
      expect(racing.filter((r) => r!.created)).toHaveLength(1)
      const first = (await s.telegram.pairingFor({ botId: "bot", userId: 1, chatId: 1, name: "Ann" }))!
      expect(first.created).toBe(true)
      expect(first.pairing.code).toMatch(/^[A-HJKMNP-Z2-9]{8}$/)
      const same = (await s.telegram.pairingFor({ botId: "bot", userId: 1, chatId: 1, name: "Ann" }))!
      expect(same).toEqual({ pairing: first.pairing, created: false })
      expect(await s.telegram.approved("bot", 1)).toBe(false)
      expect(await s.telegram.approve("NOPE1234")).toBeNull()
      const approved = (await s.telegram.approve(` ${first.pairing.code.toLowerCase()} `))!
      expect(approved.approvedAt).not.toBeNull()
      expect(await s.telegram.approve(first.pairing.code)).toBeNull()
      expect(await s.telegram.approved("bot", 1)).toBe(true)
      expect((await s.telegram.unnotified("bot")).map((p) => p.code)).toEqual([first.pairing.code])
      await s.telegram.notified(first.pairing.code)
      expect(await s.telegram.unnotified("bot")).toEqual([])
      expect((await s.telegram.list()).map((p) => p.code)).toEqual([first.pairing.code])
      expect(await s.telegram.revoke(1)).toBe(1)
      expect(await s.telegram.approved("bot", 1)).toBe(false)

      const c = (await s.channels.pairingFor({ scope: "discord:9", userId: "u", conversation: "c", name: "Bo" }))!
      expect(c.created).toBe(true)
      expect(await s.channels.approve(c.pairing.code, "slack")).toBeNull()
      expect((await s.channels.approve(c.pairing.code, "discord"))!.scope).toBe("discord:9")
      expect(await s.channels.approved("discord:9", "u")).toBe(true)
      expect((await s.channels.pairings("discord:")).map((p) => p.code)).toEqual([c.pairing.code])
      expect(await s.channels.pairings("slack:")).toEqual([])
      expect((await s.channels.unnotified("discord:9")).length).toBe(1)
      await s.channels.notified(c.pairing.code)
      expect(await s.channels.unnotified("discord:9")).toEqual([])
      expect(await s.channels.revoke("discord:9", "u")).toBe(1)
      // A full scope (50 open codes) expires its oldest open code for the next stranger.
      const codes: string[] = []
      for (let i = 0; i < 51; i++)
        codes.push(
          (await s.channels.pairingFor({ scope: "slack:1", userId: `x${i}`, conversation: "c", name: "" }))!.pairing
            .code,
        )
      expect(new Set(codes).size).toBe(51)
      expect(await s.channels.approve(codes[0]!)).toBeNull()
      expect((await s.channels.approve(codes[1]!))!.userId).toBe("x1")
    })

    withStore("leases: two holders, only one wins; the other takes over after expiry or release", async (s, again) => {
      const other = await again()
      // Eight contenders at once on two handles (two gateways), for a lease held before and released:
      // exactly one gets it.
      expect((await s.telegram.lease("race", "Z", 60_000)).ok).toBe(true)
      await s.telegram.release("race", "Z")
      const contenders = ["A", "B", "C", "D", "E", "F", "G", "H"]
      const results = await Promise.all(
        contenders.map((holder, i) => (i % 2 ? other : s).telegram.lease("race", holder, 60_000)),
      )
      expect(results.filter((r) => r.ok)).toHaveLength(1)
      const held = contenders[results.findIndex((r) => r.ok)]
      for (const r of results) if (!r.ok) expect(r.holder).toBe(held!)
      const [a, b] = await Promise.all([s.telegram.lease("bot", "A", 60_000), other.telegram.lease("bot", "B", 60_000)])
      expect([a, b].filter((r) => r.ok)).toHaveLength(1)
      const [winner, loser, loserStore] = a.ok ? ["A", "B", other] : ["B", "A", s]
      expect(await loserStore.telegram.lease("bot", loser, 60_000)).toMatchObject({ ok: false, holder: winner })
      // The holder renews.
      expect((await (loserStore === s ? other : s).telegram.lease("bot", winner, 30, () => true)).ok).toBe(true)
      await Bun.sleep(40)
      expect((await loserStore.telegram.lease("bot", loser, 60_000)).ok).toBe(true)
      await loserStore.telegram.release("bot", winner) // not the holder: no effect
      expect(await s.telegram.lease("bot", winner, 60_000)).toMatchObject({ ok: false, holder: loser })
      await loserStore.telegram.release("bot", loser)
      expect((await s.telegram.lease("bot", winner, 60_000)).ok).toBe(true)
      // A holder on this host whose process is gone is replaced at once.
      expect((await s.telegram.lease("bot", loser, 60_000, (holder) => holder !== winner)).ok).toBe(true)
    })

    withStore("session leases: of eight contenders on four handles one holds it; renew, release", async (s, again) => {
      const handles = [s, await again(), await again(), await again()]
      const contenders = ["A", "B", "C", "D", "E", "F", "G", "H"]
      // Twice: a lease never taken, then the same lease after its holder released it.
      for (const round of [1, 2]) {
        const results = await Promise.all(
          contenders.map((holder, i) => handles[i % handles.length]!.leases.acquire("ses_1", holder, 60_000)),
        )
        expect({ round, winners: results.filter((r) => r.ok).length }).toEqual({ round, winners: 1 })
        const held = contenders[results.findIndex((r) => r.ok)]!
        for (const r of results) if (!r.ok) expect(r.holder).toBe(held)
        expect((await handles[3]!.leases.holder("ses_1"))!.holder).toBe(held)
        // The holder renews, on any handle; nobody else can.
        expect((await handles[1]!.leases.acquire("ses_1", held, 60_000)).ok).toBe(true)
        expect(await s.leases.renew("ses_1", held, 60_000)).toBe(true)
        const other = contenders.find((c) => c !== held)!
        expect(await s.leases.renew("ses_1", other, 60_000)).toBe(false)
        expect(await s.leases.release("ses_1", other)).toBe(false)
        expect((await s.leases.holder("ses_1"))!.holder).toBe(held)
        expect(await handles[2]!.leases.release("ses_1", held)).toBe(true)
        expect(await s.leases.holder("ses_1")).toBeNull()
        expect(await s.leases.renew("ses_1", held, 60_000)).toBe(false)
      }
      // Leases of different sessions are independent.
      expect((await s.leases.acquire("ses_2", "A", 60_000)).ok).toBe(true)
      expect((await handles[1]!.leases.acquire("ses_3", "B", 60_000)).ok).toBe(true)
      expect(await s.leases.acquire("ses_3", "A", 60_000)).toMatchObject({ ok: false, holder: "B" })
    })

    withStore(
      "session leases: an expired lease is taken over, and so is a gone gateway's; a live one's is not",
      async (s, again) => {
        const other = await again()
        expect((await s.leases.acquire("ses_1", "A", 30)).ok).toBe(true)
        expect(await other.leases.acquire("ses_1", "B", 60_000)).toMatchObject({ ok: false, holder: "A" })
        await Bun.sleep(40)
        expect(await s.leases.holder("ses_1")).toBeNull()
        expect((await other.leases.acquire("ses_1", "B", 60_000)).ok).toBe(true)
        // The old holder learns it lost the lease when it renews.
        expect(await s.leases.renew("ses_1", "A", 60_000)).toBe(false)
        expect((await s.leases.holder("ses_1"))!.holder).toBe("B")

        // Gateways in the registry: a live holder's lease stays its own, judged or not.
        await s.gateways.register("gw-live")
        await other.gateways.register("gw-dead")
        expect((await other.leases.acquire("ses_2", "gw-dead", 60_000)).ok).toBe(true)
        expect((await s.leases.acquire("ses_2", "gw-live", 60_000, { staleMs: 60_000 })).ok).toBe(false)
        // gw-dead stops beating: 50 ms later it is stale for a limit of 25 ms, and its lease is taken over
        // (only by a caller that asks the registry); gw-live, which beat just now, is not stale.
        await Bun.sleep(50)
        await s.gateways.beat("gw-live")
        expect(await s.leases.acquire("ses_2", "gw-live", 60_000)).toMatchObject({ ok: false, holder: "gw-dead" })
        expect((await s.leases.acquire("ses_2", "gw-live", 60_000, { staleMs: 25 })).ok).toBe(true)
        expect(await other.leases.renew("ses_2", "gw-dead", 60_000)).toBe(false)
        // A holder no longer registered (its row removed: it stopped, or a peer pruned it) is gone at once.
        expect((await other.leases.acquire("ses_3", "gw-dead", 60_000)).ok).toBe(true)
        await other.gateways.remove("gw-dead")
        const taken = await s.leases.acquire("ses_3", "gw-live", 60_000, { staleMs: 60_000 })
        expect(taken.ok).toBe(true)
        expect((await other.leases.holder("ses_3"))!.holder).toBe("gw-live")
      },
    )

    withStore(
      "schedules: stored specs, and a due run claimed exactly once by two racing claimers",
      async (s, again) => {
        const schedule = { id: "daily", prompt: "report", every: "1d" } as never
        const stored = await s.schedules.insert(schedule, "api", 1000)
        expect(stored).toMatchObject({ id: "daily", prompt: "report", origin: "api", createdAt: 1000, updatedAt: 1000 })
        expect(await s.schedules.count()).toBe(1)
        const updated = await s.schedules.update({ ...stored, prompt: "weekly report" } as never, 2000)
        expect(updated).toMatchObject({ prompt: "weekly report", updatedAt: 2000, createdAt: 1000 })
        expect((await s.schedules.list()).map((x) => x.id)).toEqual(["daily"])
        const other = await again()
        for (const due of [10_000, 20_000, 30_000]) {
          const claims = await Promise.all([
            s.schedules.runs.claim("daily", due),
            other.schedules.runs.claim("daily", due),
            s.schedules.runs.claim("daily", due),
            other.schedules.runs.claim("daily", due),
          ])
          expect(claims.filter(Boolean)).toHaveLength(1)
        }
        // An older due time is never claimed again.
        expect(await s.schedules.runs.claim("daily", 20_000)).toBe(false)
        // With a gap (an `every` interval), a due time less than a whole gap after the last is not claimed.
        expect(await other.schedules.runs.claim("hourly", 100_000, undefined, 1000)).toBe(true)
        expect(await s.schedules.runs.claim("hourly", 100_999, undefined, 1000)).toBe(false)
        expect(await s.schedules.runs.claim("hourly", 101_000, undefined, 1000)).toBe(true)
        expect(await s.schedules.runs.interruptRunning({ owner: "nobody" })).toEqual([])
        await s.schedules.runs.finish("hourly", 101_000, "completed", null)
        expect(await s.schedules.runs.get("daily")).toMatchObject({ lastDue: 30_000, lastStatus: "running" })
        const session = await s.sessions.create({ provider: "demo" })
        await s.schedules.runs.setSession("daily", session.id)
        await s.schedules.runs.finish("daily", 30_000, "completed", null)
        expect(await other.schedules.runs.get("daily")).toMatchObject({
          lastStatus: "completed",
          sessionId: session.id,
        })
        await s.schedules.runs.claim("daily", 40_000)
        expect(await s.schedules.runs.interruptRunning()).toEqual([{ id: "daily", due: 40_000, why: null }])
        expect(await s.schedules.runs.get("daily")).toMatchObject({ lastStatus: "interrupted" })
        expect(await s.schedules.remove("daily")).toBe(true)
        expect(await s.schedules.runs.get("daily")).toBeNull()
        expect(await s.schedules.get("daily")).toBeNull()
      },
    )

    withStore("jobs: running until the first ending; notified once", async (s) => {
      const session = await s.sessions.create({ provider: "demo" })
      const job = await s.jobs.create({
        kind: "shell",
        sessionId: session.id,
        title: "sleep 1",
        outputFile: (id) => `/tmp/${id}`,
      })
      expect(job).toMatchObject({ status: "running", outputFile: `/tmp/${job.id}`, pid: null })
      await s.jobs.setPid(job.id, 123)
      await s.jobs.setChild(job.id, "ses_child", "p1")
      expect(await s.jobs.get(job.id)).toMatchObject({ pid: 123, childSessionId: "ses_child", provider: "p1" })
      expect((await s.jobs.running()).map((j) => j.id)).toEqual([job.id])
      expect(await s.jobs.finish(job.id, { status: "completed", exitCode: 0 })).toBe(true)
      expect(await s.jobs.finish(job.id, { status: "failed", error: "late" })).toBe(false)
      expect((await s.jobs.unnotified()).map((j) => j.id)).toEqual([job.id])
      await s.jobs.markNotified(job.id)
      expect(await s.jobs.unnotified()).toEqual([])
      expect((await s.jobs.ofSession(session.id)).map((j) => j.status)).toEqual(["completed"])
      expect(await s.jobs.list()).toHaveLength(1)
    })

    withStore(
      "job ownership: a gateway sees and recovers only its own jobs or a gone gateway's, each once",
      async (s, again) => {
        const a = await again("gw-a")
        const b = await again("gw-b")
        const c = await again("gw-c")
        for (const [store, id] of [
          [a, "gw-a"],
          [b, "gw-b"],
          [c, "gw-c"],
        ] as const)
          await store.gateways.register(id)
        const session = await s.sessions.create({ provider: "demo" })
        const job = (store: Store, title: string) => store.jobs.create({ kind: "shell", sessionId: session.id, title })
        const mine = await job(a, "a's")
        const theirs = await job(b, "b's")
        const ended = await job(b, "b's, ended")
        const orphan = await job(s, "no owner")
        await b.jobs.finish(ended.id, { status: "completed", exitCode: 0 })
        const ids = (jobs: { id: string }[]) => jobs.map((j) => j.id).sort()
        const gone = (self: string) => ({ gone: { self, staleMs: 60_000 } })
        expect(ids(await a.jobs.running())).toEqual(ids([mine, theirs, orphan]))
        expect(ids(await a.jobs.running({ owner: "gw-a" }))).toEqual([mine.id])
        expect(ids(await b.jobs.running({ owner: "gw-b" }))).toEqual([theirs.id])
        // gw-b is alive (registered, beating, this process): only the job without an owner is gone.
        expect(ids(await a.jobs.running(gone("gw-a")))).toEqual([orphan.id])
        expect(await a.jobs.claimUnnotified(gone("gw-a"))).toEqual([])
        const first = await a.jobs.recoverInterrupted("its gateway is gone", gone("gw-a"))
        expect(first.map((j) => [j.id, j.status, j.why])).toEqual([[orphan.id, "interrupted", "no owner recorded"]])
        expect(await a.jobs.get(mine.id)).toMatchObject({ status: "running" })
        expect(await b.jobs.get(theirs.id)).toMatchObject({ status: "running" })
        // gw-b stops without ending its jobs (kill -9): gw-a and gw-c recover at once; each job ends once,
        // each waiting note is taken once, and what one took is its own (no longer a gone gateway's).
        await b.gateways.remove("gw-b")
        const [byA, byC] = await Promise.all([
          a.jobs.recoverInterrupted("its gateway is gone", gone("gw-a")),
          c.jobs.recoverInterrupted("its gateway is gone", gone("gw-c")),
        ])
        expect(ids([...byA, ...byC])).toEqual([theirs.id])
        expect([...byA, ...byC][0]!.why).toBe("gateway gw-b is not registered")
        const taker = byA.length ? a : c
        const [notesA, notesC] = await Promise.all([
          a.jobs.claimUnnotified(gone("gw-a")),
          c.jobs.claimUnnotified(gone("gw-c")),
        ])
        expect(ids([...notesA, ...notesC])).toEqual([ended.id])
        expect(await a.jobs.claimUnnotified(gone("gw-a"))).toEqual([])
        expect(await c.jobs.claimUnnotified(gone("gw-c"))).toEqual([])
        expect(await taker.jobs.get(theirs.id)).toMatchObject({ status: "interrupted", error: "its gateway is gone" })
        // A gateway's own stop: its running jobs, nobody else's.
        const own = await a.jobs.recoverInterrupted("the gateway stopped", { owner: "gw-a" })
        expect(own.map((j) => [j.id, j.why])).toEqual([[mine.id, null]])
        expect(await s.jobs.running()).toEqual([])
      },
    )

    withStore(
      "schedule-run ownership: a run is interrupted by its own gateway's stop or once its gateway is gone",
      async (s, again) => {
        const a = await again("gw-a")
        const b = await again("gw-b")
        await a.gateways.register("gw-a")
        await b.gateways.register("gw-b")
        expect(await a.schedules.runs.claim("ra", 1000)).toBe(true)
        expect(await b.schedules.runs.claim("rb", 2000)).toBe(true)
        expect(await s.schedules.runs.claim("rs", 3000)).toBe(true) // a store with no owner
        const gone = { gone: { self: "gw-a", staleMs: 60_000 } }
        expect(await a.schedules.runs.interruptRunning(gone)).toEqual([
          { id: "rs", due: 3000, why: "no owner recorded" },
        ])
        expect(await a.schedules.runs.interruptRunning(gone)).toEqual([])
        expect((await b.schedules.runs.get("rb"))!.lastStatus).toBe("running")
        await b.gateways.remove("gw-b")
        const [one, two] = await Promise.all([
          a.schedules.runs.interruptRunning(gone),
          s.schedules.runs.interruptRunning({ gone: { self: "gw-x", staleMs: 60_000 } }),
        ])
        expect([...one, ...two]).toEqual([{ id: "rb", due: 2000, why: "gateway gw-b is not registered" }])
        expect(await s.schedules.runs.get("rb")).toMatchObject({ lastStatus: "interrupted", lastDue: 2000 })
        expect((await s.schedules.runs.get("ra"))!.lastStatus).toBe("running")
        // Another gateway's stop takes nothing of gw-a's; gw-a's own stop takes its run.
        expect(await a.schedules.runs.interruptRunning({ owner: "gw-b" })).toEqual([])
        expect(await a.schedules.runs.interruptRunning({ owner: "gw-a" })).toEqual([{ id: "ra", due: 1000, why: null }])
      },
    )

    withStore("search: words, phrases, prefixes, filters; newest first; same hit shape", async (s) => {
      const a = await s.sessions.create({ provider: "demo", title: "Trip" })
      const b = await s.sessions.create({ provider: "demo", title: "Work" })
      const said = async (sessionId: string, role: "user" | "assistant", value: string) =>
        s.sessions.append({ sessionId, turnId: null, role, parts: text(value) })
      await said(a.id, "user", "We should visit the mountains in spring")
      await said(a.id, "assistant", "The mountain huts open in May")
      await said(b.id, "user", "The quarterly report is due Friday")
      await s.sessions.append({ sessionId: b.id, turnId: null, role: "tool", parts: text("mountains everywhere") })
      const hits = await s.search.search({ text: "mountains", limit: 10 })
      expect(hits.map((h) => h.sessionTitle)).toEqual(["Trip", "Trip"])
      expect(hits.map((h) => h.role)).toEqual(["assistant", "user"])
      expect(Object.keys(hits[0]!).sort()).toEqual(["createdAt", "role", "seq", "sessionId", "sessionTitle", "snippet"])
      expect(hits[1]!.snippet).toContain("«mountains»")
      expect((await s.search.search({ text: "quarter*", limit: 10 })).map((h) => h.sessionId)).toEqual([b.id])
      expect(await s.search.search({ text: '"report is due"', limit: 10 })).toHaveLength(1)
      expect(await s.search.search({ text: "mountains friday", limit: 10 })).toHaveLength(0)
      expect(await s.search.search({ text: "mountains friday", any: true, limit: 10 })).toHaveLength(3)
      expect(await s.search.search({ text: "mountains", role: "user", limit: 10 })).toHaveLength(1)
      expect(await s.search.search({ text: "mountains", sessionId: b.id, limit: 10 })).toHaveLength(0)
      expect(await s.search.search({ text: "mountains", limit: 1 })).toHaveLength(1)
      expect(await s.search.search({ text: "mountains", limit: 10, order: "relevant" })).toHaveLength(2)
      expect(await s.search.search({ text: "!!! ???", limit: 10 })).toEqual([])
    })

    withStore("event ids: one increasing sequence across handles on the same database", async (s, again) => {
      const other = await again()
      const first = await s.events.reserve(10)
      const second = await other.events.reserve()
      const third = await s.events.reserve()
      expect(second).toBeGreaterThanOrEqual(first + 10)
      expect(third).toBeGreaterThan(second)
      // Above the bus's own start (Date.now() * 1000), so ids never go backwards after the switch.
      expect(first).toBeGreaterThan((Date.now() - 60_000) * 1000)
      // Four handles (four gateways) reserving at once: every range its own, each handle's increasing.
      const handles = [s, other, await again(), await again()]
      const ranges = await Promise.all(
        handles.map(async (handle, h) => {
          const mine: [number, number][] = []
          for (let i = 0; i < 25; i++) {
            const count = 1 + ((h + i) % 3)
            mine.push([await handle.events.reserve(count), count])
          }
          for (let i = 1; i < mine.length; i++)
            expect(mine[i]![0]).toBeGreaterThanOrEqual(mine[i - 1]![0] + mine[i - 1]![1])
          return mine
        }),
      )
      const all = ranges.flat().sort((a, b) => a[0] - b[0])
      expect(all[0]![0]).toBeGreaterThan(third)
      for (let i = 1; i < all.length; i++) expect(all[i]![0]).toBeGreaterThanOrEqual(all[i - 1]![0] + all[i - 1]![1])
    })

    withStore(
      "event announcements: four handles at once; every listener hears every id once, in id order; long bodies stored",
      async (s, again) => {
        const handles = [s, await again(), await again(), await again()]
        // Each listener's events in arrival order; and the raw notices, to see which bodies were stored.
        const heard = handles.slice(0, 2).map(() => [] as { id: number; body: string }[])
        const storedIds: number[] = []
        let wake = () => {}
        for (const [n, handle] of handles.slice(0, 2).entries())
          await handle.events.listen("drost.bus.test", (events) => {
            heard[n]!.push(...events)
            wake()
          })
        await s.notices.listen("drost.bus.test", (payload) => {
          const { first, bodies } = unpack(payload)
          for (const [index, body] of bodies.entries()) if (body === null) storedIds.push(first + index)
        })
        const sent = new Map<number, string>()
        await Promise.all(
          handles.map(async (handle, h) => {
            let last = 0
            for (let batch = 0; batch < 20; batch++) {
              // Small bodies, a batch too long for one notice (ten of 1.5 KB), and bodies longer than any
              // notice (20 KB of two-byte characters: 40 KB), as a tool's output can be.
              const bodies =
                batch % 7 === 3
                  ? Array.from({ length: 10 }, (_, i) => JSON.stringify({ h, batch, i, pad: "p".repeat(1500) }))
                  : batch % 5 === 4
                    ? [JSON.stringify({ h, batch, big: "é".repeat(20_000) }), JSON.stringify({ h, batch, after: 1 })]
                    : Array.from({ length: 1 + ((h + batch) % 4) }, (_, i) => JSON.stringify({ h, batch, i }))
              const first = await handle.events.announce("drost.bus.test", bodies)
              expect(first).toBeGreaterThan(last)
              last = first + bodies.length - 1
              for (const [index, body] of bodies.entries()) sent.set(first + index, body)
            }
          }),
        )
        while (heard.some((got) => got.length < sent.size)) await new Promise<void>((done) => (wake = done))
        const ids = [...sent.keys()].sort((a, b) => a - b)
        for (const got of heard) {
          // Exactly the announced ids, ascending in arrival order (so a replay "after id X" misses nothing),
          // stored bodies read back in their place.
          expect(got.map((item) => item.id)).toEqual(ids)
          for (const { id, body } of got) expect(body).toBe(sent.get(id)!)
        }
        expect(storedIds.length).toBe(16) // batches 4, 9, 14 and 19 of each handle have one body over the limit
        // Read from any handle; an id with nothing stored reads as null.
        expect(await handles[3]!.events.body(storedIds[0]!)).toBe(sent.get(storedIds[0]!)!)
        expect(await s.events.body(ids[0]!)).toBeNull()
        // The same sequence as reserve: a reservation after them is above every announced id.
        expect(await s.events.reserve()).toBeGreaterThan(ids.at(-1)!)
        expect(await s.events.announce("drost.bus.test", [])).toBe(0)
        for (const bad of [[""], ["two\nlines"], ["nul \u0000"]])
          expect(
            await s.events.announce("drost.bus.test", bad).then(
              () => null,
              (e) => e.name,
            ),
          ).toBe("Invalid")
        expect(
          await s.events.announce("c".repeat(64), ["x"]).then(
            () => null,
            (e) => e.name,
          ),
        ).toBe("Invalid")
      },
    )

    withStore(
      "notices: a notify on one handle reaches the listeners of every handle on the database, in order",
      async (s, again) => {
        const other = await again()
        const third = await again()
        /** A listener's payloads, and a wait for the n-th. */
        const heard = () => {
          const got: string[] = []
          const waiting: { n: number; done: () => void }[] = []
          const listener = (payload: string) => {
            got.push(payload)
            for (const w of waiting.filter((w) => got.length >= w.n)) w.done()
          }
          const until = (n: number) =>
            got.length >= n ? Promise.resolve() : new Promise<void>((done) => waiting.push({ n, done }))
          return { got, listener, until }
        }
        const onS = heard()
        const onOther = heard()
        const onOtherB = heard()
        const onThird = heard()
        let listened = 0
        const subS = await s.notices.listen("drost.turns", onS.listener, () => listened++)
        expect(listened).toBe(1)
        const subOther = await other.notices.listen("drost.turns", onOther.listener)
        await other.notices.listen("drost.cache", onOtherB.listener)
        await third.notices.listen("drost.turns", onThird.listener)
        for (const payload of ["1", "2", "é🦀 three"]) await third.notices.notify("drost.turns", payload)
        await third.notices.notify("drost.cache", "x")
        await Promise.all([onS.until(3), onOther.until(3), onThird.until(3), onOtherB.until(1)])
        // Every handle, the notifier's own included, in the order sent.
        for (const { got } of [onS, onOther, onThird]) expect(got).toEqual(["1", "2", "é🦀 three"])
        expect(onOtherB.got).toEqual(["x"])
        // After unlisten nothing more arrives there: "y" on the other channel comes after "4" from the same
        // notifier, so once "y" is heard a "4" would have been too.
        await subOther.unlisten()
        await subOther.unlisten() // idempotent
        await third.notices.notify("drost.turns", "4")
        await third.notices.notify("drost.cache", "y")
        await Promise.all([onOtherB.until(2), onS.until(4)])
        expect(onOther.got).toEqual(["1", "2", "é🦀 three"])
        expect(onS.got.at(-1)).toBe("4")
        await subS.unlisten()

        // A store on another database hears nothing of this one's.
        const elsewhere = await fixture.fresh()
        try {
          const onElsewhere = heard()
          await elsewhere.store.notices.listen("drost.turns", onElsewhere.listener)
          await s.notices.notify("drost.turns", "not yours")
          await onThird.until(5)
          await elsewhere.store.notices.notify("drost.turns", "own")
          await onElsewhere.until(1)
          expect(onElsewhere.got).toEqual(["own"])
        } finally {
          await elsewhere.store.close()
        }

        // A listener that throws does not keep the others from hearing.
        const after = heard()
        await other.notices.listen("drost.fail", () => {
          throw new Error("listener failed on purpose")
        })
        await other.notices.listen("drost.fail", after.listener)
        await s.notices.notify("drost.fail", "z")
        await after.until(1)
        expect(after.got).toEqual(["z"])

        // PostgreSQL's limits on both engines: a channel of 1-63 bytes, a payload of at most 7999 bytes.
        const big = "é".repeat(3999) + "x" // 7999 bytes
        await s.notices.notify("drost.cache", big)
        await onOtherB.until(3)
        expect(onOtherB.got[2]).toBe(big)
        for (const bad of [
          () => s.notices.notify("drost.cache", `${big}x`),
          () => s.notices.notify("", "x"),
          () => s.notices.notify("c".repeat(64), "x"),
          () => s.notices.listen("c".repeat(64), () => {}),
          () => s.notices.notify("drost.cache", "nul \u0000"),
        ])
          expect(
            await bad().then(
              () => null,
              (e) => e.name,
            ),
          ).toBe("Invalid")
      },
    )

    withStore(
      "portable: export gives the stored rows; import makes a new session with new ids in one transaction; overview",
      async (s) => {
        const session = await s.sessions.create({ provider: "demo", title: "Trip plans", metadata: { k: 1 } })
        const done = await s.sessions.beginTurn({ sessionId: session.id, parts: text("plan a trip"), source: "api" })
        await s.sessions.startTurn(done.turn.id, "p1")
        const usage = { input: 3, output: 4, cached: 1 }
        await s.sessions.append({
          sessionId: session.id,
          turnId: done.turn.id,
          role: "assistant",
          parts: text("to the sea, ünïcode"),
          provider: "p1",
          usage,
        })
        const end = { sessionId: session.id, status: "completed" as const, usage, steps: 1, toolCalls: 0, messages: 1 }
        await s.sessions.finishTurn({ id: done.turn.id, ...end })
        await Bun.sleep(2)
        await s.sessions.beginTurn({ sessionId: session.id, parts: text("and back?"), source: "telegram" })
        await s.summaries.add({ sessionId: session.id, uptoSeq: done.message.seq, text: "a trip", source: "model" })
        await s.summaries.add({ sessionId: session.id, uptoSeq: 0, text: "from before", source: "continuity" })
        await Bun.sleep(2)
        const empty = await s.sessions.create({ provider: "demo" })

        const doc = await s.portable.export(session.id)
        expect(doc).toMatchObject({ format: EXPORT_FORMAT, version: EXPORT_VERSION })
        // The stored columns, named and ordered as in SQLite, numbers as numbers (PostgreSQL's BIGINTs too).
        expect(Object.keys(doc.session)).toEqual([...COLUMNS.sessions])
        for (const [rows, columns] of [
          [doc.messages, COLUMNS.messages],
          [doc.turns, COLUMNS.turns],
          [doc.summaries, COLUMNS.summaries],
        ] as const)
          for (const row of rows) expect(Object.keys(row)).toEqual([...columns])
        const stored = await s.sessions.require(session.id)
        expect(doc.session).toEqual({
          id: session.id,
          title: "Trip plans",
          created_at: session.createdAt,
          updated_at: stored.updatedAt,
          provider: "demo",
          pending_provider: null,
          channel: null,
          channel_key: null,
          metadata: '{"k":1}',
          message_count: stored.messageCount,
          usage_input: 3,
          usage_output: 4,
          usage_cached: 1,
        })
        expect(doc.messages.map((m) => [m.role, JSON.parse(String(m.parts))[0].text, typeof m.seq])).toEqual([
          ["user", "plan a trip", "number"],
          ["assistant", "to the sea, ünïcode", "number"],
          ["user", "and back?", "number"],
        ])
        expect(doc.messages[1]).toMatchObject({ provider: "p1", usage: JSON.stringify(usage), turn_id: done.turn.id })
        expect(doc.turns.map((t) => [t.id, t.status, t.steps, typeof t.created_at])).toEqual([
          [done.turn.id, "completed", 1, "number"],
          [expect.any(String), "queued", 0, "number"],
        ])
        expect(doc.summaries.map((x) => [x.upto_seq, x.text])).toEqual([
          [0, "from before"],
          [done.message.seq, "a trip"],
        ])

        const count = await s.sessions.count()
        const imported = await s.portable.import(JSON.parse(JSON.stringify(doc)))
        expect(imported.messages).toBe(3)
        expect(imported.sessionId).not.toBe(session.id)
        const copy = await s.sessions.require(imported.sessionId)
        expect(copy).toMatchObject({ title: "Trip plans", provider: "demo", channelKey: null, messageCount: 3 })
        expect(copy.metadata).toEqual({ k: 1, importedFrom: session.id })
        const copied = await s.sessions.messages(imported.sessionId)
        expect(copied.map(({ role, parts, provider, usage: u }) => ({ role, parts, provider, usage: u }))).toEqual(
          (await s.sessions.messages(session.id)).map(({ role, parts, provider, usage: u }) => ({
            role,
            parts,
            provider,
            usage: u,
          })),
        )
        expect(copied.some((m) => doc.messages.some((o) => o.id === m.id))).toBe(false)
        // New turn ids, the messages re-pointed at them; the turn that was open arrives interrupted.
        const turns = await s.sessions.turns(imported.sessionId)
        expect(turns.map((t) => t.status).sort()).toEqual(["completed", "interrupted"])
        const completed = turns.find((t) => t.status === "completed")!
        expect(completed.id).not.toBe(done.turn.id)
        expect(copied[1]!.turnId).toBe(completed.id)
        expect(copied[0]!.turnId).toBe(completed.id)
        // Summaries re-pointed at the imported messages.
        expect((await s.summaries.list(imported.sessionId)).map((x) => [x.uptoSeq, x.text])).toEqual([
          [0, "from before"],
          [copied[0]!.seq, "a trip"],
        ])

        // Newest first, with each session's messages and the characters of their stored parts.
        const chars = doc.messages.reduce((sum, m) => sum + String(m.parts).length, 0)
        expect(await s.portable.overview()).toEqual([
          { id: copy.id, title: "Trip plans", updatedAt: copy.updatedAt, messages: 3, bytes: chars },
          { id: empty.id, title: "", updatedAt: empty.updatedAt, messages: 0, bytes: 0 },
          { id: session.id, title: "Trip plans", updatedAt: stored.updatedAt, messages: 3, bytes: chars },
        ])

        expect(await s.portable.export("ses_missing").catch((e) => e)).toBeInstanceOf(NotFound)
        const refused = async (document: unknown) =>
          s.portable.import(document).then(
            () => "imported",
            (e: Error) => `${e.name}: ${e.message}`,
          )
        expect(await refused({ ...doc, version: 99 })).toBe(
          "Invalid: unsupported export version 99 (this drost reads 1)",
        )
        expect(await refused({ format: "other" })).toStartWith("Invalid: not a session export")
        // A bad message after good rows: nothing of it is stored.
        const broken = { ...doc, messages: [...doc.messages, { role: "user" }] }
        expect(await refused(broken)).toBe("Invalid: not a session export: a message lacks role or parts")
        expect(await s.sessions.count()).toBe(count + 1)
      },
    )
  })
}
