/**
 * The PostgreSQL engine of the store contract (contract.ts) on `Bun.SQL`: one connection pool, tagged
 * templates (every value a bound parameter), and `sql.begin` wherever SQLite uses an IMMEDIATE
 * transaction. Semantics follow the SQLite stores; where PostgreSQL needs more, it is said below:
 * - read-then-write transactions lock what they decide on (`SELECT … FOR UPDATE`, an advisory lock per
 *   pairing scope), since PostgreSQL runs them at READ COMMITTED side by side rather than one at a time;
 * - no history cache: another gateway may append to a session (cache invalidation across nodes is
 *   LISTEN/NOTIFY work, docs/scale-out.md); no held-back turn ends (the disk-full path is SQLite's);
 * - BIGINT columns come back from the driver as strings and are turned into numbers here (times in ms
 *   and seqs stay below 2^53).
 */
import { SQL } from "bun"
import type { Schedule } from "../../core/continuity-config.ts"
import { NotFound } from "../../core/error.ts"
import { Id } from "../../core/id.ts"
import type { Message, Part, Usage } from "../../core/message.ts"
import { MAX_STATE_CHARS, SEEN_MS } from "../channels.ts"
import { goneReason, HOST } from "../gateways.ts"
import type { StoredSchedule } from "../schedules.ts"
import { ISSUE_WINDOW_MS, MAX_PENDING, MAX_PER_USER, newCode, PAIRING_TTL_MS, scopeOf, toPairing } from "../telegram.ts"
import {
  AlreadyAccepted,
  type ChannelPairing,
  type ChannelsContract,
  type Gateway,
  type InterruptedRun,
  type Job,
  type MessageHit,
  type RecoveryScope,
  type ScheduleRun,
  type Session,
  type Store,
  type Summary,
  type TelegramContract,
  type Turn,
} from "./contract.ts"
import { BODY_KEEP_MS, checkBodies, listenAnnounced, pack } from "./announce.ts"
import { checkNotice, guarded, MAX_PAYLOAD_BYTES } from "./notices.ts"
import { migratePostgres } from "./postgres-migrations.ts"
import { postgresPortable } from "./postgres-portable.ts"
import { postgresTelegramReplies } from "./postgres-telegram-replies.ts"
import { picker, taker } from "./scope.ts"

type Row = Record<string, unknown>
type Q = SQL

const num = (value: unknown): number => Number(value)
const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value))
const str = (value: unknown) => value as string
const strOrNull = (value: unknown) => (value ?? null) as string | null
/**
 * Free text for a TEXT column: PostgreSQL cannot store U+0000 in text ("invalid byte sequence"), SQLite
 * can. Message parts keep it (their JSON escapes it); titles, summaries, job output, errors, names and
 * the search body get U+FFFD in its place rather than failing the write.
 */
const clean = <T extends string | null | undefined>(value: T): T =>
  (typeof value === "string" && value.includes("\u0000") ? value.replaceAll("\u0000", "\uFFFD") : value) as T
/** Expired codes kept at most (the newest), as the SQLite stores keep. */
const MAX_KEPT = 1000

const whole = (value: number | undefined, fallback: number, min: number, max: number) =>
  Math.min(Math.max(value !== undefined && Number.isFinite(value) ? Math.floor(value) : fallback, min), max)

const toSession = (row: Row): Session => ({
  id: str(row.id),
  title: str(row.title),
  createdAt: num(row.created_at),
  updatedAt: num(row.updated_at),
  provider: str(row.provider),
  pendingProvider: strOrNull(row.pending_provider),
  channel: strOrNull(row.channel),
  channelKey: strOrNull(row.channel_key),
  metadata: JSON.parse(str(row.metadata)),
  messageCount: num(row.message_count),
  usage: { input: num(row.usage_input), output: num(row.usage_output), cached: num(row.usage_cached) },
})
const toMessage = (row: Row): Message => ({
  id: str(row.id),
  seq: num(row.seq),
  sessionId: str(row.session_id),
  turnId: strOrNull(row.turn_id),
  role: row.role as Message["role"],
  parts: JSON.parse(str(row.parts)),
  provider: strOrNull(row.provider),
  usage: row.usage ? JSON.parse(str(row.usage)) : null,
  createdAt: num(row.created_at),
})
const toTurn = (row: Row): Turn => ({
  id: str(row.id),
  sessionId: str(row.session_id),
  status: row.status as Turn["status"],
  source: str(row.source),
  provider: strOrNull(row.provider),
  error: strOrNull(row.error),
  usage: row.usage ? JSON.parse(str(row.usage)) : null,
  steps: num(row.steps),
  toolCalls: num(row.tool_calls),
  createdAt: num(row.created_at),
  startedAt: numOrNull(row.started_at),
  endedAt: numOrNull(row.ended_at),
})
const toGateway = (row: Row): Gateway => ({
  id: str(row.id),
  host: str(row.host),
  pid: num(row.pid),
  startedAt: num(row.started_at),
  heartbeatAt: num(row.heartbeat_at),
})
const toSummary = (row: Row): Summary => ({
  id: str(row.id),
  sessionId: str(row.session_id),
  uptoSeq: num(row.upto_seq),
  text: str(row.text),
  source: row.source as Summary["source"],
  createdAt: num(row.created_at),
})
const toSchedule = (row: Row): StoredSchedule => ({
  ...(JSON.parse(str(row.spec)) as Schedule),
  id: str(row.id),
  origin: row.origin as StoredSchedule["origin"],
  createdAt: num(row.created_at),
  updatedAt: num(row.updated_at),
})
/** The schedule's own fields, without the id and bookkeeping (as src/store/schedules.ts stores them). */
function spec(schedule: Schedule): string {
  const { id: _, ...rest } = schedule as Schedule & Partial<StoredSchedule>
  delete rest.origin
  delete rest.createdAt
  delete rest.updatedAt
  return JSON.stringify(rest)
}
const toRun = (row: Row): ScheduleRun => ({
  id: str(row.id),
  lastDue: numOrNull(row.last_due),
  lastStarted: numOrNull(row.last_started),
  lastStatus: strOrNull(row.last_status),
  lastError: strOrNull(row.last_error),
  sessionId: strOrNull(row.session_id),
})
const toJob = (row: Row): Job => ({
  id: str(row.id),
  kind: row.kind as Job["kind"],
  sessionId: str(row.session_id),
  status: row.status as Job["status"],
  title: str(row.title),
  childSessionId: strOrNull(row.child_session_id),
  provider: strOrNull(row.provider),
  pid: numOrNull(row.pid),
  outputFile: strOrNull(row.output_file),
  exitCode: numOrNull(row.exit_code),
  result: strOrNull(row.result),
  error: strOrNull(row.error),
  createdAt: num(row.created_at),
  deadlineAt: numOrNull(row.deadline_at),
  endedAt: numOrNull(row.ended_at),
  notifiedAt: numOrNull(row.notified_at),
})
/** A channel state value's kv key, as src/store/channels.ts writes it. */
const stateKey = (scope: string, key: string) => `channel-state/${scope}/${key}`
const chatOf = (botId: string, chatId: number) => `${botId}:${chatId}`
const toChannelPairing = (row: Row): ChannelPairing => ({
  code: str(row.code),
  scope: str(row.scope),
  userId: str(row.user_id),
  conversation: str(row.conversation),
  name: str(row.name),
  createdAt: num(row.created_at),
  expiresAt: num(row.expires_at),
  approvedAt: numOrNull(row.approved_at),
  notifiedAt: numOrNull(row.notified_at),
})
const usageOf = (row: Row): Usage => ({
  input: num(row.input ?? 0),
  output: num(row.output ?? 0),
  cached: num(row.cached ?? 0),
})

