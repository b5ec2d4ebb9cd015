/**
 * The PostgreSQL schema: the tables of the SQLite migrations (src/store/db.ts) that the store contract
 * reads and writes, in PostgreSQL's types. Times are BIGINT milliseconds, JSON columns stay TEXT (the
 * exact text the SQLite engine stores), message seq is an identity column. Differences from SQLite:
 * - full-text search is a generated `tsvector` over `messages.body` (the text parts, written with the
 *   message) with a GIN index, instead of FTS5 and its pending table;
 * - rows that SQLite orders by rowid (pairings, channel inbox) carry an identity column `n`;
 * - `event_ids`: the one sequence every gateway takes event ids from;
 * - the memory index (memory_files, memory_fts) is not here: memory is per node (docs/scale-out.md);
 *   Discord's Gateway session is channel state in kv, as in SQLite (whose old discord_gateway table a
 *   migration carried into it: src/store/channels.ts DISCORD_GATEWAY_MIGRATION).
 * Telegram keeps only telegram_bots (offset, lease); its inbox, chats and pairings are the shared channel
 * tables' since migration 2, as in SQLite.
 * Owners as in SQLite migrations 8 and 10: turns.owner, jobs.owner, schedule_runs.owner, the gateways table.
 * Migrations are an ordered list tracked in `drost_schema`, applied in one transaction under an
 * advisory lock, so gateways starting together migrate once.
 */
import type { SQL } from "bun"

