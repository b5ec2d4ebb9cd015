/**
 * Search over everything said in every session: the `messages_fts` index (migration 6) queried newest
 * first, so "what did I say about X" finds the latest mentions
 * without scoring every match (FTS5 walks its rowids backwards and stops at the limit: p50 a few ms
 * over a million messages, bench/session-search.ts). `relevant` ranks by bm25 instead, which costs time
 * in proportion to the number of matches.
 */
import type { Database } from "bun:sqlite"
import { immediate } from "./db.ts"
import { MESSAGE_TEXT } from "./message-text.ts"

/** Messages that wait before they are indexed: below this a batch costs FTS5 nearly per message. */
export const INDEX_BATCH = 512
/** Quiet time (no turn ending) before a batch is indexed in the background. */
export const INDEX_IDLE_MS = 50
/** Past this many waiting, a batch is indexed even while turns keep ending. */
const INDEX_BUSY_LIMIT = 2 * INDEX_BATCH
/** What a previous run left waiting is indexed this long after the store opens: after the start, not in it. */
const INDEX_CATCH_UP_MS = 1_000

/**
 * Index the messages written since the last batch (their seqs wait in messages_fts_pending, put there
 * by a trigger on every insert, durable with the message). FTS5's cost is per batch far more than per
 * row (merging segments): one message per commit costs ~15× what one message in a batch of thousands
 * does (bench/session-search.ts). So a turn's end only asks for a batch (`soon`), and a batch of
 * INDEX_BATCH is indexed in its own transaction once that many wait and no turn has ended for
 * INDEX_IDLE_MS (or INDEX_BUSY_LIMIT wait: under steady load), never inside the turn's closing commit
 * (a batch takes about 13 ms). search() indexes whatever waits before it reads, so a search always sees
 * every message; what waited when the process stopped (even killed) is still in the table, and is
 * indexed in the background from a second after the next start. Re-entrant inside a transaction.
 */
export function createIndexer(db: Database) {
  const waiting = db.query<{ n: number }, { skip: number }>(
    "SELECT count(*) AS n FROM (SELECT 1 FROM messages_fts_pending LIMIT 1 OFFSET $skip)",
  )
  const body = MESSAGE_TEXT("m.parts")
  const index = db.query(
    `INSERT INTO messages_fts (rowid, body)
       SELECT seq, body FROM (
         SELECT m.seq AS seq, ${body} AS body
         FROM messages_fts_pending AS q JOIN messages AS m ON m.seq = q.seq)
       WHERE body <> ''`,
  )
  const clear = db.query("DELETE FROM messages_fts_pending")
  const run = immediate(db, () => {
    index.run()
    clear.run()
  })
  // The oldest `limit` waiting (up to seq `upto`): the background indexes one batch at a time, so it
  // never holds the event loop (and the write lock) longer than one batch takes.
  const indexSome = db.query(
    `INSERT INTO messages_fts (rowid, body)
       SELECT seq, body FROM (
         SELECT m.seq AS seq, ${body} AS body
         FROM (SELECT seq FROM messages_fts_pending WHERE seq <= $upto ORDER BY seq LIMIT $limit) AS q
         JOIN messages AS m ON m.seq = q.seq)
       WHERE body <> ''`,
  )
  const clearSome = db.query(
    "DELETE FROM messages_fts_pending WHERE seq IN (SELECT seq FROM messages_fts_pending WHERE seq <= $upto ORDER BY seq LIMIT $limit)",
  )
  const runSome = immediate(db, (upto: number) => {
    indexSome.run({ upto, limit: INDEX_BATCH })
    clearSome.run({ upto, limit: INDEX_BATCH })
  })
  const has = (atLeast: number) => Boolean(waiting.get({ skip: atLeast - 1 })?.n)
  const newest = db.query<{ seq: number | null }, []>("SELECT max(seq) AS seq FROM messages_fts_pending")
  const oldest = db.query<{ seq: number | null }, []>("SELECT min(seq) AS seq FROM messages_fts_pending")

  let timer: ReturnType<typeof setTimeout> | null = null
  let lastEnd = performance.now()
  let wanted = INDEX_BATCH
  /** What a previous run left waiting (stopped or killed before its batch): indexed whatever its count. */
  let leftover = newest.get()?.seq ?? 0
  const arm = (ms = INDEX_IDLE_MS) => {
    if (timer) return
    timer = setTimeout(tick, ms)
    timer.unref?.()
  }
  const tick = () => {
    timer = null
    try {
      if (db.inTransaction) return arm()
      const quiet = performance.now() - lastEnd >= INDEX_IDLE_MS
      if (!quiet && !has(INDEX_BUSY_LIMIT)) return arm()
      if (leftover > 0) {
        runSome(leftover)
        if ((oldest.get()?.seq ?? Number.POSITIVE_INFINITY) > leftover) leftover = 0
        return arm(0)
      }
      if (!has(wanted)) return
      runSome(Number.MAX_SAFE_INTEGER)
      if (has(wanted)) arm(0)
    } catch {
      // The database closed under the timer, or a write failed (full disk): what waits stays in the
      // table, and the next turn's end or search() indexes it.
    }
  }
  if (leftover > 0) arm(INDEX_CATCH_UP_MS)

  return {
    /** Index what is pending once at least `atLeast` messages wait (default 1); no write lock otherwise. */
    flush(atLeast = 1) {
      if (has(atLeast)) run()
    },
    /**
     * A turn ended (called inside its closing transaction, which this does not lengthen): a batch is
     * indexed in the background once `atLeast` wait and turns pause.
     */
    soon(atLeast = INDEX_BATCH) {
      lastEnd = performance.now()
      wanted = atLeast
      arm()
    },
  }
}

