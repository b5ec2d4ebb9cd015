/**
 * The durable state of channels built on the shared contract (src/channels/contract.ts), keyed by
 * scope: "<kind>:<bot or app id>" (never a token).
 * - The inbox: an event is stored before the platform is acknowledged and marked done in the same
 *   transaction that makes its user message durable. Done rows stay for `SEEN_MS` as "seen", so an
 *   event the platform delivers again (a resumed Gateway session, a Socket Mode retry) is refused.
 * - Which session each conversation talks to.
 * - Pairing codes and the users they approved.
 * Every channel keeps these here: Telegram (through src/store/telegram.ts, which adds its polling offset
 * and lease), Discord, Slack and plugin channels. Each had tables of its own until
 * SHARED_CHANNEL_TABLES_MIGRATION (below) carried them over.
 */
import type { Database } from "bun:sqlite"

/** Unambiguous characters only (no 0/O, 1/I/L): codes are read off a phone and typed into a shell. */
const ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
/** An unapproved code lives this long: long enough to ask the owner, short enough not to pile up. */
export const PAIRING_TTL_MS = 15 * 60 * 1000
/** Open codes per scope (bot); when full, the oldest gives way, so strangers cannot use up the codes. */
export const MAX_PENDING = 50
/** Codes one user can be issued per `ISSUE_WINDOW_MS`: a stranger pushed out cannot push back in a loop. */
export const MAX_PER_USER = 3
export const ISSUE_WINDOW_MS = 60 * 60 * 1000

export function newCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8))
  return [...bytes].map((byte) => ALPHABET[byte % ALPHABET.length]).join("")
}

/** How long a handled event is remembered, so a redelivery is recognised. Platforms redeliver within minutes. */
export const SEEN_MS = 7 * 24 * 60 * 60 * 1000
/** Expired codes kept at most per scope (the newest). */
const MAX_KEPT = 1000

export interface ChannelPairing {
  code: string
  scope: string
  userId: string
  conversation: string
  name: string
  createdAt: number
  expiresAt: number
  approvedAt: number | null
  notifiedAt: number | null
}

interface PairingRow {
  code: string
  scope: string
  user_id: string
  conversation: string
  name: string
  created_at: number
  expires_at: number
  approved_at: number | null
  notified_at: number | null
}

const toPairing = (row: PairingRow): ChannelPairing => ({
  code: row.code,
  scope: row.scope,
  userId: row.user_id,
  conversation: row.conversation,
  name: row.name,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  approvedAt: row.approved_at,
  notifiedAt: row.notified_at,
})

export type ChannelStore = ReturnType<typeof createChannelStore>

