/**
 * Opens the SQLite database with the settings a long-lived, crash-tolerant gateway needs (see
 * BUN-TRAPS §1): WAL with synchronous=NORMAL (durable across process crashes, 8× the write rate of the
 * default FULL), a busy timeout instead of instant SQLITE_BUSY, and foreign keys. Migrations are an
 * ordered list tracked by `PRAGMA user_version`, each applied in its own IMMEDIATE transaction.
 */
import { Database } from "bun:sqlite"
import { chmodSync, mkdirSync, statSync } from "node:fs"
import { dirname } from "node:path"
import { contentProblem, headerProblem } from "./check.ts"
import { classify, StoreDamaged } from "./fault.ts"
import { Flag } from "../util/flag.ts"
import { MESSAGE_TEXT } from "./message-text.ts"
import { DISCORD_GATEWAY_MIGRATION, SHARED_CHANNEL_TABLES_MIGRATION } from "./channels.ts"

const MIGRATIONS: string[] = [
  `
  CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    provider TEXT NOT NULL,
    pending_provider TEXT,
    channel TEXT,
    channel_key TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    message_count INTEGER NOT NULL DEFAULT 0,
    usage_input INTEGER NOT NULL DEFAULT 0,
    usage_output INTEGER NOT NULL DEFAULT 0,
    usage_cached INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX sessions_updated ON sessions(updated_at DESC);
  CREATE INDEX sessions_channel ON sessions(channel, channel_key);

  CREATE TABLE messages (
    seq INTEGER PRIMARY KEY, -- no AUTOINCREMENT: it costs an extra page write per message
    id TEXT NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    turn_id TEXT,
    role TEXT NOT NULL,
    parts TEXT NOT NULL,
    provider TEXT,
    usage TEXT,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX messages_session ON messages(session_id, seq);

  CREATE TABLE turns (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT 'api',
    provider TEXT,
    error TEXT,
    usage TEXT,
    steps INTEGER NOT NULL DEFAULT 0,
    tool_calls INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    ended_at INTEGER
  );
  CREATE INDEX turns_session ON turns(session_id, created_at);
  CREATE INDEX turns_open ON turns(status) WHERE status IN ('queued', 'running');

  CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  `,
  // Memory index, history summaries, continuity, schedules (memory and continuity).
  `
  CREATE TABLE memory_files (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    mtime REAL NOT NULL,
    size INTEGER NOT NULL,
    hash TEXT NOT NULL
  );
  CREATE VIRTUAL TABLE memory_fts USING fts5(path, title, body, tokenize = 'porter unicode61');

  CREATE TABLE summaries (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    upto_seq INTEGER NOT NULL,
    text TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX summaries_session ON summaries(session_id, upto_seq);

  CREATE TABLE schedule_runs (
    id TEXT PRIMARY KEY,
    last_due INTEGER,
    last_started INTEGER,
    last_status TEXT,
    last_error TEXT,
    session_id TEXT
  );
  `,
  // Telegram channel: polling offset and lease per bot, the durable update inbox, chat → session
  // mapping, pairing codes and the users they approved.
  `
  CREATE TABLE telegram_bots (
    bot_id TEXT PRIMARY KEY,
    next_offset INTEGER NOT NULL DEFAULT 0,
    lease_holder TEXT,
    lease_until INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE telegram_inbox (
    bot_id TEXT NOT NULL,
    update_id INTEGER NOT NULL,
    payload TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (bot_id, update_id)
  );
  CREATE TABLE telegram_chats (
    bot_id TEXT NOT NULL,
    chat_id INTEGER NOT NULL,
    session_id TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (bot_id, chat_id)
  );
  CREATE TABLE telegram_pairings (
    code TEXT PRIMARY KEY,
    bot_id TEXT NOT NULL,
    user_id INTEGER NOT NULL,
    chat_id INTEGER NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    approved_at INTEGER,
    notified_at INTEGER
  );
  CREATE INDEX telegram_pairings_user ON telegram_pairings(bot_id, user_id);
  `,
  // Background work (agent.spawn subagents, background shell processes): durable, so a restart
  // reports a job it could not finish as interrupted instead of losing it.
  `
  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    title TEXT NOT NULL,
    child_session_id TEXT,
    provider TEXT,
    pid INTEGER,
    output_file TEXT,
    exit_code INTEGER,
    result TEXT,
    error TEXT,
    created_at INTEGER NOT NULL,
    deadline_at INTEGER,
    ended_at INTEGER,
    notified_at INTEGER
  );
  CREATE INDEX jobs_session ON jobs(session_id, created_at);
  CREATE INDEX jobs_open ON jobs(status) WHERE status = 'running';
  `,
  // Schedules made at run time (the agent's schedule.create, the Control API), beside the config's;
  // their runs are claimed in schedule_runs like the config's (src/store/schedules.ts).
  `
  CREATE TABLE schedules (
    id TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    origin TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  `,
  // Full-text index of what was said (sessions.search): the text parts of user and assistant messages,
  // rowid = seq. An append only notes its seq in messages_fts_pending (an FTS5 insert in every
  // one-message commit would cost two thirds of the append rate); search.ts indexes the pending rows in
  // batches: in their own transaction when turns pause (search.ts) and before every search, so a search sees every message.
  // Triggers catch every writer (appends, imports, repair's row copy); existing messages are indexed here.
  `
  CREATE VIRTUAL TABLE messages_fts USING fts5(body, tokenize = 'porter unicode61 remove_diacritics 2');
  CREATE TABLE messages_fts_pending (seq INTEGER PRIMARY KEY);
  CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.role IN ('user', 'assistant') BEGIN
    INSERT OR IGNORE INTO messages_fts_pending (seq) VALUES (new.seq);
  END;
  CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    DELETE FROM messages_fts WHERE rowid = old.seq;
    DELETE FROM messages_fts_pending WHERE seq = old.seq;
  END;
  CREATE TRIGGER messages_fts_update AFTER UPDATE OF parts, role ON messages BEGIN
    DELETE FROM messages_fts WHERE rowid = old.seq;
    INSERT OR IGNORE INTO messages_fts_pending (seq) SELECT new.seq WHERE new.role IN ('user', 'assistant');
  END;
  INSERT INTO messages_fts (rowid, body)
    SELECT seq, body FROM (SELECT m.seq AS seq, ${MESSAGE_TEXT("m.parts")} AS body FROM messages AS m WHERE m.role IN ('user', 'assistant'))
    WHERE body <> '';
  `,
  // Channels on the shared contract (src/channels/contract.ts, src/store/channels.ts), keyed by scope
  // ("<kind>:<bot or app id>"): the durable inbox (rows stay as "seen" after done, so a redelivered
  // event is refused), conversation -> session mapping, pairing codes and the users they approved.
  `
  CREATE TABLE channel_inbox (
    scope TEXT NOT NULL,
    event_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    done_at INTEGER,
    PRIMARY KEY (scope, event_id)
  );
  CREATE INDEX channel_inbox_pending ON channel_inbox(scope, done_at, received_at);
  CREATE TABLE channel_conversations (
    scope TEXT NOT NULL,
    conversation TEXT NOT NULL,
    session_id TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (scope, conversation)
  );
  CREATE TABLE channel_pairings (
    code TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    user_id TEXT NOT NULL,
    conversation TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    approved_at INTEGER,
    notified_at INTEGER
  );
  CREATE INDEX channel_pairings_user ON channel_pairings(scope, user_id);
  `,
  // Turn ownership (src/store/gateways.ts): every gateway process on this database registers itself with
  // a heartbeat, and every turn records the gateway that accepted it, so recovery interrupts only the
  // turns of a gateway that is gone (a second gateway on the same file no longer takes the first's).
  `
  CREATE TABLE gateways (id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, started_at INTEGER NOT NULL, heartbeat_at INTEGER NOT NULL);
  ALTER TABLE turns ADD COLUMN owner TEXT;
  `,
  // Discord's and Slack's own pairings, inbox and conversations carried into the shared channel tables
  // (src/store/channels.ts), which both now use through the channel host; their old tables are dropped.
  SHARED_CHANNEL_TABLES_MIGRATION,
  // Ownership of background work as of turns (migration 8): the gateway that started a job and the one
  // that claimed a schedule's run, so recovery interrupts only those whose gateway is gone. The heartbeat
  // sweep also looks for endings a gone gateway did not note: the index keeps that a small read.
  `
  ALTER TABLE jobs ADD COLUMN owner TEXT;
  ALTER TABLE schedule_runs ADD COLUMN owner TEXT;
  CREATE INDEX jobs_unnoted ON jobs(ended_at, id) WHERE status != 'running' AND notified_at IS NULL;
  `,
  // The lease on a session's turns (issue 22: one gateway runs a session's turns at a time), read through
  // the store contract (engine/sqlite.ts); PostgreSQL's has the same shape. IF NOT EXISTS: a database
  // opened by the contract before this migration made it there.
  `CREATE TABLE IF NOT EXISTS session_leases (session_id TEXT PRIMARY KEY, holder TEXT NOT NULL, until INTEGER NOT NULL)`,
  // Announced event bodies too long for a notice (engine/contract.ts EventsContract.announce), by event id;
  // PostgreSQL's has the same shape.
  `CREATE TABLE event_bodies (id INTEGER PRIMARY KEY, content TEXT NOT NULL, created_at INTEGER NOT NULL);
   CREATE INDEX event_bodies_age ON event_bodies (created_at)`,
  // Discord's Gateway session into channel state (kv), where the contract reads it on either engine.
  DISCORD_GATEWAY_MIGRATION,
  // Telegram replies owed to accepted messages until they were sent (engine/contract.ts
  // TelegramRepliesContract), so the polling gateway answers what a crash left unanswered.
  `CREATE TABLE telegram_replies (
     bot_id TEXT NOT NULL, update_id INTEGER NOT NULL, chat_id INTEGER NOT NULL, message_id INTEGER NOT NULL,
     session_id TEXT NOT NULL, holder TEXT NOT NULL, turn_id TEXT, created_at INTEGER NOT NULL,
     PRIMARY KEY (bot_id, update_id))`,
  // The bot's message that carries an owed reply's answer (streamed into it): a takeover edits it.
  `ALTER TABLE telegram_replies ADD COLUMN answer_id INTEGER`,
]