/** What the full-text index holds for a message: its text parts, for user and assistant messages only. */
function bodyOf(role: string, parts: Part[]): string | null {
  if (role !== "user" && role !== "assistant") return null
  const text = parts.flatMap((part) => (part.type === "text" ? [part.text] : []))
  return text.length ? clean(text.join("\n")) : null
}

/**
 * The tsquery for what a person or model typed, read as src/store/search.ts reads it for FTS5: words
 * (all of them, or any with `any`), "quoted phrases" (`<->`, words in order), a trailing * for a prefix.
 * Only letters, digits and _ reach the query, so its operators cannot be typed. Null when nothing is left.
 */
export function tsQuery(text: string, any = false): string | null {
  const terms: string[] = []
  for (const [, phrase, word] of text.matchAll(/"([^"]*)"|([^\s"]+)/g)) {
    if (phrase !== undefined) {
      const words = phrase.match(/[\p{L}\p{N}_]+/gu)
      if (words) terms.push(words.length === 1 ? words[0]! : `(${words.join(" <-> ")})`)
      continue
    }
    const prefix = word!.endsWith("*")
    for (const part of word!.match(/[\p{L}\p{N}_]+/gu) ?? []) terms.push(part)
    if (prefix && terms.length) terms[terms.length - 1] += ":*"
  }
  return terms.length ? terms.join(any ? " | " : " & ") : null
}

export interface PostgresOptions {
  /** Connections in the pool (default 10). */
  max?: number
  /** Seconds to wait for a connection (default 5). */
  connectionTimeout?: number
}

/** A PostgreSQL URL without its password, for messages and logs: postgres://user@host:port/db. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.protocol}//${parsed.username ? `${decodeURIComponent(parsed.username)}@` : ""}${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`
  } catch {
    return "(an unreadable URL)"
  }
}

/**
 * The store contract over an open pool (migrated). `owner`: the gateway id recorded on the turns this
 * store begins and starts.
 */
