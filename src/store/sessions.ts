/**
 * Sessions, messages and turns. The only place with SQL for them; every write is an IMMEDIATE
 * transaction so a read-then-write never fails with SQLITE_BUSY_SNAPSHOT under a second writer.
 */
import type { Database } from "bun:sqlite"
import { NotFound } from "../core/error.ts"
import { Id } from "../core/id.ts"
import { immediate } from "./db.ts"
import { classify, StorageFull, StorageUnavailable } from "./fault.ts"
import { createIndexer, INDEX_BATCH } from "./search.ts"
import type { StoreHealth } from "./guard.ts"
import type { Message, Part, Role, Usage } from "../core/message.ts"

export type TurnStatus = "queued" | "running" | "completed" | "failed" | "interrupted"

export interface Session {
  id: string
  title: string
  createdAt: number
  updatedAt: number
  provider: string
  pendingProvider: string | null
  channel: string | null
  channelKey: string | null
  metadata: Record<string, unknown>
  messageCount: number
  usage: Usage
}

export interface Turn {
  id: string
  sessionId: string
  status: TurnStatus
  source: string
  provider: string | null
  error: string | null
  usage: Usage | null
  steps: number
  toolCalls: number
  createdAt: number
  startedAt: number | null
  endedAt: number | null
}

interface SessionRow {
  id: string
  title: string
  created_at: number
  updated_at: number
  provider: string
  pending_provider: string | null
  channel: string | null
  channel_key: string | null
  metadata: string
  message_count: number
  usage_input: number
  usage_output: number
  usage_cached: number
}
interface MessageRow {
  seq: number
  id: string
  session_id: string
  turn_id: string | null
  role: Role
  parts: string
  provider: string | null
  usage: string | null
  created_at: number
}
interface TurnRow {
  id: string
  session_id: string
  status: TurnStatus
  source: string
  provider: string | null
  error: string | null
  usage: string | null
  steps: number
  tool_calls: number
  created_at: number
  started_at: number | null
  ended_at: number | null
  /** The gateway that accepted the turn (gateways.ts); NULL for turns from before owners were recorded. */
  owner: string | null
}

const toSession = (row: SessionRow): Session => ({
  id: row.id,
  title: row.title,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  provider: row.provider,
  pendingProvider: row.pending_provider,
  channel: row.channel,
  channelKey: row.channel_key,
  metadata: JSON.parse(row.metadata),
  messageCount: row.message_count,
  usage: { input: row.usage_input, output: row.usage_output, cached: row.usage_cached },
})
const toMessage = (row: MessageRow): Message => ({
  id: row.id,
  seq: row.seq,
  sessionId: row.session_id,
  turnId: row.turn_id,
  role: row.role,
  parts: JSON.parse(row.parts),
  provider: row.provider,
  usage: row.usage ? JSON.parse(row.usage) : null,
  createdAt: row.created_at,
})
/** A message's weight in the history cache: its stored JSON plus a fixed share for the row's other fields. */
const size = (parts: string, usage: string | null) => parts.length + (usage?.length ?? 0) + 200

const toTurn = (row: TurnRow): Turn => ({
  id: row.id,
  sessionId: row.session_id,
  status: row.status,
  source: row.source,
  provider: row.provider,
  error: row.error,
  usage: row.usage ? JSON.parse(row.usage) : null,
  steps: row.steps,
  toolCalls: row.tool_calls,
  createdAt: row.created_at,
  startedAt: row.started_at,
  endedAt: row.ended_at,
})

export interface NewMessage {
  sessionId: string
  turnId: string | null
  role: Role
  parts: Part[]
  provider?: string | null
  usage?: Usage | null
}

export interface ListOptions {
  limit?: number
  offset?: number
  channel?: string
}

export interface PageFilters extends ListOptions {
  provider?: string
  /** Case-insensitive substring of the title. */
  title?: string
  /** Only sessions with activity after this time (ms since the epoch). */
  updatedAfter?: number
}