export const SCHEMA_VERSION = MIGRATIONS.length

/**
 * Open (creating if needed) and migrate the database. A damaged file is refused with `StoreDamaged`
 * (the file and the fix: `drost doctor --repair`) after a cheap check (check.ts), never half-opened.
 */
export function open(path: string, options: { check?: boolean } = {}): Database {
  const check = options.check !== false && path !== ":memory:"
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const damaged = check ? headerProblem(path) : null
  if (damaged) throw new StoreDamaged(path, damaged)
  const size = check ? (statSync(path, { throwIfNoEntry: false })?.size ?? 0) : 0
  const db = new Database(path, { create: true, strict: true })
  try {
    // Conversations are private: the database is readable by its owner only.
    if (path !== ":memory:") chmodSync(path, 0o600)
    const found = check ? contentProblem(db, size) : null
    if (found) throw new StoreDamaged(path, found)
    db.run("PRAGMA journal_mode = WAL")
    db.run("PRAGMA synchronous = NORMAL")
    db.run("PRAGMA busy_timeout = 5000")
    db.run("PRAGMA foreign_keys = ON")
    // Checkpoint (and fsync) every ~40 MB of WAL instead of every 4 MB: fewer stalls under steady writes.
    db.run("PRAGMA wal_autocheckpoint = 10000")
    migrate(db)
    // A size cap: writes past it fail with SQLITE_FULL exactly as on a full disk (a quota; the tests use it).
    const cap = Number(Flag.dbMaxPages())
    if (cap > 0) db.run(`PRAGMA max_page_count = ${Math.floor(cap)}`)
    return db
  } catch (error) {
    db.close()
    if (classify(error) === "corrupt") throw new StoreDamaged(path, (error as Error).message)
    throw error
  }
}