export function postgresStore(sql: SQL, options: { owner?: string } = {}): Store {
  const owner = options.owner ?? null
  const startedAt = new Map<string, number>()
  const gatewayRows = async (): Promise<Gateway[]> =>
    (await sql`SELECT * FROM gateways ORDER BY started_at, id`).map(toGateway)
  /** As src/store/gateways.ts `judge`: why each owner is gone for `self`, or null while it runs. */
  const judge = async (gone: { self: string; staleMs: number; now?: number }) => {
    const rows = new Map((await gatewayRows()).map((row) => [row.id, row]))
    const now = gone.now ?? Date.now()
    return (id: string | null) =>
      id === gone.self ? null : goneReason(id, (id !== null && rows.get(id)) || null, { now, staleMs: gone.staleMs })
  }
  /**
   * The picker of a recovery scope (contract.ts `RecoveryScope`), its owners judged once, now. Made after
   * the candidate rows are read: a gateway registers before it writes a row, so a row read first has its
   * owner in the registry read after (judged the other way round, a gateway that started in between would
   * be "not registered" and its fresh row taken).
   */
  const pickFor = async (scope?: RecoveryScope) =>
    picker(scope, scope && "gone" in scope ? await judge(scope.gone) : undefined)
  const getSession = async (q: Q, id: string) => {
    const [row] = await q`SELECT * FROM sessions WHERE id = ${id}`
    return row ? toSession(row) : null
  }
  const require = async (q: Q, id: string) => {
    const session = await getSession(q, id)
    if (!session) throw new NotFound("session", id)
    return session
  }
  const insertMessage = async (
    q: Q,
    input: {
      sessionId: string
      turnId: string | null
      role: Message["role"]
      parts: Part[]
      provider?: string | null
      usage?: Usage | null
    },
    now: number,
  ): Promise<Message> => {
    const id = Id.create("msg", now)
    const parts = JSON.stringify(input.parts)
    const usage = input.usage ? JSON.stringify(input.usage) : null
    const [row] = await q`
      INSERT INTO messages (id, session_id, turn_id, role, parts, provider, usage, created_at, body)
      VALUES (${id}, ${input.sessionId}, ${input.turnId}, ${input.role}, ${parts}, ${input.provider ?? null}, ${usage},
              ${now}, ${bodyOf(input.role, input.parts)})
      RETURNING seq`
    // Only the seq comes back: the rest is what was written (RETURNING * sent the body and its tsvector too).
    return toMessage({
      id,
      seq: row.seq,
      session_id: input.sessionId,
      turn_id: input.turnId,
      role: input.role,
      parts,
      provider: input.provider ?? null,
      usage,
      created_at: now,
    })
  }
  /** Now and then, forget inbox events handled long ago (as src/store/channels.ts). */
  const forget = async (q: Q) => {
    if (++receives % 200 === 1)
      await q`DELETE FROM channel_inbox WHERE done_at IS NOT NULL AND done_at < ${Date.now() - SEEN_MS}`
  }
  const channelDone = (q: Q, scope: string, eventIds: string[], now: number) =>
    eventIds.length
      ? q`UPDATE channel_inbox SET done_at = ${now}, payload = 'null'
          WHERE scope = ${scope} AND event_id IN ${sql(eventIds)} AND done_at IS NULL`
      : null
  const interrupt = async (q: Q, open: (Turn & { why: string | null })[], reason: string, now: number) => {
    const turns = open
    const sessions = [...new Set(turns.map((turn) => turn.sessionId))]
    if (sessions.length)
      await q`UPDATE sessions SET message_count = (SELECT count(*) FROM messages WHERE messages.session_id = sessions.id)
              WHERE id IN ${sql(sessions)}`
    if (turns.length)
      await q`UPDATE turns SET status = 'interrupted', error = ${clean(reason)}, usage = NULL, ended_at = ${now}
              WHERE id IN ${sql(turns.map((turn) => turn.id))} AND status IN ('queued', 'running')`
    return turns.map((turn) => ({ ...turn, status: "interrupted" as const, error: reason, endedAt: now }))
  }
  let receives = 0
  let announcedBodies = 0
  const subscriptions = new Set<SQL.ListenSubscription>()

  const channels: ChannelsContract = {
    // In kv, under the key src/store/channels.ts uses: channel-state/<scope>/<key>.
    async stateGet(scope, key) {
      const [row] = await sql`SELECT value FROM kv WHERE key = ${stateKey(scope, key)}`
      return row ? JSON.parse(str(row.value)) : undefined
    },
    async stateSet(scope, key, value) {
      if (value === undefined) {
        await sql`DELETE FROM kv WHERE key = ${stateKey(scope, key)}`
        return
      }
      const json = JSON.stringify(value)
      if (json.length > MAX_STATE_CHARS)
        throw new RangeError(`channel state "${key}" is ${json.length} characters as JSON; at most ${MAX_STATE_CHARS}`)
      await sql`INSERT INTO kv (key, value) VALUES (${stateKey(scope, key)}, ${json})
                ON CONFLICT (key) DO UPDATE SET value = excluded.value`
    },
    async receive(scope, eventId, payload) {
      await forget(sql)
      const inserted = await sql`
        INSERT INTO channel_inbox (scope, event_id, payload, received_at)
        VALUES (${scope}, ${eventId}, ${JSON.stringify(payload ?? null)}, ${Date.now()}) ON CONFLICT DO NOTHING`
      return inserted.count === 1
    },
    pending: async (scope) =>
      (
        await sql`SELECT event_id, payload FROM channel_inbox WHERE scope = ${scope} AND done_at IS NULL
                  ORDER BY received_at, n`
      ).map((row: Row) => ({ eventId: str(row.event_id), payload: JSON.parse(str(row.payload)) })),
    async done(scope, eventIds) {
      await channelDone(sql, scope, eventIds, Date.now())
    },
    session: async (scope, conversation) =>
      strOrNull(
        (
          await sql`SELECT session_id FROM channel_conversations WHERE scope = ${scope} AND conversation = ${conversation}`
        )[0]?.session_id,
      ),
    async setSession(scope, conversation, sessionId) {
      await sql`INSERT INTO channel_conversations (scope, conversation, session_id, updated_at)
                VALUES (${scope}, ${conversation}, ${sessionId}, ${Date.now()})
                ON CONFLICT (scope, conversation) DO UPDATE SET session_id = excluded.session_id, updated_at = excluded.updated_at`
    },
    pairingFor: (input) =>
      sql.begin(async (tx) => {
        await tx`SELECT pg_advisory_xact_lock(hashtext(${`channel:${input.scope}`}))`
        const now = Date.now()
        const [open] =
          await tx`SELECT * FROM channel_pairings WHERE scope = ${input.scope} AND user_id = ${input.userId}
                                AND approved_at IS NULL AND expires_at > ${now}`
        if (open) return { pairing: toChannelPairing(open), created: false }
        await tx`DELETE FROM channel_pairings WHERE approved_at IS NULL AND created_at <= ${now - ISSUE_WINDOW_MS}`
        const [issued] = await tx`SELECT count(*) AS n FROM channel_pairings WHERE scope = ${input.scope}
                                  AND user_id = ${input.userId} AND approved_at IS NULL`
        if (num(issued.n) >= MAX_PER_USER) return null
        const [pending] = await tx`SELECT count(*) AS n FROM channel_pairings WHERE scope = ${input.scope}
                                   AND approved_at IS NULL AND expires_at > ${now}`
        const count = num(pending.n)
        if (count >= MAX_PENDING)
          await tx`UPDATE channel_pairings SET expires_at = ${now} WHERE code IN (
                     SELECT code FROM channel_pairings WHERE scope = ${input.scope} AND approved_at IS NULL AND expires_at > ${now}
                     ORDER BY created_at, n LIMIT ${count - MAX_PENDING + 1}::bigint)`
        const [row] = await tx`
          INSERT INTO channel_pairings (code, scope, user_id, conversation, name, created_at, expires_at)
          VALUES (${newCode()}, ${input.scope}, ${input.userId}, ${input.conversation}, ${clean(input.name)}, ${now}, ${now + PAIRING_TTL_MS})
          RETURNING *`
        await tx`DELETE FROM channel_pairings WHERE code IN (
                   SELECT code FROM channel_pairings WHERE scope = ${input.scope} AND approved_at IS NULL AND expires_at <= ${now}
                   ORDER BY created_at DESC, n DESC OFFSET ${MAX_KEPT}::bigint)`
        return { pairing: toChannelPairing(row), created: true }
      }),
    async approve(code, kind) {
      const now = Date.now()
      const scope = kind ? sql`AND starts_with(scope, ${`${kind}:`})` : sql``
      const [row] = await sql`UPDATE channel_pairings SET approved_at = ${now}
                              WHERE code = ${code.trim().toUpperCase()} AND approved_at IS NULL AND expires_at > ${now} ${scope}
                              RETURNING *`
      return row ? toChannelPairing(row) : null
    },
    revoke: async (scope, userId) =>
      (
        await sql`DELETE FROM channel_pairings WHERE scope = ${scope} AND user_id = ${userId} AND approved_at IS NOT NULL`
      ).count,
    approved: async (scope, userId) =>
      (
        await sql`SELECT 1 FROM channel_pairings WHERE scope = ${scope} AND user_id = ${userId}
                  AND approved_at IS NOT NULL LIMIT 1`
      ).length > 0,
    pairings: async (prefix = "") =>
      (
        await sql`SELECT * FROM channel_pairings WHERE starts_with(scope, ${prefix})
                  AND (approved_at IS NOT NULL OR expires_at > ${Date.now()}) ORDER BY created_at DESC`
      ).map(toChannelPairing),
    unnotified: async (scope) =>
      (
        await sql`SELECT * FROM channel_pairings WHERE scope = ${scope} AND approved_at IS NOT NULL AND notified_at IS NULL`
      ).map(toChannelPairing),
    async notified(code) {
      await sql`UPDATE channel_pairings SET notified_at = ${Date.now()} WHERE code = ${code}`
    },
  }
  // Telegram on the shared channel tables, as src/store/telegram.ts: the inbox and the pairings under the
  // scope telegram:<bot id>, the chats as conversations <bot id>:<chat id> of the scope "telegram"; only
  // the getUpdates offset and the polling lease are Telegram's own (telegram_bots).
  const telegram: TelegramContract = {
    replies: postgresTelegramReplies(sql),
    offset: async (botId) =>
      num((await sql`SELECT next_offset FROM telegram_bots WHERE bot_id = ${botId}`)[0]?.next_offset ?? 0),
    receive: (botId, updates) =>
      sql.begin(async (tx) => {
        await forget(tx)
        await tx`INSERT INTO telegram_bots (bot_id) VALUES (${botId}) ON CONFLICT (bot_id) DO NOTHING`
        const [bot] = await tx`SELECT next_offset FROM telegram_bots WHERE bot_id = ${botId} FOR UPDATE`
        const now = Date.now()
        let next = num(bot.next_offset)
        for (const update of updates) {
          await tx`INSERT INTO channel_inbox (scope, event_id, payload, received_at)
                   VALUES (${scopeOf(botId)}, ${String(update.update_id)}, ${JSON.stringify(update)}, ${now})
                   ON CONFLICT DO NOTHING`
          next = Math.max(next, update.update_id + 1)
        }
        await tx`UPDATE telegram_bots SET next_offset = ${next} WHERE bot_id = ${botId}`
        return next
      }),
    pending: async (botId) =>
      (await channels.pending(scopeOf(botId)))
        .map((entry) => entry.payload as { update_id: number })
        .sort((a, b) => a.update_id - b.update_id),
    done: (botId, updateIds) => channels.done(scopeOf(botId), updateIds.map(String)),
    lease: (botId, holder, ttlMs, alive = () => true) =>
      sql.begin(async (tx) => {
        await tx`INSERT INTO telegram_bots (bot_id) VALUES (${botId}) ON CONFLICT (bot_id) DO NOTHING`
        const [row] = await tx`SELECT lease_holder, lease_until FROM telegram_bots WHERE bot_id = ${botId} FOR UPDATE`
        const now = Date.now()
        const current = strOrNull(row.lease_holder)
        const until = num(row.lease_until)
        if (current && current !== holder && until > now && alive(current))
          return { ok: false as const, holder: current, until }
        await tx`UPDATE telegram_bots SET lease_holder = ${holder}, lease_until = ${now + ttlMs} WHERE bot_id = ${botId}`
        return { ok: true as const }
      }),
    async release(botId, holder) {
      await sql`UPDATE telegram_bots SET lease_holder = NULL, lease_until = 0 WHERE bot_id = ${botId} AND lease_holder = ${holder}`
    },
    session: (botId, chatId) => channels.session("telegram", chatOf(botId, chatId)),
    setSession: (botId, chatId, sessionId) => channels.setSession("telegram", chatOf(botId, chatId), sessionId),
    async pairingFor(input) {
      const result = await channels.pairingFor({
        scope: scopeOf(input.botId),
        userId: String(input.userId),
        conversation: String(input.chatId),
        name: input.name,
      })
      return result ? { pairing: toPairing(result.pairing), created: result.created } : null
    },
    async approve(code) {
      const approved = await channels.approve(code, "telegram")
      return approved ? toPairing(approved) : null
    },
    // Every approval of the user, for every bot.
    revoke: async (userId) =>
      (
        await sql`DELETE FROM channel_pairings WHERE starts_with(scope, 'telegram:') AND user_id = ${String(userId)}
                  AND approved_at IS NOT NULL`
      ).count,
    approved: (botId, userId) => channels.approved(scopeOf(botId), String(userId)),
    list: async () => (await channels.pairings("telegram:")).map(toPairing),
    unnotified: async (botId) => (await channels.unnotified(scopeOf(botId))).map(toPairing),
    notified: (code) => channels.notified(code),
  }

  const store: Store = {
    engine: "postgres",
    owner,
    sessions: {
      async create(input) {
        const id = Id.create("ses")
        const now = Date.now()
        const [row] = await sql`
          INSERT INTO sessions (id, title, created_at, updated_at, provider, channel, channel_key, metadata)
          VALUES (${id}, ${clean(input.title ?? "")}, ${now}, ${now}, ${input.provider}, ${input.channel ?? null},
                  ${input.channelKey ?? null}, ${JSON.stringify(input.metadata ?? {})})
          RETURNING *`
        return toSession(row)
      },
      get: (id) => getSession(sql, id),
      require: (id) => require(sql, id),
      async list(options = {}) {
        const limit = whole(options.limit, 50, 1, 500)
        const offset = whole(options.offset, 0, 0, Number.MAX_SAFE_INTEGER)
        const where = options.channel ? sql`WHERE channel = ${options.channel}` : sql``
        const rows = await sql`SELECT * FROM sessions ${where} ORDER BY updated_at DESC, id DESC
                               LIMIT ${limit}::bigint OFFSET ${offset}::bigint`
        return rows.map(toSession)
      },
      count: async () => num((await sql`SELECT count(*) AS n FROM sessions`)[0].n),
      async stepUsageByProvider() {
        const rows = await sql`
          SELECT provider, sum((usage::jsonb ->> 'input')::numeric) AS input, sum((usage::jsonb ->> 'output')::numeric) AS output,
                 sum((usage::jsonb ->> 'cached')::numeric) AS cached
          FROM messages WHERE usage IS NOT NULL AND provider IS NOT NULL GROUP BY provider`
        return Object.fromEntries(rows.map((row: Row) => [str(row.provider), usageOf(row)]))
      },
      async page(filters = {}) {
        const conditions = [
          filters.channel !== undefined ? sql`AND channel = ${filters.channel}` : sql``,
          filters.provider !== undefined ? sql`AND provider = ${filters.provider}` : sql``,
          filters.title !== undefined ? sql`AND strpos(lower(title), lower(${clean(filters.title)})) > 0` : sql``,
          filters.updatedAfter !== undefined ? sql`AND updated_at > ${filters.updatedAfter}` : sql``,
        ]
        const [a, b, c, d] = conditions
        const limit = whole(filters.limit, 50, 1, 500)
        const offset = whole(filters.offset, 0, 0, Number.MAX_SAFE_INTEGER)
        const [total] = await sql`SELECT count(*) AS n FROM sessions WHERE true ${a} ${b} ${c} ${d}`
        const rows = await sql`SELECT * FROM sessions WHERE true ${a} ${b} ${c} ${d}
                               ORDER BY updated_at DESC, id DESC LIMIT ${limit}::bigint OFFSET ${offset}::bigint`
        return { sessions: rows.map(toSession), total: num(total.n) }
      },
      async byChannelKey(channel, channelKey) {
        const [row] = await sql`SELECT * FROM sessions WHERE channel = ${channel} AND channel_key = ${channelKey}
                                ORDER BY updated_at DESC LIMIT 1`
        return row ? toSession(row) : null
      },
      async usageByProvider(since = 0) {
        const rows = await sql`
          SELECT coalesce(provider, '(none)') AS provider, count(*) AS turns,
                 coalesce(sum((usage::jsonb ->> 'input')::numeric), 0) AS input,
                 coalesce(sum((usage::jsonb ->> 'output')::numeric), 0) AS output,
                 coalesce(sum((usage::jsonb ->> 'cached')::numeric), 0) AS cached
          FROM turns WHERE usage IS NOT NULL AND created_at >= ${since} GROUP BY provider ORDER BY provider`
        return rows.map((row: Row) => ({ provider: str(row.provider), turns: num(row.turns), ...usageOf(row) }))
      },
      async remove(id) {
        const deleted = await sql`DELETE FROM sessions WHERE id = ${id}`
        if (deleted.count === 0) throw new NotFound("session", id)
      },
      async setTitle(id, title) {
        const updated =
          await sql`UPDATE sessions SET title = ${clean(title)}, updated_at = ${Date.now()} WHERE id = ${id}`
        if (updated.count === 0) throw new NotFound("session", id)
      },
      async setPendingProvider(id, provider) {
        const updated =
          await sql`UPDATE sessions SET pending_provider = ${provider}, updated_at = ${Date.now()} WHERE id = ${id}`
        if (updated.count === 0) throw new NotFound("session", id)
      },
      async setProvider(id, provider) {
        await sql`UPDATE sessions SET provider = ${provider}, pending_provider = NULL, updated_at = ${Date.now()} WHERE id = ${id}`
      },
      append: (input) => insertMessage(sql, input, Date.now()),
      // One statement, so one round trip (it is atomic as a transaction is): the session's row is updated
      // first (no row: nothing is written, NotFound), the turn and the message inserted from it. With
      // `accept`, the inbox rows are locked first (a second gateway accepting the same rows waits for the
      // first's commit, then reads them done) and everything else is written only if none is done yet.
      async beginTurn(input) {
        const now = Date.now()
        const turnId = Id.create("turn", now)
        const messageId = Id.create("msg", now)
        const parts = JSON.stringify(input.parts)
        let accept: { scope: string; eventIds: string[] } | null = null
        if (input.accept)
          accept =
            "telegram" in input.accept
              ? { scope: scopeOf(input.accept.telegram.botId), eventIds: input.accept.telegram.updateIds.map(String) }
              : { scope: input.accept.channel.scope, eventIds: input.accept.channel.eventIds }
        if (accept && accept.eventIds.length === 0) accept = null
        const locked = accept
          ? sql`a AS (SELECT done_at FROM channel_inbox WHERE scope = ${accept.scope} AND event_id IN ${sql(accept.eventIds)}
                      FOR UPDATE),
                ok AS (SELECT NOT EXISTS (SELECT 1 FROM a WHERE done_at IS NOT NULL) AS ok),`
          : sql`ok AS (SELECT true AS ok),`
        const done = accept
          ? sql`, d AS (UPDATE channel_inbox SET done_at = ${now}, payload = 'null'
                        WHERE scope = ${accept.scope} AND event_id IN ${sql(accept.eventIds)} AND done_at IS NULL
                          AND EXISTS (SELECT 1 FROM s))`
          : sql``
        const [row] = await sql`
          WITH ${locked}
          s AS (UPDATE sessions SET updated_at = ${now}, message_count = message_count + 1
                WHERE id = ${input.sessionId} AND (SELECT ok FROM ok) RETURNING id),
          t AS (INSERT INTO turns (id, session_id, status, source, created_at, owner)
                SELECT ${turnId}, s.id, 'queued', ${input.source}, ${now}, ${input.owner ?? owner} FROM s RETURNING *),
          m AS (INSERT INTO messages (id, session_id, turn_id, role, parts, provider, usage, created_at, body)
                SELECT ${messageId}, s.id, ${turnId}, 'user', ${parts}, NULL, NULL, ${now}, ${bodyOf("user", input.parts)}
                FROM s RETURNING seq)
          ${done}
          SELECT ok.ok, t.*, m.seq AS message_seq FROM ok LEFT JOIN t ON true LEFT JOIN m ON true`
        if (accept && !row.ok) throw new AlreadyAccepted(accept.scope, accept.eventIds)
        if (row.id === null || row.id === undefined) throw new NotFound("session", input.sessionId)
        const message: Message = {
          id: messageId,
          seq: num(row.message_seq),
          sessionId: input.sessionId,
          turnId,
          role: "user",
          parts: JSON.parse(parts),
          provider: null,
          usage: null,
          createdAt: now,
        }
        return { turn: toTurn(row), message }
      },
      async startTurn(id, provider, by = owner) {
        await sql`UPDATE turns SET status = 'running', provider = ${provider}, started_at = ${Date.now()}, owner = ${by}
                  WHERE id = ${id}`
      },
      // One statement: the session's counts move only if this call ended the turn (a turn that had already
      // ended adds nothing: its messages and usage were counted at its end).
      async finishTurn(input) {
        const now = Date.now()
        const [row] = await sql`
          WITH ended AS (
            UPDATE turns SET status = ${input.status}, error = ${clean(input.error ?? null)}, usage = ${JSON.stringify(input.usage)},
                   steps = ${input.steps}, tool_calls = ${input.toolCalls}, ended_at = ${now}
            WHERE id = ${input.id} AND status IN ('queued', 'running') RETURNING id),
          counted AS (
            UPDATE sessions SET updated_at = ${now}, message_count = message_count + ${input.messages},
                   usage_input = usage_input + ${input.usage.input}, usage_output = usage_output + ${input.usage.output},
                   usage_cached = usage_cached + ${input.usage.cached}
            WHERE id = ${input.sessionId} AND EXISTS (SELECT 1 FROM ended) RETURNING id)
          SELECT EXISTS (SELECT 1 FROM ended) AS ended`
        return row?.ended === true
      },
      flushDeferred: async () => true,
      async turn(id) {
        const [row] = await sql`SELECT * FROM turns WHERE id = ${id}`
        return row ? toTurn(row) : null
      },
      async turns(sessionId, limit = 50) {
        const rows = await sql`SELECT * FROM turns WHERE session_id = ${sessionId} ORDER BY created_at DESC, id DESC
                               LIMIT ${whole(limit, 50, 0, Number.MAX_SAFE_INTEGER)}::bigint`
        return rows.map(toTurn)
      },
      async recoverInterrupted(reason, scope?: RecoveryScope) {
        // Candidates first, without locks (a sweep that finds none costs one read); then each picked turn
        // is locked and ended only if it is still open.
        const open: { turn: Turn; owner: string | null }[] = (
          await sql`SELECT * FROM turns WHERE status IN ('queued', 'running') ORDER BY created_at`
        ).map((row: Row) => ({ turn: toTurn(row), owner: strOrNull(row.owner) }))
        const take = await pickFor(scope)
        const picked = open.flatMap(({ turn, owner }) => {
          const taken = take(owner)
          return taken ? [{ ...turn, why: taken.why }] : []
        })
        if (picked.length === 0) return []
        return sql.begin(async (tx) => {
          const ids = picked.map((turn) => turn.id)
          const still = new Set(
            (await tx`SELECT id FROM turns WHERE id IN ${sql(ids)} AND status IN ('queued', 'running') FOR UPDATE`).map(
              (row: Row) => str(row.id),
            ),
          )
          return interrupt(
            tx,
            picked.filter((turn) => still.has(turn.id)),
            reason,
            Date.now(),
          )
        })
      },
      async messages(sessionId, options = {}) {
        const limit = whole(options.limit, 50, 0, Number.MAX_SAFE_INTEGER)
        const before = whole(
          options.beforeSeq,
          Number.MAX_SAFE_INTEGER,
          Number.MIN_SAFE_INTEGER,
          Number.MAX_SAFE_INTEGER,
        )
        // The columns toMessage reads, not *: the search body and its generated tsvector are sent for nothing.
        const rows = await sql`SELECT id, seq, session_id, turn_id, role, parts, provider, usage, created_at
                               FROM messages WHERE session_id = ${sessionId} AND seq < ${before}::bigint
                               ORDER BY seq DESC LIMIT ${limit}::bigint`
        return rows.reverse().map(toMessage)
      },
      // Every turn reads its session's whole history: the columns toMessage reads only (not the search body
      // and its generated tsvector, which * sent and the driver decoded for nothing).
      history: async (sessionId) =>
        (
          await sql`SELECT id, seq, session_id, turn_id, role, parts, provider, usage, created_at
                    FROM messages WHERE session_id = ${sessionId} ORDER BY seq`
        ).map(toMessage),
      // Nothing is cached here: every read goes to the database.
      forget: async () => {},
      kv: {
        get: async (key) => ((await sql`SELECT value FROM kv WHERE key = ${key}`)[0]?.value as string) ?? null,
        async set(key, value) {
          await sql`INSERT INTO kv (key, value) VALUES (${key}, ${clean(value)}) ON CONFLICT (key) DO UPDATE SET value = excluded.value`
        },
      },
    },

    gateways: {
      async register(id) {
        const now = Date.now()
        if (!startedAt.has(id)) startedAt.set(id, now)
        await sql`
          INSERT INTO gateways (id, host, pid, started_at, heartbeat_at)
          VALUES (${id}, ${HOST}, ${process.pid}, ${startedAt.get(id)!}, ${now})
          ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`
      },
      async beat(id) {
        if ((await sql`UPDATE gateways SET heartbeat_at = ${Date.now()} WHERE id = ${id}`).count > 0) return true
        await store.gateways.register(id)
        return false
      },
      async remove(id) {
        await sql`DELETE FROM gateways WHERE id = ${id}`
        startedAt.delete(id)
      },
      list: gatewayRows,
      async prune(gone) {
        const reason = await judge(gone)
        const ids = (await gatewayRows()).map((row) => row.id).filter((id) => reason(id) !== null)
        if (ids.length) await sql`DELETE FROM gateways WHERE id IN ${sql(ids)}`
        return ids
      },
    },

    leases: {
      async acquire(id, holder, ttlMs, gone) {
        // The usual case in one statement: the lease is free, expired or already the caller's (the upsert
        // locks the row and decides on its latest version, so of two contenders one takes it).
        const now = Date.now()
        const [taken] = await sql`
          INSERT INTO session_leases (session_id, holder, until) VALUES (${id}, ${holder}, ${now + ttlMs})
          ON CONFLICT (session_id) DO UPDATE SET holder = excluded.holder, until = excluded.until
          WHERE session_leases.holder = '' OR session_leases.holder = excluded.holder OR session_leases.until <= ${now}
          RETURNING 1 AS ok`
        if (taken) return { ok: true as const }
        // Held by another: whether its holder is gone is judged here, in a transaction on the locked row.
        return sql.begin(async (tx) => {
          // The row is made first, so contenders for a lease never taken queue on its lock too.
          await tx`INSERT INTO session_leases (session_id, holder, until) VALUES (${id}, '', 0) ON CONFLICT DO NOTHING`
          const [row] = await tx`SELECT holder, until FROM session_leases WHERE session_id = ${id} FOR UPDATE`
          const now = Date.now()
          const current = str(row.holder)
          const until = num(row.until)
          if (current !== "" && current !== holder && until > now) {
            const [peer] = gone ? await tx`SELECT * FROM gateways WHERE id = ${current}` : []
            const why = gone ? goneReason(current, peer ? toGateway(peer) : null, { now, staleMs: gone.staleMs }) : null
            if (why === null) return { ok: false as const, holder: current, until }
          }
          await tx`UPDATE session_leases SET holder = ${holder}, until = ${now + ttlMs} WHERE session_id = ${id}`
          return { ok: true as const }
        })
      },
      renew: async (id, holder, ttlMs) =>
        (
          await sql`UPDATE session_leases SET until = ${Date.now() + ttlMs} WHERE session_id = ${id} AND holder = ${holder}`
        ).count === 1,
      // The row stays (holder '' is free): a contender waiting on its lock never finds it deleted.
      release: async (id, holder) =>
        (await sql`UPDATE session_leases SET holder = '', until = 0 WHERE session_id = ${id} AND holder = ${holder}`)
          .count === 1,
      async holder(id) {
        const [row] = await sql`SELECT holder, until FROM session_leases WHERE session_id = ${id} AND holder != ''
                                AND until > ${Date.now()}`
        return row ? { holder: str(row.holder), until: num(row.until) } : null
      },
    },

    summaries: {
      async latest(sessionId) {
        const [row] = await sql`SELECT * FROM summaries WHERE session_id = ${sessionId}
                                ORDER BY upto_seq DESC, created_at DESC LIMIT 1`
        return row ? toSummary(row) : null
      },
      list: async (sessionId) =>
        (await sql`SELECT * FROM summaries WHERE session_id = ${sessionId} ORDER BY upto_seq`).map(toSummary),
      async add(input) {
        const summary: Summary = { ...input, id: Id.create("sum"), createdAt: Date.now() }
        await sql`INSERT INTO summaries (id, session_id, upto_seq, text, source, created_at)
                  VALUES (${summary.id}, ${summary.sessionId}, ${summary.uptoSeq}, ${clean(summary.text)}, ${summary.source}, ${summary.createdAt})`
        return summary
      },
    },

    schedules: {
      list: async () => (await sql`SELECT * FROM schedules ORDER BY created_at, id`).map(toSchedule),
      async get(id) {
        const [row] = await sql`SELECT * FROM schedules WHERE id = ${id}`
        return row ? toSchedule(row) : null
      },
      count: async () => num((await sql`SELECT count(*) AS n FROM schedules`)[0].n),
      async insert(schedule, origin, now = Date.now()) {
        const [row] = await sql`INSERT INTO schedules (id, spec, origin, created_at, updated_at)
                                VALUES (${schedule.id}, ${spec(schedule)}, ${origin}, ${now}, ${now}) RETURNING *`
        return toSchedule(row)
      },
      async update(schedule, now = Date.now()) {
        const [row] = await sql`UPDATE schedules SET spec = ${spec(schedule)}, updated_at = ${now}
                                WHERE id = ${schedule.id} RETURNING *`
        if (!row) throw new NotFound("schedule", schedule.id)
        return toSchedule(row)
      },
      remove: (id) =>
        sql.begin(async (tx) => {
          const gone = (await tx`DELETE FROM schedules WHERE id = ${id}`).count === 1
          await tx`DELETE FROM schedule_runs WHERE id = ${id}`
          return gone
        }),
      runs: {
        async get(id) {
          const [row] = await sql`SELECT * FROM schedule_runs WHERE id = ${id}`
          return row ? toRun(row) : null
        },
        // One statement: a second claimer waits for the first's row lock, then finds last_due moved.
        async claim(id, due, now = Date.now(), gap = 1) {
          await sql`INSERT INTO schedule_runs (id) VALUES (${id}) ON CONFLICT (id) DO NOTHING`
          const claimed = await sql`
            UPDATE schedule_runs SET last_due = ${due}, last_started = ${now}, last_status = 'running', last_error = NULL,
                   owner = ${owner}
            WHERE id = ${id} AND (last_due IS NULL OR last_due <= ${due}::bigint - ${gap}::bigint)`
          return claimed.count === 1
        },
        async finish(id, due, status, error) {
          await sql`UPDATE schedule_runs SET last_status = ${status}, last_error = ${clean(error)} WHERE id = ${id} AND last_due = ${due}`
        },
        async setSession(id, sessionId) {
          await sql`UPDATE schedule_runs SET session_id = ${sessionId} WHERE id = ${id}`
        },
        async interruptRunning(scope) {
          const rows = await sql`SELECT * FROM schedule_runs WHERE last_status = 'running' ORDER BY id`
          const take = await pickFor(scope)
          const out: InterruptedRun[] = []
          for (const row of rows) {
            const taken = take(strOrNull(row.owner))
            if (!taken) continue
            // Ended only while it is still the run that was read (the same due time and owner).
            const due = numOrNull(row.last_due)
            const ended = await sql`
              UPDATE schedule_runs SET last_status = 'interrupted', last_error = 'the gateway stopped during the run'
              WHERE id = ${row.id} AND last_status = 'running' AND last_due IS NOT DISTINCT FROM ${due}::bigint
                AND owner IS NOT DISTINCT FROM ${strOrNull(row.owner)}::text`
            if (ended.count === 1) out.push({ id: str(row.id), due, why: taken.why })
          }
          return out
        },
      },
    },

    jobs: {
      async create(input) {
        const now = Date.now()
        const id = Id.create("job", now)
        const [row] = await sql`
          INSERT INTO jobs (id, kind, session_id, status, title, child_session_id, provider, output_file, created_at, deadline_at, owner)
          VALUES (${id}, ${input.kind}, ${input.sessionId}, 'running', ${clean(input.title)}, ${input.childSessionId ?? null},
                  ${input.provider ?? null}, ${input.outputFile?.(id) ?? null}, ${now}, ${input.deadlineAt ?? null}, ${owner})
          RETURNING *`
        return toJob(row)
      },
      async get(id) {
        const [row] = await sql`SELECT * FROM jobs WHERE id = ${id}`
        return row ? toJob(row) : null
      },
      list: async (limit = 100) =>
        (await sql`SELECT * FROM jobs ORDER BY created_at DESC, id DESC LIMIT ${limit}::bigint`).map(toJob),
      ofSession: async (sessionId, limit = 100) =>
        (
          await sql`SELECT * FROM jobs WHERE session_id = ${sessionId} ORDER BY created_at DESC, id DESC LIMIT ${limit}::bigint`
        ).map(toJob),
      async running(scope) {
        const rows = await sql`SELECT * FROM jobs WHERE status = 'running' ORDER BY created_at`
        const take = await pickFor(scope)
        return rows.filter((row: Row) => take(strOrNull(row.owner))).map(toJob)
      },
      async recoverInterrupted(error, scope) {
        const rows = await sql`SELECT * FROM jobs WHERE status = 'running' ORDER BY created_at`
        const take = await pickFor(scope)
        const self = taker(scope, owner)
        const now = Date.now()
        const out: (Job & { why: string | null })[] = []
        for (const row of rows) {
          const taken = take(strOrNull(row.owner))
          if (!taken) continue
          // Ended and taken over only while it is still running and still its old owner's.
          const [ended] = await sql`
            UPDATE jobs SET status = 'interrupted', error = ${clean(error)}, ended_at = ${now}, owner = coalesce(${self}::text, owner)
            WHERE id = ${row.id} AND status = 'running' AND owner IS NOT DISTINCT FROM ${strOrNull(row.owner)}::text
            RETURNING *`
          if (ended) out.push({ ...toJob(ended), why: taken.why })
        }
        return out
      },
      async claimUnnotified(scope) {
        const self = taker(scope, owner)
        const out: Job[] = []
        const rows =
          await sql`SELECT * FROM jobs WHERE status != 'running' AND notified_at IS NULL ORDER BY ended_at, id`
        const take = await pickFor(scope)
        for (const row of rows) {
          if (!take(strOrNull(row.owner))) continue
          const [claimed] = await sql`
            UPDATE jobs SET owner = coalesce(${self}::text, owner)
            WHERE id = ${row.id} AND notified_at IS NULL AND owner IS NOT DISTINCT FROM ${strOrNull(row.owner)}::text
            RETURNING *`
          if (claimed) out.push(toJob(claimed))
        }
        return out
      },
      unnotified: async () =>
        (await sql`SELECT * FROM jobs WHERE status != 'running' AND notified_at IS NULL ORDER BY ended_at, id`).map(
          toJob,
        ),
      async setPid(id, pid) {
        await sql`UPDATE jobs SET pid = ${pid} WHERE id = ${id}`
      },
      async setChild(id, child, provider) {
        await sql`UPDATE jobs SET child_session_id = ${child}, provider = ${provider} WHERE id = ${id}`
      },
      finish: async (id, end) =>
        (
          await sql`UPDATE jobs SET status = ${end.status}, exit_code = ${end.exitCode ?? null}, result = ${clean(end.result ?? null)},
                    error = ${clean(end.error ?? null)}, ended_at = ${Date.now()} WHERE id = ${id} AND status = 'running'`
        ).count === 1,
      async markNotified(id) {
        await sql`UPDATE jobs SET notified_at = ${Date.now()} WHERE id = ${id}`
      },
    },

    telegram,
    channels,

    search: {
      async search(query) {
        const text = tsQuery(query.text, query.any)
        if (!text) return []
        const order = query.order === "relevant" ? sql`ts_rank(m.tsv, q.query) DESC, m.seq DESC` : sql`m.seq DESC`
        const rows = await sql`
          SELECT m.seq, m.session_id, s.title, m.role, m.created_at,
                 ts_headline('english', m.body, q.query,
                   'StartSel=«, StopSel=», MaxWords=24, MinWords=8, MaxFragments=2, FragmentDelimiter=…') AS snippet
          FROM (SELECT to_tsquery('english', ${text}) AS query) AS q
          JOIN messages AS m ON m.tsv @@ q.query
          JOIN sessions AS s ON s.id = m.session_id
          WHERE (${query.sessionId ?? null}::text IS NULL OR m.session_id = ${query.sessionId ?? null})
            AND (${query.role ?? null}::text IS NULL OR m.role = ${query.role ?? null})
            AND (${query.since ?? null}::bigint IS NULL OR m.created_at >= ${query.since ?? null})
            AND (${query.until ?? null}::bigint IS NULL OR m.created_at < ${query.until ?? null})
            AND (${query.excludeTurnId ?? null}::text IS NULL OR m.turn_id IS DISTINCT FROM ${query.excludeTurnId ?? null})
          ORDER BY ${order} LIMIT ${whole(query.limit, 20, 0, 10_000)}::bigint`
        return rows.map(
          (row: Row): MessageHit => ({
            seq: num(row.seq),
            sessionId: str(row.session_id),
            sessionTitle: str(row.title),
            role: row.role as MessageHit["role"],
            createdAt: num(row.created_at),
            snippet: str(row.snippet),
          }),
        )
      },
    },

    portable: postgresPortable(sql, { bodyOf, clean }),

    usage: {
      async steps(filter = {}) {
        const rows = await sql`
          SELECT provider, sum((usage::jsonb ->> 'input')::numeric) AS input, sum((usage::jsonb ->> 'output')::numeric) AS output,
                 sum((usage::jsonb ->> 'cached')::numeric) AS cached
          FROM messages WHERE usage IS NOT NULL AND provider IS NOT NULL
            AND (${filter.sessionId ?? null}::text IS NULL OR session_id = ${filter.sessionId ?? null})
            AND (${filter.turnId ?? null}::text IS NULL OR turn_id = ${filter.turnId ?? null})
            AND (${filter.since ?? null}::bigint IS NULL OR created_at >= ${filter.since ?? null})
          GROUP BY provider ORDER BY provider`
        return Object.fromEntries(rows.map((row: Row) => [str(row.provider), usageOf(row)]))
      },
      async slices(since, sliceMs, before = Number.MAX_SAFE_INTEGER) {
        const rows = await sql`
          SELECT provider, (created_at / ${sliceMs}::bigint) * ${sliceMs}::bigint AS slice,
                 sum((usage::jsonb ->> 'input')::numeric) AS input, sum((usage::jsonb ->> 'output')::numeric) AS output,
                 sum((usage::jsonb ->> 'cached')::numeric) AS cached
          FROM messages WHERE usage IS NOT NULL AND provider IS NOT NULL
            AND created_at >= ${since}::bigint AND created_at < ${before}::bigint
          GROUP BY provider, slice`
        return rows.map((row: Row) => ({ provider: str(row.provider), slice: num(row.slice), usage: usageOf(row) }))
      },
    },

    events: {
      async reserve(count = 1) {
        // Never below the bus's own start (Date.now() * 1000), so ids do not go backwards after a switch.
        const floor = Date.now() * 1000
        const [row] = await sql`
          INSERT INTO event_ids (one, next) VALUES (true, ${floor}::bigint + ${count}::bigint)
          ON CONFLICT (one) DO UPDATE SET next = greatest(event_ids.next, ${floor}::bigint) + ${count}::bigint
          RETURNING next - ${count}::bigint AS first`
        return num(row.first)
      },
      async announce(channel, bodies) {
        checkNotice(channel)
        checkBodies(bodies)
        if (bodies.length === 0) return 0
        const count = bodies.length
        const floor = Date.now() * 1000
        // The lock on event_ids' row is held to commit: of two announcements, the one with the lower ids
        // commits first, and NOTIFY delivers in commit order, so every listener hears ids in order.
        let lines = 0
        for (const body of bodies) lines += Buffer.byteLength(body, "utf8") + 1
        if (lines + 20 <= MAX_PAYLOAD_BYTES) {
          // The common case, one notice: one statement (the lock is held for one round trip, not four).
          const rest = `\n${bodies.join("\n")}`
          const [row] = await sql`
            WITH r AS (
              INSERT INTO event_ids (one, next) VALUES (true, ${floor}::bigint + ${count}::bigint)
              ON CONFLICT (one) DO UPDATE SET next = greatest(event_ids.next, ${floor}::bigint) + ${count}::bigint
              RETURNING next - ${count}::bigint AS first)
            SELECT r.first, pg_notify(${channel}, r.first::text || ${rest})::text AS sent FROM r`
          return num(row.first)
        }
        // Several notices (a batch under load): still one statement, so the lock is held for one round trip
        // rather than one per notice. The split is made before the ids are known, with the widest id a
        // batch can start at (16 digits: ids stay below 2^53), so it holds for whatever first id the
        // reservation returns; the statement adds that first id to each notice's and stored body's offset.
        const base = Number.MAX_SAFE_INTEGER - count
        const packed = pack(base, bodies)
        const notices = packed.notices.map((payload) => {
          const head = payload.indexOf("\n")
          return [Number(payload.slice(0, head)) - base, payload.slice(head)]
        })
        const stored = packed.stored.map(({ id, body }) => [id - base, body])
        const [row] = await sql`
          WITH r AS (
            INSERT INTO event_ids (one, next) VALUES (true, ${floor}::bigint + ${count}::bigint)
            ON CONFLICT (one) DO UPDATE SET next = greatest(event_ids.next, ${floor}::bigint) + ${count}::bigint
            RETURNING next - ${count}::bigint AS first),
          b AS (
            INSERT INTO event_bodies (id, content, created_at)
            SELECT r.first + (e ->> 0)::bigint, e ->> 1, ${Date.now()}::bigint FROM r, json_array_elements(${JSON.stringify(stored)}::text::json) AS e)
          SELECT r.first, (SELECT count(pg_notify(${channel}, (r.first + (e ->> 0)::bigint)::text || (e ->> 1)))
                           FROM json_array_elements(${JSON.stringify(notices)}::text::json) AS e) AS sent
          FROM r`
        const first = num(row.first)
        const kept = stored.length > 0
        if (kept && ++announcedBodies % 100 === 1)
          await sql`DELETE FROM event_bodies WHERE created_at < ${Date.now() - BODY_KEEP_MS}::bigint`
        return first
      },
      listen: (channel, onevents, onlisten) =>
        listenAnnounced(store.notices.listen, (id) => store.events.body(id), channel, onevents, onlisten),
      async body(id) {
        const [row] = await sql`SELECT content FROM event_bodies WHERE id = ${id}::bigint`
        return row ? str(row.content) : null
      },
    },

    notices: {
      async notify(channel, payload = "") {
        checkNotice(channel, payload)
        await sql.notify(channel, payload)
      },
      // Bun.SQL's listen: every registration of this pool shares one dedicated connection, opened by the
      // first and closed with the last; reconnected with backoff and re-subscribed (onlisten again).
      async listen(channel, onnotify, onlisten) {
        checkNotice(channel)
        const subscription = await sql.listen(
          channel,
          guarded(channel, onnotify),
          onlisten && (() => guarded(channel, onlisten)("")),
        )
        subscriptions.add(subscription)
        return {
          async unlisten() {
            subscriptions.delete(subscription)
            await subscription.unlisten()
          },
        }
      },
    },

    async close() {
      for (const subscription of [...subscriptions]) await subscription.unlisten().catch(() => {})
      subscriptions.clear()
      await sql.close()
    },
  }
  return store
}