export type SessionStore = ReturnType<typeof createSessionStore>

/**
 * LIMIT, OFFSET and seq bounds as integers SQLite binds as such: a fraction or a value past 2^53
 * binds as a REAL and fails the query ("datatype mismatch"), so fractions are floored and the rest clamped.
 */
const whole = (value: number | undefined, fallback: number, min: number, max: number) =>
  Math.min(Math.max(value !== undefined && Number.isFinite(value) ? Math.floor(value) : fallback, min), max)

/** A turn's end, as `finishTurn` takes it. */
export interface TurnEnd {
  id: string
  sessionId: string
  status: TurnStatus
  error?: string | null
  usage: Usage
  steps: number
  toolCalls: number
  messages: number
}

/**
 * Which open turns a recovery ends: by default every one (a store no gateway owns: tools, tests);
 * `owner`: only that gateway's (its own stop); `gone`: those whose owner `gone` names a reason for
 * (gateways.ts `judge`: start-up and the heartbeat's sweep).
 */
export type RecoveryScope = { owner: string } | { gone: (owner: string | null) => string | null }

/**
 * `health` (see guard.ts) makes a new turn refuse while the file is gone or damaged. Without it (tests,
 * tools) storage faults are still recognised by their SQLite code. `owner` (the gateway's id,
 * gateways.ts) is recorded on every turn this store begins or starts; without it turns have none.
 */