export const PG_MIGRATIONS: string[] = [
  `
  CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    provider TEXT NOT NULL,
    pending_provider TEXT,
    channel TEXT,
    channel_key TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    message_count INTEGER NOT NULL DEFAULT 0,
    usage_input BIGINT NOT NULL DEFAULT 0,
    usage_output BIGINT NOT NULL DEFAULT 0,
    usage_cached BIGINT NOT NULL DEFAULT 0
  );
  CREATE INDEX sessions_updated ON sessions (updated_at DESC, id DESC);
  CREATE INDEX sessions_channel ON sessions (channel, channel_key);

  CREATE TABLE messages (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    turn_id TEXT,
    role TEXT NOT NULL,
    parts TEXT NOT NULL,
    provider TEXT,
    usage TEXT,
    created_at BIGINT NOT NULL,
    body TEXT,
    tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', coalesce(body, ''))) STORED
  );
  CREATE INDEX messages_session ON messages (session_id, seq);
  CREATE INDEX messages_tsv ON messages USING GIN (tsv);

  CREATE TABLE gateways (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
  );

  CREATE TABLE turns (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT 'api',
    provider TEXT,
    error TEXT,
    usage TEXT,
    steps INTEGER NOT NULL DEFAULT 0,
    tool_calls INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    ended_at BIGINT,
    owner TEXT
  );
  CREATE INDEX turns_session ON turns (session_id, created_at);
  CREATE INDEX turns_open ON turns (status) WHERE status IN ('queued', 'running');

  CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  CREATE TABLE summaries (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    upto_seq BIGINT NOT NULL,
    text TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL
  );
  CREATE INDEX summaries_session ON summaries (session_id, upto_seq);

  CREATE TABLE schedule_runs (
    id TEXT PRIMARY KEY,
    last_due BIGINT,
    last_started BIGINT,
    last_status TEXT,
    last_error TEXT,
    session_id TEXT,
    owner TEXT
  );
  CREATE TABLE schedules (
    id TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    origin TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  );

  CREATE TABLE telegram_bots (
    bot_id TEXT PRIMARY KEY,
    next_offset BIGINT NOT NULL DEFAULT 0,
    lease_holder TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0
  );
  CREATE TABLE telegram_inbox (
    bot_id TEXT NOT NULL,
    update_id BIGINT NOT NULL,
    payload TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (bot_id, update_id)
  );
  CREATE TABLE telegram_chats (
    bot_id TEXT NOT NULL,
    chat_id BIGINT NOT NULL,
    session_id TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (bot_id, chat_id)
  );
  CREATE TABLE telegram_pairings (
    code TEXT PRIMARY KEY,
    n BIGINT GENERATED ALWAYS AS IDENTITY,
    bot_id TEXT NOT NULL,
    user_id BIGINT NOT NULL,
    chat_id BIGINT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    approved_at BIGINT,
    notified_at BIGINT
  );
  CREATE INDEX telegram_pairings_user ON telegram_pairings (bot_id, user_id);

  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    title TEXT NOT NULL,
    child_session_id TEXT,
    provider TEXT,
    pid INTEGER,
    output_file TEXT,
    exit_code INTEGER,
    result TEXT,
    error TEXT,
    created_at BIGINT NOT NULL,
    deadline_at BIGINT,
    ended_at BIGINT,
    notified_at BIGINT,
    owner TEXT
  );
  CREATE INDEX jobs_session ON jobs (session_id, created_at);
  CREATE INDEX jobs_open ON jobs (status) WHERE status = 'running';
  CREATE INDEX jobs_unnoted ON jobs (ended_at, id) WHERE status != 'running' AND notified_at IS NULL;

  CREATE TABLE channel_inbox (
    scope TEXT NOT NULL,
    event_id TEXT NOT NULL,
    n BIGINT GENERATED ALWAYS AS IDENTITY,
    payload TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    done_at BIGINT,
    PRIMARY KEY (scope, event_id)
  );
  CREATE INDEX channel_inbox_pending ON channel_inbox (scope, done_at, received_at);
  CREATE TABLE channel_conversations (
    scope TEXT NOT NULL,
    conversation TEXT NOT NULL,
    session_id TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (scope, conversation)
  );
  CREATE TABLE channel_pairings (
    code TEXT PRIMARY KEY,
    n BIGINT GENERATED ALWAYS AS IDENTITY,
    scope TEXT NOT NULL,
    user_id TEXT NOT NULL,
    conversation TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    approved_at BIGINT,
    notified_at BIGINT
  );
  CREATE INDEX channel_pairings_user ON channel_pairings (scope, user_id);

  CREATE TABLE event_ids (one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one), next BIGINT NOT NULL);
  `,
  // Telegram on the shared channel tables, as SQLite's SHARED_CHANNEL_TABLES_MIGRATION (src/store/channels.ts):
  // the inbox and the pairings under the scope telegram:<bot id>, the chats as conversations
  // <bot id>:<chat id> of the scope "telegram"; telegram_bots (offset, polling lease) stays Telegram's own.
  `
  INSERT INTO channel_pairings (code, scope, user_id, conversation, name, created_at, expires_at, approved_at, notified_at)
    SELECT code, 'telegram:' || bot_id, user_id::text, chat_id::text, name, created_at, expires_at, approved_at, notified_at
    FROM telegram_pairings ORDER BY n
    ON CONFLICT (code) DO NOTHING;
  DROP TABLE telegram_pairings;
  INSERT INTO channel_conversations (scope, conversation, session_id, updated_at)
    SELECT 'telegram', bot_id || ':' || chat_id, session_id, updated_at FROM telegram_chats
    ON CONFLICT (scope, conversation) DO NOTHING;
  DROP TABLE telegram_chats;
  INSERT INTO channel_inbox (scope, event_id, payload, received_at)
    SELECT 'telegram:' || bot_id, update_id::text, payload, received_at FROM telegram_inbox ORDER BY bot_id, update_id
    ON CONFLICT (scope, event_id) DO NOTHING;
  DROP TABLE telegram_inbox;
  `,
  // The session leases (contract.ts SessionLeasesContract): one gateway at a time runs a session's turns.
  `
  CREATE TABLE session_leases (session_id TEXT PRIMARY KEY, holder TEXT NOT NULL, until BIGINT NOT NULL);
  `,
  // Announced event bodies too long for a notice (contract.ts EventsContract.announce), by event id.
  `
  CREATE TABLE event_bodies (id BIGINT PRIMARY KEY, content TEXT NOT NULL, created_at BIGINT NOT NULL);
  CREATE INDEX event_bodies_age ON event_bodies (created_at);
  `,
  // Telegram replies owed to accepted messages until they were sent (contract.ts TelegramRepliesContract).
  `
  CREATE TABLE telegram_replies (
    bot_id TEXT NOT NULL, update_id BIGINT NOT NULL, chat_id BIGINT NOT NULL, message_id BIGINT NOT NULL,
    session_id TEXT NOT NULL, holder TEXT NOT NULL, turn_id TEXT, created_at BIGINT NOT NULL,
    PRIMARY KEY (bot_id, update_id));
  `,
  // The bot's message that carries an owed reply's answer (streamed into it): a takeover edits it.
  `ALTER TABLE telegram_replies ADD COLUMN answer_id BIGINT;`,
]

export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length

/** Any number: the lock gateways take while they migrate (one migrates, the others wait and find it done). */
const MIGRATION_LOCK = 22_0001

export async function migratePostgres(sql: SQL): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK}::bigint)`
    await tx`CREATE TABLE IF NOT EXISTS drost_schema (one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one), version INTEGER NOT NULL)`
    const [row] = await tx`SELECT version FROM drost_schema`
    const current: number = row?.version ?? 0
    if (current > PG_MIGRATIONS.length)
      throw new Error(
        `database schema version ${current} is newer than this drost (${PG_MIGRATIONS.length}); upgrade drost`,
      )
    for (let version = current; version < PG_MIGRATIONS.length; version++) await tx.unsafe(PG_MIGRATIONS[version]!)
    await tx`INSERT INTO drost_schema (one, version) VALUES (true, ${PG_MIGRATIONS.length}::int)
             ON CONFLICT (one) DO UPDATE SET version = excluded.version`
  })
}