/** Why a PostgreSQL store could not be opened: names host:port and database, never the password. */
export class StoreUnreachable extends Error {
  constructor(
    readonly where: string,
    detail: string,
  ) {
    super(`cannot open the PostgreSQL store at ${where}: ${detail}`)
    this.name = "StoreUnreachable"
  }
}

/** Connect (one pool), migrate, and return the contract. Fails with StoreUnreachable, naming host:port. */
export async function openPostgres(url: string, options: PostgresOptions & { owner?: string } = {}): Promise<Store> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new StoreUnreachable(
      "(an unreadable URL)",
      "store.url is not a URL (expected postgres://user@host:port/database)",
    )
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:")
    throw new StoreUnreachable(describeUrl(url), `expected a postgres:// URL, not ${parsed.protocol}//`)
  const where = describeUrl(url)
  const secret = parsed.password ? decodeURIComponent(parsed.password) : ""
  const scrub = (text: string) => (secret ? text.replaceAll(secret, "***").replaceAll(parsed.password, "***") : text)
  const sql = new SQL(url, { max: options.max ?? 10, connectionTimeout: options.connectionTimeout ?? 5 })
  try {
    await migratePostgres(sql)
  } catch (error) {
    await sql.close().catch(() => {})
    const e = error as Error & { code?: string; errno?: string }
    const detail =
      e.code === "ERR_POSTGRES_CONNECTION_REFUSED" ? "connection refused (is the server running?)" : e.message
    throw new StoreUnreachable(where, scrub(`${detail}${e.errno ? ` (${e.errno})` : ""}`))
  }
  return postgresStore(sql, { owner: options.owner })
}