/** Apply the migrations not yet applied, up to `upTo` (all; a smaller one makes an older schema, for tests). */
export function migrate(db: Database, upTo = MIGRATIONS.length) {
  const current = (db.query("PRAGMA user_version").get() as { user_version: number }).user_version
  if (current > MIGRATIONS.length)
    throw new Error(`database schema version ${current} is newer than this drost (${MIGRATIONS.length}); upgrade drost`)
  for (let version = current; version < Math.min(upTo, MIGRATIONS.length); version++) {
    db.transaction(() => {
      db.run(MIGRATIONS[version]!)
      db.run(`PRAGMA user_version = ${version + 1}`)
    }).immediate()
  }
}

export function integrity(db: Database): string {
  return (db.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check
}

/**
 * Wrap `fn` in an IMMEDIATE transaction. Unlike `db.transaction(fn).immediate`, the BEGIN/COMMIT
 * statements are prepared once per database, which roughly doubles the rate of small durable writes
 * (one message per transaction is the gateway's hot path). Not re-entrant: don't nest.
 */
export function immediate<A extends unknown[], R>(db: Database, fn: (...args: A) => R): (...args: A) => R {
  const begin = db.prepare("BEGIN IMMEDIATE")
  const commit = db.prepare("COMMIT")
  const rollback = db.prepare("ROLLBACK")
  return (...args: A) => {
    if (db.inTransaction) return fn(...args)
    begin.run()
    try {
      const result = fn(...args)
      commit.run()
      return result
    } catch (error) {
      if (db.inTransaction) rollback.run()
      throw error
    }
  }
}