export function createChannelStore(db: Database) {
  const tx = <T>(fn: () => T): T => db.transaction(fn).immediate()
  let receives = 0

  return {
    /** One IMMEDIATE transaction (nested writes of other stores join it). */
    transaction: tx,

    /** Store an event; false when this event id was stored before (pending or seen). */
    receive(scope: string, eventId: string, payload: unknown): boolean {
      // Now and then, forget events handled long ago.
      if (++receives % 200 === 1)
        db.prepare("DELETE FROM channel_inbox WHERE done_at IS NOT NULL AND done_at < ?").run(Date.now() - SEEN_MS)
      return (
        db
          .prepare("INSERT OR IGNORE INTO channel_inbox (scope, event_id, payload, received_at) VALUES (?, ?, ?, ?)")
          .run(scope, eventId, JSON.stringify(payload ?? null), Date.now()).changes === 1
      )
    },

    /** Events received and not done, oldest first. */
    pending(scope: string): { eventId: string; payload: unknown }[] {
      const rows = db
        .query(
          "SELECT event_id, payload FROM channel_inbox WHERE scope = ? AND done_at IS NULL ORDER BY received_at, rowid",
        )
        .all(scope) as { event_id: string; payload: string }[]
      return rows.map((row) => ({ eventId: row.event_id, payload: JSON.parse(row.payload) }))
    },

    /** Mark events handled; their payload is dropped, their id kept as seen. */
    done(scope: string, eventIds: string[]) {
      const mark = db.prepare(
        "UPDATE channel_inbox SET done_at = ?, payload = 'null' WHERE scope = ? AND event_id = ? AND done_at IS NULL",
      )
      tx(() => {
        const now = Date.now()
        for (const id of eventIds) mark.run(now, scope, id)
      })
    },

    session(scope: string, conversation: string): string | null {
      const row = db
        .query("SELECT session_id FROM channel_conversations WHERE scope = ? AND conversation = ?")
        .get(scope, conversation) as { session_id: string } | null
      return row?.session_id ?? null
    },

    setSession(scope: string, conversation: string, sessionId: string) {
      db.prepare(
        "INSERT INTO channel_conversations (scope, conversation, session_id, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (scope, conversation) DO UPDATE SET session_id = excluded.session_id, updated_at = excluded.updated_at",
      ).run(scope, conversation, sessionId, Date.now())
    },

    /**
     * The open code for a user, or a new one; null when the user was issued `MAX_PER_USER` codes
     * within the hour. A full scope expires its oldest open code first.
     */
    pairingFor(input: {
      scope: string
      userId: string
      conversation: string
      name: string
    }): { pairing: ChannelPairing; created: boolean } | null {
      return tx(() => {
        const now = Date.now()
        const open = db
          .query(
            "SELECT * FROM channel_pairings WHERE scope = ? AND user_id = ? AND approved_at IS NULL AND expires_at > ?",
          )
          .get(input.scope, input.userId, now) as PairingRow | null
        if (open) return { pairing: toPairing(open), created: false }
        db.prepare("DELETE FROM channel_pairings WHERE approved_at IS NULL AND created_at <= ?").run(
          now - ISSUE_WINDOW_MS,
        )
        const issued = (
          db
            .query("SELECT COUNT(*) AS n FROM channel_pairings WHERE scope = ? AND user_id = ? AND approved_at IS NULL")
            .get(input.scope, input.userId) as { n: number }
        ).n
        if (issued >= MAX_PER_USER) return null
        const count = (
          db
            .query(
              "SELECT COUNT(*) AS n FROM channel_pairings WHERE scope = ? AND approved_at IS NULL AND expires_at > ?",
            )
            .get(input.scope, now) as { n: number }
        ).n
        if (count >= MAX_PENDING)
          db.prepare(
            "UPDATE channel_pairings SET expires_at = ? WHERE code IN (SELECT code FROM channel_pairings WHERE scope = ? AND approved_at IS NULL AND expires_at > ? ORDER BY created_at, rowid LIMIT ?)",
          ).run(now, input.scope, now, count - MAX_PENDING + 1)
        const code = newCode()
        db.prepare(
          "INSERT INTO channel_pairings (code, scope, user_id, conversation, name, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        ).run(code, input.scope, input.userId, input.conversation, input.name, now, now + PAIRING_TTL_MS)
        db.prepare(
          "DELETE FROM channel_pairings WHERE code IN (SELECT code FROM channel_pairings WHERE scope = ? AND approved_at IS NULL AND expires_at <= ? ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?)",
        ).run(input.scope, now, MAX_KEPT)
        return {
          pairing: toPairing(db.query("SELECT * FROM channel_pairings WHERE code = ?").get(code) as PairingRow),
          created: true,
        }
      })
    },

    /** Approve an open code (of any scope whose name starts with `kind:`, when given). Null when none matches. */
    approve(code: string, kind?: string): ChannelPairing | null {
      const normalized = code.trim().toUpperCase()
      return tx(() => {
        const row = db
          .query("SELECT * FROM channel_pairings WHERE code = ? AND approved_at IS NULL AND expires_at > ?")
          .get(normalized, Date.now()) as PairingRow | null
        if (!row || (kind && !row.scope.startsWith(`${kind}:`))) return null
        db.prepare("UPDATE channel_pairings SET approved_at = ? WHERE code = ?").run(Date.now(), normalized)
        return toPairing(db.query("SELECT * FROM channel_pairings WHERE code = ?").get(normalized) as PairingRow)
      })
    },

    /** Remove every approval of a user in a scope. Returns how many were removed. */
    revoke(scope: string, userId: string): number {
      return db
        .prepare("DELETE FROM channel_pairings WHERE scope = ? AND user_id = ? AND approved_at IS NOT NULL")
        .run(scope, userId).changes
    },

    /** Remove a user's approvals in every scope starting with `prefix` ("telegram:"). Returns how many. */
    revokeAll(prefix: string, userId: string): number {
      return db
        .prepare(
          "DELETE FROM channel_pairings WHERE scope LIKE ? ESCAPE '\\' AND user_id = ? AND approved_at IS NOT NULL",
        )
        .run(`${prefix.replace(/[\\%_]/g, "\\$&")}%`, userId).changes
    },

    approved(scope: string, userId: string): boolean {
      return (
        db
          .query("SELECT 1 FROM channel_pairings WHERE scope = ? AND user_id = ? AND approved_at IS NOT NULL LIMIT 1")
          .get(scope, userId) !== null
      )
    },

    /** Approved and open codes of the scopes starting with `prefix` ("discord:" for every Discord bot). */
    pairings(prefix = ""): ChannelPairing[] {
      const rows = db
        .query(
          "SELECT * FROM channel_pairings WHERE scope LIKE ? ESCAPE '\\' AND (approved_at IS NOT NULL OR expires_at > ?) ORDER BY created_at DESC",
        )
        .all(`${prefix.replace(/[\\%_]/g, "\\$&")}%`, Date.now()) as PairingRow[]
      return rows.map(toPairing)
    },

    /** Approvals the user has not been told about yet (approved from the CLI or the Control API). */
    unnotified(scope: string): ChannelPairing[] {
      const rows = db
        .query("SELECT * FROM channel_pairings WHERE scope = ? AND approved_at IS NOT NULL AND notified_at IS NULL")
        .all(scope) as PairingRow[]
      return rows.map(toPairing)
    },

    notified(code: string) {
      db.prepare("UPDATE channel_pairings SET notified_at = ? WHERE code = ?").run(Date.now(), code)
    },

    /**
     * A channel instance's own durable value, undefined when none is stored. Kept in the store's `kv`
     * table (`channel-state/<scope>/<key>`), which every store engine has: no table of its own.
     */
    stateGet(scope: string, key: string): unknown {
      const row = db.query("SELECT value FROM kv WHERE key = ?").get(stateKey(scope, key)) as { value: string } | null
      return row ? JSON.parse(row.value) : undefined
    },

    /** Store a value (JSON, at most MAX_STATE_CHARS); undefined deletes the key. */
    stateSet(scope: string, key: string, value: unknown) {
      if (value === undefined) {
        db.prepare("DELETE FROM kv WHERE key = ?").run(stateKey(scope, key))
        return
      }
      const json = JSON.stringify(value)
      if (json.length > MAX_STATE_CHARS)
        throw new RangeError(`channel state "${key}" is ${json.length} characters as JSON; at most ${MAX_STATE_CHARS}`)
      db.prepare(
        "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      ).run(stateKey(scope, key), json)
    },
  }
}

/** One state value's JSON: small values (a resume token, a cursor), not a data store. */
export const MAX_STATE_CHARS = 64 * 1024

const stateKey = (scope: string, key: string) => `channel-state/${scope}/${key}`

/**
 * The migration (src/store/db.ts) that moved Discord's Gateway session per shard from its own table
 * (`discord_gateway`, created on the channel's first use, so possibly absent) into channel state: scope
 * `discord:<bot id>`, key `gateway:<shard>` (src/channels/discord/store.ts), the same JSON, so a
 * gateway upgraded while Discord kept its session RESUMEs it. PostgreSQL never had the table.
 */
export const DISCORD_GATEWAY_MIGRATION = `
  CREATE TABLE IF NOT EXISTS discord_gateway (
    bot_id TEXT NOT NULL, shard INTEGER NOT NULL, session TEXT NOT NULL,
    PRIMARY KEY (bot_id, shard)
  );
  INSERT OR IGNORE INTO kv (key, value)
    SELECT 'channel-state/discord:' || bot_id || '/gateway:' || shard, session FROM discord_gateway;
  DROP TABLE discord_gateway;
`

/**
 * The migration (src/store/db.ts) that carried the channels' own tables over into the shared ones when
 * they moved onto them: pairings (`discord_pairings`, `slack_pairings`, `telegram_pairings` →
 * `channel_pairings`, scopes `discord:<bot id>`, `slack:<team>:<bot user>`, `telegram:<bot id>`), the
 * inboxes (`slack_inbox`, `telegram_inbox` → `channel_inbox`) and the conversations (`slack_conversations`,
 * `telegram_chats` → `channel_conversations`, scopes `slack` / `telegram`, conversations as the sessions'
 * channelKey: `<team>:<bot user>|<conversation>`, `<bot id>:<chat id>`). Discord's and Slack's tables were
 * created on a channel's first use, so each table is created here if absent before its rows are copied
 * and it is dropped. Discord's Gateway session (`discord_gateway`, since moved into channel state:
 * DISCORD_GATEWAY_MIGRATION) and Telegram's offset and lease (`telegram_bots`) stayed the channels' own.
 */
export const SHARED_CHANNEL_TABLES_MIGRATION = `
  CREATE TABLE IF NOT EXISTS discord_pairings (
    code TEXT PRIMARY KEY, bot_id TEXT NOT NULL, user_id TEXT NOT NULL, conversation TEXT NOT NULL,
    name TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, approved_at INTEGER,
    notified_at INTEGER
  );
  INSERT OR IGNORE INTO channel_pairings
    (code, scope, user_id, conversation, name, created_at, expires_at, approved_at, notified_at)
    SELECT code, 'discord:' || bot_id, user_id, conversation, name, created_at, expires_at, approved_at, notified_at
    FROM discord_pairings;
  DROP TABLE discord_pairings;
  CREATE TABLE IF NOT EXISTS slack_pairings (
    code TEXT PRIMARY KEY, scope TEXT NOT NULL, user_id TEXT NOT NULL, conversation TEXT NOT NULL,
    created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, approved_at INTEGER, notified_at INTEGER
  );
  INSERT OR IGNORE INTO channel_pairings
    (code, scope, user_id, conversation, name, created_at, expires_at, approved_at, notified_at)
    SELECT code, 'slack:' || scope, user_id, conversation, '', created_at, expires_at, approved_at, notified_at
    FROM slack_pairings;
  DROP TABLE slack_pairings;
  CREATE TABLE IF NOT EXISTS slack_inbox (
    scope TEXT NOT NULL, event_id TEXT NOT NULL, payload TEXT NOT NULL,
    received_at INTEGER NOT NULL, done_at INTEGER,
    PRIMARY KEY (scope, event_id)
  );
  INSERT OR IGNORE INTO channel_inbox (scope, event_id, payload, received_at, done_at)
    SELECT 'slack:' || scope, event_id, payload, received_at, done_at FROM slack_inbox;
  DROP TABLE slack_inbox;
  CREATE TABLE IF NOT EXISTS slack_conversations (
    scope TEXT NOT NULL, conversation TEXT NOT NULL, session_id TEXT NOT NULL,
    PRIMARY KEY (scope, conversation)
  );
  INSERT OR IGNORE INTO channel_conversations (scope, conversation, session_id, updated_at)
    SELECT 'slack', scope || '|' || conversation, session_id, 0 FROM slack_conversations;
  DROP TABLE slack_conversations;
  CREATE TABLE IF NOT EXISTS telegram_pairings (
    code TEXT PRIMARY KEY, bot_id TEXT NOT NULL, user_id INTEGER NOT NULL, chat_id INTEGER NOT NULL,
    name TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, approved_at INTEGER,
    notified_at INTEGER
  );
  INSERT OR IGNORE INTO channel_pairings
    (code, scope, user_id, conversation, name, created_at, expires_at, approved_at, notified_at)
    SELECT code, 'telegram:' || bot_id, CAST(user_id AS TEXT), CAST(chat_id AS TEXT), name, created_at, expires_at,
      approved_at, notified_at
    FROM telegram_pairings;
  DROP TABLE telegram_pairings;
  CREATE TABLE IF NOT EXISTS telegram_chats (
    bot_id TEXT NOT NULL, chat_id INTEGER NOT NULL, session_id TEXT NOT NULL, updated_at INTEGER NOT NULL,
    PRIMARY KEY (bot_id, chat_id)
  );
  INSERT OR IGNORE INTO channel_conversations (scope, conversation, session_id, updated_at)
    SELECT 'telegram', bot_id || ':' || chat_id, session_id, updated_at FROM telegram_chats;
  DROP TABLE telegram_chats;
  CREATE TABLE IF NOT EXISTS telegram_inbox (
    bot_id TEXT NOT NULL, update_id INTEGER NOT NULL, payload TEXT NOT NULL, received_at INTEGER NOT NULL,
    PRIMARY KEY (bot_id, update_id)
  );
  INSERT OR IGNORE INTO channel_inbox (scope, event_id, payload, received_at)
    SELECT 'telegram:' || bot_id, CAST(update_id AS TEXT), payload, received_at FROM telegram_inbox ORDER BY bot_id, update_id;
  DROP TABLE telegram_inbox;
`