export interface MessageHit {
  seq: number
  sessionId: string
  sessionTitle: string
  role: "user" | "assistant"
  createdAt: number
  /** The matching passage with the matched words in «guillemets» and … where text was left out. */
  snippet: string
}

export interface MessageQuery {
  /** Words (all must occur, in any order, any form a stemmer finds), "quoted phrases", or word* prefixes. */
  text: string
  limit: number
  /** Any one word suffices instead of all of them. */
  any?: boolean
  sessionId?: string
  role?: "user" | "assistant"
  /** Only messages written at or after / before these times (ms since epoch). */
  since?: number
  until?: number
  /** Messages of this turn are left out (the question being asked right now). */
  excludeTurnId?: string
  order?: "recent" | "relevant"
}

/**
 * The FTS5 query for what a person or model typed: each word and "phrase" becomes a quoted string (so
 * punctuation and FTS5 operators in it are plain text), a trailing * keeps prefix matching. Null when
 * nothing searchable is left.
 */
export function matchExpression(text: string, any = false): string | null {
  const terms: string[] = []
  for (const [, phrase, word] of text.matchAll(/"([^"]*)"|([^\s"]+)/g)) {
    if (phrase !== undefined) {
      const words = phrase.match(/[\p{L}\p{N}_]+/gu)
      if (words) terms.push(`"${words.join(" ")}"`)
      continue
    }
    const prefix = word!.endsWith("*")
    for (const part of word!.match(/[\p{L}\p{N}_]+/gu) ?? []) terms.push(`"${part}"`)
    if (prefix && terms.length) terms[terms.length - 1] += "*"
  }
  if (terms.length === 0) return null
  return terms.join(any ? " OR " : " ")
}

export function createMessageSearch(db: Database) {
  const select = (order: string) =>
    db.query<Omit<MessageHit, "role"> & { role: string }, Record<string, string | number | null>>(
      `SELECT m.seq AS seq, m.session_id AS sessionId, s.title AS sessionTitle, m.role AS role, m.created_at AS createdAt,
              snippet(messages_fts, 0, '«', '»', '…', 24) AS snippet
       FROM messages_fts JOIN messages AS m ON m.seq = messages_fts.rowid JOIN sessions AS s ON s.id = m.session_id
       WHERE messages_fts MATCH $match
         AND ($sessionId IS NULL OR m.session_id = $sessionId)
         AND ($role IS NULL OR m.role = $role)
         AND ($since IS NULL OR m.created_at >= $since)
         AND ($until IS NULL OR m.created_at < $until)
         AND ($turnId IS NULL OR m.turn_id IS NOT $turnId)
       ORDER BY ${order} LIMIT $limit`,
    )
  const queries = { recent: select("messages_fts.rowid DESC"), relevant: select("messages_fts.rank") }
  const indexer = createIndexer(db)
  return {
    /** Matching messages, newest first (or best first with `order: "relevant"`). */
    search(query: MessageQuery): MessageHit[] {
      const match = matchExpression(query.text, query.any)
      if (!match) return []
      indexer.flush()
      return queries[query.order ?? "recent"].all({
        match,
        limit: query.limit,
        sessionId: query.sessionId ?? null,
        role: query.role ?? null,
        since: query.since ?? null,
        until: query.until ?? null,
        turnId: query.excludeTurnId ?? null,
      }) as MessageHit[]
    },
  }
}

export type MessageSearch = ReturnType<typeof createMessageSearch>