export function createSessionStore(db: Database, health?: StoreHealth, options: { owner?: string } = {}) {
  const owner = options.owner ?? null
  const q = {
    insertSession: db.query(
      `INSERT INTO sessions (id, title, created_at, updated_at, provider, channel, channel_key, metadata)
       VALUES ($id, $title, $now, $now, $provider, $channel, $channelKey, $metadata)`,
    ),
    getSession: db.query<SessionRow, { id: string }>("SELECT * FROM sessions WHERE id = $id"),
    listSessions: db.query<SessionRow, { limit: number; offset: number }>(
      "SELECT * FROM sessions ORDER BY updated_at DESC, id DESC LIMIT $limit OFFSET $offset",
    ),
    listByChannel: db.query<SessionRow, { limit: number; offset: number; channel: string }>(
      "SELECT * FROM sessions WHERE channel = $channel ORDER BY updated_at DESC, id DESC LIMIT $limit OFFSET $offset",
    ),
    countSessions: db.query<{ n: number }, Record<string, never>>("SELECT count(*) AS n FROM sessions"),
    deleteSession: db.query("DELETE FROM sessions WHERE id = $id"),
    insertMessage: db.query<never, Record<string, string | number | null>>(
      `INSERT INTO messages (id, session_id, turn_id, role, parts, provider, usage, created_at)
       VALUES ($id, $sessionId, $turnId, $role, $parts, $provider, $usage, $now)`,
    ),
    touchSession: db.query(
      "UPDATE sessions SET updated_at = $now, message_count = message_count + $added WHERE id = $id",
    ),
    recount: db.query(
      "UPDATE sessions SET message_count = (SELECT count(*) FROM messages WHERE messages.session_id = sessions.id) WHERE id = $id",
    ),
    lastMessages: db.query<MessageRow, { sessionId: string; limit: number; before: number }>(
      "SELECT * FROM messages WHERE session_id = $sessionId AND seq < $before ORDER BY seq DESC LIMIT $limit",
    ),
    allMessages: db.query<MessageRow, { sessionId: string }>(
      "SELECT * FROM messages WHERE session_id = $sessionId ORDER BY seq",
    ),
    insertTurn: db.query(
      "INSERT INTO turns (id, session_id, status, source, created_at, owner) VALUES ($id, $sessionId, 'queued', $source, $now, $owner)",
    ),
    startTurn: db.query(
      "UPDATE turns SET status = 'running', provider = $provider, started_at = $now, owner = $owner WHERE id = $id",
    ),
    finishTurn: db.query(
      `UPDATE turns SET status = $status, error = $error, usage = $usage, steps = $steps, tool_calls = $toolCalls, ended_at = $now
       WHERE id = $id AND status IN ('queued', 'running')`,
    ),
    addUsage: db.query(
      "UPDATE sessions SET usage_input = usage_input + $input, usage_output = usage_output + $output, usage_cached = usage_cached + $cached WHERE id = $id",
    ),
    getTurn: db.query<TurnRow, { id: string }>("SELECT * FROM turns WHERE id = $id"),
    turnsOf: db.query<TurnRow, { sessionId: string; limit: number }>(
      "SELECT * FROM turns WHERE session_id = $sessionId ORDER BY created_at DESC, id DESC LIMIT $limit",
    ),
    openTurns: db.query<TurnRow, Record<string, never>>(
      "SELECT * FROM turns WHERE status IN ('queued', 'running') ORDER BY created_at",
    ),
    setProvider: db.query(
      "UPDATE sessions SET provider = $provider, pending_provider = NULL, updated_at = $now WHERE id = $id",
    ),
    setPending: db.query("UPDATE sessions SET pending_provider = $provider, updated_at = $now WHERE id = $id"),
    setTitle: db.query("UPDATE sessions SET title = $title, updated_at = $now WHERE id = $id"),
    kvGet: db.query<{ value: string }, { key: string }>("SELECT value FROM kv WHERE key = $key"),
    kvSet: db.query(
      "INSERT INTO kv (key, value) VALUES ($key, $value) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    ),
  }

  /**
   * The histories read last, kept in memory: every turn needs the whole conversation, and re-reading
   * and re-parsing it was a tenth of a turn's CPU (more as the conversation grows). A cached copy is
   * extended only with messages whose INSERT has committed (see `settle`); a message written inside a
   * caller's transaction, which may still roll back, drops the copy instead, and the next read loads
   * the history afresh. Messages are only ever appended, or deleted with their session. Bounded by
   * sessions and by bytes, least recently read out first.
   */
  const histories = {
    cache: new Map<string, { messages: Message[]; bytes: number }>(),
    /** Sessions and encoded bytes kept at most: a long conversation is big, and only a few are active. */
    limits: { sessions: 256, bytes: 16 * 1024 * 1024 },
    bytes: 0,
    read(sessionId: string): Message[] {
      let entry = this.cache.get(sessionId)
      if (entry) this.cache.delete(sessionId)
      else {
        const rows = q.allMessages.all({ sessionId })
        entry = { messages: rows.map(toMessage), bytes: rows.reduce((sum, row) => sum + size(row.parts, row.usage), 0) }
        this.bytes += entry.bytes
      }
      this.cache.set(sessionId, entry)
      this.trim()
      return entry.messages
    },
    /** A message just written; `encoded` is what was stored, so the cached copy is exactly what a read returns. */
    settle(message: Message, encoded: { parts: string; usage: string | null }) {
      // Inside a group commit the write is extended into the cache once the group's COMMIT succeeds.
      if (group.settles) return void group.settles.push({ message, encoded })
      const entry = this.cache.get(message.sessionId)
      if (!entry) return
      if (db.inTransaction || (entry.messages.at(-1)?.seq ?? 0) >= message.seq) return this.drop(message.sessionId)
      entry.messages.push({
        ...message,
        parts: JSON.parse(encoded.parts),
        usage: encoded.usage ? JSON.parse(encoded.usage) : null,
      })
      const added = size(encoded.parts, encoded.usage)
      entry.bytes += added
      this.bytes += added
      this.trim()
    },
    drop(sessionId: string) {
      this.bytes -= this.cache.get(sessionId)?.bytes ?? 0
      this.cache.delete(sessionId)
    },
    /** Least recently read first; the session just read stays even when it alone is over the budget. */
    trim() {
      while (this.cache.size > 1 && (this.cache.size > this.limits.sessions || this.bytes > this.limits.bytes))
        this.drop(this.cache.keys().next().value!)
    },
  }

  const require = (id: string): Session => {
    const row = q.getSession.get({ id })
    if (!row) throw new NotFound("session", id)
    return toSession(row)
  }

  // Appending a message does not touch its session row (that write would cost a third of the append
  // rate); turn start and end update `updated_at` and `message_count`, and recovery recounts.
  const insertMessage = (
    input: NewMessage,
    now: number,
  ): { message: Message; encoded: { parts: string; usage: string | null } } => {
    const id = Id.create("msg", now)
    const encoded = { parts: JSON.stringify(input.parts), usage: input.usage ? JSON.stringify(input.usage) : null }
    const { lastInsertRowid } = q.insertMessage.run({
      id,
      sessionId: input.sessionId,
      turnId: input.turnId,
      role: input.role,
      parts: encoded.parts,
      provider: input.provider ?? null,
      usage: encoded.usage,
      now,
    })
    const message: Message = {
      id,
      seq: Number(lastInsertRowid),
      sessionId: input.sessionId,
      turnId: input.turnId,
      role: input.role,
      parts: input.parts,
      provider: input.provider ?? null,
      usage: input.usage ?? null,
      createdAt: now,
    }
    return { message, encoded }
  }

  const deferred = new Map<string, { end: TurnEnd; at: number }>()
  /** A turn whose end is still held back (full disk) reads as ended. */
  const overlay = (turn: Turn): Turn => {
    const held = deferred.get(turn.id)
    if (!held) return turn
    const { end, at } = held
    return {
      ...turn,
      status: end.status,
      error: end.error ?? null,
      usage: end.usage,
      steps: end.steps,
      toolCalls: end.toolCalls,
      endedAt: at,
    }
  }
  // Messages join the full-text index in batches, after a turn's closing commit, when turns pause (search.ts).
  const indexer = createIndexer(db)
  /** Turns begun and not yet ended through this store: only when the group commits depends on it (see `later`). */
  let turnsOpen = 0
  const writeEnd = immediate(db, (input: TurnEnd, now: number) => {
    turnsOpen = Math.max(0, turnsOpen - 1)
    indexer.soon(INDEX_BATCH)
    const { changes } = q.finishTurn.run({
      id: input.id,
      status: input.status,
      error: input.error ?? null,
      usage: JSON.stringify(input.usage),
      steps: input.steps,
      toolCalls: input.toolCalls,
      now,
    })
    // A turn already ended (recovery, by this or a peer gateway, marked it interrupted first) keeps its
    // row; adding its counts again would count them twice. Its messages are stored: recount them.
    if (changes === 0) {
      q.recount.run({ id: input.sessionId })
      return false
    }
    q.touchSession.run({ id: input.sessionId, now, added: input.messages })
    q.addUsage.run({ id: input.sessionId, ...input.usage })
    return true
  })

  const beginTurn = immediate(db, (input: { sessionId: string; parts: Part[]; source: string; owner?: string }) => {
    require(input.sessionId)
    const now = Date.now()
    const turnId = Id.create("turn", now)
    q.insertTurn.run({ id: turnId, sessionId: input.sessionId, source: input.source, now, owner: input.owner ?? owner })
    const written = insertMessage({ sessionId: input.sessionId, turnId, role: "user", parts: input.parts }, now)
    q.touchSession.run({ id: input.sessionId, now, added: 1 })
    return { turn: toTurn(q.getTurn.get({ id: turnId })!), ...written }
  })

  // Re-read under the write lock: a turn that ended since the first read is left alone.
  const recover = immediate(db, (reason: string, pick: (rows: TurnRow[]) => { row: TurnRow; why: string | null }[]) => {
    const open = pick(q.openTurns.all({})).map(({ row, why }) => ({ ...toTurn(row), why }))
    const now = Date.now()
    for (const sessionId of new Set(open.map((turn) => turn.sessionId))) q.recount.run({ id: sessionId })
    for (const turn of open) {
      q.finishTurn.run({
        id: turn.id,
        status: "interrupted",
        error: reason,
        usage: null,
        steps: turn.steps,
        toolCalls: turn.toolCalls,
        now,
      })
    }
    return open.map((turn) => ({ ...turn, status: "interrupted" as const, error: reason, endedAt: now }))
  })

  /**
   * Group commit: the turn path's writes (a turn's begin, start, answer and end) of every session that
   * arrive in the same turn of the event loop share one IMMEDIATE transaction, each in its own savepoint
   * so that one that fails is undone alone and its caller alone gets the error; every caller's promise
   * settles once the shared COMMIT has (durability unchanged: acknowledged means committed). A commit
   * writes its pages to the WAL whatever it holds, so at many concurrent sessions fewer commits cost
   * less CPU. Every other method writes or reads only after the waiting group has committed, so this
   * process sees its writes in the order they were asked for.
   */
  const group = {
    queue: [] as Grouped[],
    scheduled: false,
    running: false,
    /** The messages written by the operation running now, for the history cache once committed. */
    settles: null as { message: Message; encoded: { parts: string; usage: string | null } }[] | null,
  }
  const begin = db.prepare("BEGIN IMMEDIATE")
  const commit = db.prepare("COMMIT")
  const rollback = db.prepare("ROLLBACK")
  const savepoint = db.prepare("SAVEPOINT grouped")
  const release = db.prepare("RELEASE grouped")
  const undo = db.prepare("ROLLBACK TO grouped")
  const fault = (error: unknown) =>
    error instanceof StorageFull || error instanceof StorageUnavailable || !!classify(error)
  const enqueue = <T>(run: () => T, end?: TurnEnd): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      group.queue.push({ run, end, at: Date.now(), resolve: resolve as (value: unknown) => void, reject })
      if (group.scheduled) return
      group.scheduled = true
      later()
    })
  /**
   * When the group commits. With other turns open, after this turn of the event loop, so that the
   * writes their provider answers bring in the same poll join it; with at most one (a single
   * conversation) at the end of this task, so a lone turn waits for nothing (as before group commit).
   */
  const later = () => (turnsOpen > 1 ? setImmediate(flush) : queueMicrotask(flush))
  /** An end that could not be written is held back (see `finishTurn`) and its caller answered all the same. */
  const holdBack = (op: Grouped) => {
    deferred.set(op.end!.id, { end: op.end!, at: op.at })
    // Answered as ended: the end is written once the disk takes it (a turn recovered meanwhile keeps its end).
    op.resolve(true)
  }
  function flush() {
    group.scheduled = false
    if (group.running || group.queue.length === 0) return
    const ops = group.queue
    group.queue = []
    // Inside a caller's own transaction (which may still roll back) each write runs as it did alone.
    if (db.inTransaction) {
      for (const op of ops) {
        try {
          op.resolve(op.run())
        } catch (error) {
          if (op.end && fault(error)) holdBack(op)
          else op.reject(error)
        }
      }
      return
    }
    group.running = true
    const done: { op: Grouped; value: unknown }[] = []
    const written: NonNullable<typeof group.settles> = []
    const failed = new Set<Grouped>()
    const fail = (op: Grouped, error: unknown) => {
      failed.add(op)
      if (op.end && fault(error)) holdBack(op)
      else op.reject(error)
    }
    try {
      begin.run()
      for (const [index, op] of ops.entries()) {
        group.settles = []
        // One operation alone needs no savepoint: the whole transaction is undone with it.
        const alone = ops.length === 1
        if (!alone) savepoint.run()
        try {
          const value = op.run()
          if (!alone) release.run()
          done.push({ op, value })
          written.push(...group.settles)
        } catch (error) {
          if (alone || !db.inTransaction) {
            // The transaction is gone with it (SQLite rolls back on some faults): this one fails, the
            // others of the group are asked again in the next group, as if each had come alone after it.
            if (db.inTransaction) rollback.run()
            group.settles = null
            group.running = false
            fail(op, error)
            const again = [...done.map((each) => each.op), ...ops.slice(index + 1)]
            if (again.length) {
              group.queue.unshift(...again)
              if (!group.scheduled) {
                group.scheduled = true
                later()
              }
            }
            return
          }
          undo.run()
          release.run()
          fail(op, error)
        }
      }
      group.settles = null
      commit.run()
    } catch (error) {
      // BEGIN, a savepoint or COMMIT failed: nothing of the group is stored.
      group.settles = null
      if (db.inTransaction) rollback.run()
      group.running = false
      for (const op of ops) if (!failed.has(op)) fail(op, error)
      return
    }
    group.running = false
    for (const { message, encoded } of written) histories.settle(message, encoded)
    for (const { op, value } of done) {
      if (op.end) deferred.delete(op.end.id)
      op.resolve(value)
    }
  }

  const store = {
    create(input: {
      provider: string
      title?: string
      channel?: string
      channelKey?: string
      metadata?: Record<string, unknown>
    }): Session {
      health?.admit()
      const id = Id.create("ses")
      q.insertSession.run({
        id,
        title: input.title ?? "",
        now: Date.now(),
        provider: input.provider,
        channel: input.channel ?? null,
        channelKey: input.channelKey ?? null,
        metadata: JSON.stringify(input.metadata ?? {}),
      })
      return require(id)
    },
    get: (id: string): Session | null => {
      const row = q.getSession.get({ id })
      return row ? toSession(row) : null
    },
    require,
    list(options: ListOptions = {}): Session[] {
      const limit = whole(options.limit, 50, 1, 500)
      const offset = whole(options.offset, 0, 0, Number.MAX_SAFE_INTEGER)
      const rows = options.channel
        ? q.listByChannel.all({ limit, offset, channel: options.channel })
        : q.listSessions.all({ limit, offset })
      return rows.map(toSession)
    },
    count: () => q.countSessions.get({})!.n,
    /** Token usage of every stored model step, summed per provider profile that actually served it (after failover). */
    stepUsageByProvider(): Record<string, Usage> {
      const rows = db
        .query<{ provider: string; input: number; output: number; cached: number }, []>(
          `SELECT provider, SUM(json_extract(usage, '$.input')) AS input, SUM(json_extract(usage, '$.output')) AS output,
                  SUM(json_extract(usage, '$.cached')) AS cached
           FROM messages WHERE usage IS NOT NULL AND provider IS NOT NULL GROUP BY provider`,
        )
        .all()
      return Object.fromEntries(
        rows.map((row) => [row.provider, { input: row.input ?? 0, output: row.output ?? 0, cached: row.cached ?? 0 }]),
      )
    },
    /** One page of sessions matching every given filter, newest activity first, plus the total count. */
    page(filters: PageFilters = {}): { sessions: Session[]; total: number } {
      const where: string[] = []
      const params: Record<string, string | number> = {}
      const add = (condition: string, name: string, value: string | number | undefined) => {
        if (value === undefined) return
        where.push(condition)
        params[name] = value
      }
      add("channel = $channel", "channel", filters.channel)
      add("provider = $provider", "provider", filters.provider)
      add("instr(lower(title), lower($title)) > 0", "title", filters.title)
      add("updated_at > $after", "after", filters.updatedAfter)
      const clause = where.length ? `WHERE ${where.join(" AND ")}` : ""
      const total = db
        .query<{ n: number }, Record<string, string | number>>(`SELECT count(*) AS n FROM sessions ${clause}`)
        .get(params)!.n
      const limit = whole(filters.limit, 50, 1, 500)
      const offset = whole(filters.offset, 0, 0, Number.MAX_SAFE_INTEGER)
      const rows = db
        .query<SessionRow, Record<string, string | number>>(
          `SELECT * FROM sessions ${clause} ORDER BY updated_at DESC, id DESC LIMIT $limit OFFSET $offset`,
        )
        .all({ ...params, limit, offset })
      return { sessions: rows.map(toSession), total }
    },
    /** The most recently active session a channel keeps for one of its users or chats. */
    byChannelKey(channel: string, channelKey: string): Session | null {
      const row = db
        .query<SessionRow, { channel: string; key: string }>(
          "SELECT * FROM sessions WHERE channel = $channel AND channel_key = $key ORDER BY updated_at DESC LIMIT 1",
        )
        .get({ channel, key: channelKey })
      return row ? toSession(row) : null
    },
    /** Token usage summed over finished turns, per provider, optionally since a time. */
    usageByProvider(since = 0): { provider: string; turns: number; input: number; output: number; cached: number }[] {
      return db
        .query<{ provider: string; turns: number; input: number; output: number; cached: number }, { since: number }>(
          `SELECT coalesce(provider, '(none)') AS provider, count(*) AS turns,
                  coalesce(sum(json_extract(usage, '$.input')), 0) AS input,
                  coalesce(sum(json_extract(usage, '$.output')), 0) AS output,
                  coalesce(sum(json_extract(usage, '$.cached')), 0) AS cached
           FROM turns WHERE usage IS NOT NULL AND created_at >= $since GROUP BY provider ORDER BY provider`,
        )
        .all({ since })
    },
    remove(id: string) {
      require(id)
      q.deleteSession.run({ id })
      histories.drop(id)
    },
    setTitle(id: string, title: string) {
      require(id)
      q.setTitle.run({ id, title, now: Date.now() })
    },
    /** Queue a switch for the next turn boundary. */
    setPendingProvider(id: string, provider: string | null) {
      require(id)
      q.setPending.run({ id, provider, now: Date.now() })
    },
    setProvider(id: string, provider: string) {
      q.setProvider.run({ id, provider, now: Date.now() })
    },

    /** One message, durable when this returns (a single INSERT commits atomically on its own). */
    append(input: NewMessage): Message {
      const { message, encoded } = insertMessage(input, Date.now())
      histories.settle(message, encoded)
      return message
    },

    /**
     * The user's message and its queued turn, durable together before any provider is called. The turn's
     * owner is the store's (`input.owner` overrides it): a queued turn belongs to the gateway that queued it.
     */
    beginTurn(input: { sessionId: string; parts: Part[]; source: string; owner?: string }): {
      turn: Turn
      message: Message
    } {
      health?.admit()
      const { turn, message, encoded } = beginTurn(input)
      turnsOpen++
      histories.settle(message, encoded)
      return { turn, message }
    },

    startTurn(id: string, provider: string, by: string | null = owner) {
      q.startTurn.run({ id, provider, now: Date.now(), owner: by })
    },
    /**
     * End a turn. When the disk is full (or the file faulty) the end cannot be written: it is kept in
     * memory, shown by `turn()`/`turns()`, and written by `flushDeferred()` once space returns, so the
     * turn's caller still gets its answer (a turn left `running` in the store hung its request and the
     * shutdown). A process that dies first leaves it open, and the next start marks it interrupted.
     */
    finishTurn(input: TurnEnd) {
      try {
        writeEnd(input, Date.now())
        deferred.delete(input.id)
      } catch (error) {
        if (!(error instanceof StorageFull || error instanceof StorageUnavailable || classify(error))) throw error
        deferred.set(input.id, { end: input, at: Date.now() })
      }
    },
    /** Write the turn ends a full disk held back; true when none is left. */
    flushDeferred(): boolean {
      for (const [id, { end, at }] of deferred) {
        try {
          writeEnd(end, at)
        } catch {
          return false
        }
        deferred.delete(id)
      }
      return true
    },

    turn: (id: string): Turn | null => {
      const row = q.getTurn.get({ id })
      return row ? overlay(toTurn(row)) : null
    },
    turns: (sessionId: string, limit = 50): Turn[] =>
      q.turnsOf
        .all({ sessionId, limit: whole(limit, 50, 0, Number.MAX_SAFE_INTEGER) })
        .map(toTurn)
        .map(overlay),

    /**
     * Open turns whose gateway is gone become `interrupted` (all of them, or those `scope` picks); returns
     * them, each with the reason its owner is gone (`why`), so the gateway can report each one. The
     * candidates are read first without a write lock, so a periodic sweep that finds none costs one read.
     */
    recoverInterrupted(reason: string, scope?: RecoveryScope): (Turn & { why: string | null })[] {
      const pick = (rows: TurnRow[]): { row: TurnRow; why: string | null }[] =>
        rows
          .filter((row) => !deferred.has(row.id))
          .flatMap((row): { row: TurnRow; why: string | null }[] => {
            if (!scope) return [{ row, why: null }]
            if ("owner" in scope) return row.owner === scope.owner ? [{ row, why: null }] : []
            const why = scope.gone(row.owner)
            return why === null ? [] : [{ row, why }]
          })
      if (pick(q.openTurns.all({})).length === 0) return []
      return recover(reason, pick)
    },

    /** The last `limit` messages before `beforeSeq`, oldest first. */
    messages(sessionId: string, options: { limit?: number; beforeSeq?: number } = {}): Message[] {
      const rows = q.lastMessages.all({
        sessionId,
        limit: whole(options.limit, 50, 0, Number.MAX_SAFE_INTEGER),
        before: whole(options.beforeSeq, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
      })
      return rows.reverse().map(toMessage)
    },
    /** A session's whole history, oldest first (a fresh array; the messages themselves are shared, do not mutate them). */
    history(sessionId: string): Message[] {
      return histories.read(sessionId).slice()
    },
    /**
     * Drop the cached history of a session another gateway may have written to (one database shared by
     * several gateways): the next read loads it from the database.
     */
    forget(sessionId: string): void {
      histories.drop(sessionId)
    },

    kv: {
      get: (key: string): string | null => q.kvGet.get({ key })?.value ?? null,
      set: (key: string, value: string) => void q.kvSet.run({ key, value }),
    },
  }

  // Every other write first lets the waiting group commit, so writes keep the order they were asked in
  // (see `group`). Reads do not: what is waiting is not acknowledged yet, and its caller reads after
  // awaiting it; a read on the turn path (the session, its history) would end the group too early.
  const reads = new Set(["get", "require", "list", "count", "stepUsageByProvider", "page", "byChannelKey"])
  for (const name of ["usageByProvider", "turn", "turns", "messages", "history", "forget"]) reads.add(name)
  const ordered = <T extends object>(object: T): T => {
    const out: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(object))
      out[key] =
        typeof value === "function"
          ? reads.has(key)
            ? value
            : (...args: unknown[]) => {
                if (group.queue.length) flush()
                return value(...args)
              }
          : value && typeof value === "object"
            ? ordered(value)
            : value
    return out as T
  }
  return {
    ...ordered(store),
    /**
     * The turn path's writes, committed together with those of other sessions asked for in the same
     * turn of the event loop (see `group`); each promise settles when its write is committed.
     */
    grouped: {
      beginTurn(input: { sessionId: string; parts: Part[]; source: string; owner?: string }) {
        health?.admit()
        return enqueue(() => store.beginTurn(input))
      },
      startTurn: (id: string, provider: string, by: string | null = owner) =>
        enqueue(() => store.startTurn(id, provider, by)),
      append: (input: NewMessage) => enqueue(() => store.append(input)),
      /** As `finishTurn`: an end a full or failing disk cannot take is held back, and the promise resolves. */
      finishTurn: (input: TurnEnd) => enqueue(() => writeEnd(input, Date.now()), input),
      /** Any other write of this database to commit with the group (it must not start a transaction of its own). */
      run: <T>(write: () => T) => enqueue(write),
    },
    /** Commit the waiting group now. */
    flush,
  }
}

interface Grouped {
  run: () => unknown
  /** A turn's end: held back instead of failed on a storage fault. */
  end?: TurnEnd
  at: number
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}
