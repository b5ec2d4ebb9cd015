/**
 * The store contract: every read and write the gateway, the agent, the Control API and the channels do,
 * as one asynchronous interface with two engines behind it: SQLite (`bun:sqlite`, the embedded
 * default: sqlite.ts wraps the synchronous stores of src/store, so SQLite keeps one code path) and
 * PostgreSQL (`Bun.SQL`, postgres.ts) for several gateways on one database (docs/scale-out.md).
 *
 * The method names and shapes are those of the synchronous stores (createSessionStore, createSummaryStore,
 * createScheduleStore, createJobStore, createTelegramStore, createChannelStore, createMessageSearch,
 * stepUsage) returning Promises, so moving a caller onto it is mechanical. Differences, all deliberate:
 * - `transaction(fn)` of the Telegram and channel stores (a user message and its inbox rows made
 *   durable together) is `sessions.beginTurn({ …, accept })`: one call, one transaction on either engine.
 * - Ownership (issue 22 item 2): `owner` at beginTurn/startTurn (jobs and schedule claims record the
 *   store's), the gateway registry (`gateways`), and recovery by `RecoveryScope` of turns
 *   (`sessions.recoverInterrupted`), background jobs (`jobs.recoverInterrupted`, `jobs.claimUnnotified`)
 *   and schedule runs (`schedules.runs.interruptRunning`): a gateway ends only its own or a gone one's.
 * - Schedule runs (`schedules.runs`), whose SQL lives in src/agent/schedules.ts today, and event ids from
 *   one sequence (`events.reserve`).
 * Unknown ids fail with NotFound where the synchronous stores do (require, remove, setTitle, …).
 */

import type { Schedule } from "../../core/continuity-config.ts"
import { DrostError } from "../../core/error.ts"
import type { Message, Part, Usage } from "../../core/message.ts"
import type { ChannelPairing } from "../channels.ts"
import type { Job, JobEnd, NewJob } from "../jobs.ts"
import type { ScheduleOrigin, StoredSchedule } from "../schedules.ts"
import type { MessageHit, MessageQuery } from "../search.ts"
import type { ListOptions, NewMessage, PageFilters, Session, Turn, TurnEnd } from "../sessions.ts"
import type { Summary } from "../summaries.ts"
import type { Portable } from "../portable.ts"
import type { Pairing } from "../telegram.ts"
import type { UsageByProvider, UsageFilter } from "../usage.ts"

export type {
  ChannelPairing,
  Job,
  JobEnd,
  ListOptions,
  Message,
  MessageHit,
  MessageQuery,
  NewJob,
  NewMessage,
  PageFilters,
  Pairing,
  Part,
  Schedule,
  ScheduleOrigin,
  Session,
  StoredSchedule,
  Summary,
  Turn,
  TurnEnd,
  Usage,
  UsageByProvider,
  UsageFilter,
}

export type Engine = "sqlite" | "postgres"

/** `beginTurn`'s `accept` named inbox rows that were already handled: nothing was stored. */
export class AlreadyAccepted extends DrostError {
  constructor(scope: string, eventIds: string[]) {
    super("AlreadyAccepted", `the inbox rows ${eventIds.join(", ")} of ${scope} were already accepted`, {
      scope,
      eventIds,
    })
  }
}

/**
 * Inbox rows marked handled in the transaction that stores a turn's user message. Each row is accepted
 * once across every gateway on the store: when any of them is already handled (another gateway took it
 * first, or this one earlier), `beginTurn` stores nothing and rejects with `AlreadyAccepted`, and the
 * caller drops the message as handled.
 */
export type Accept =
  | { telegram: { botId: string; updateIds: number[] } }
  | { channel: { scope: string; eventIds: string[] } }

export interface BeginTurn {
  sessionId: string
  parts: Part[]
  source: string
  /** The gateway that runs the turn (its registry id; default: the store's `owner`). */
  owner?: string
  accept?: Accept
}

export type LeaseResult = { ok: true } | { ok: false; holder: string; until: number }

/**
 * The lease on a session's turns (issue 22 item 3): the one gateway that may run turns of a session (or
 * of a channel key: any string) at a time. Taken at a turn's start, renewed while it runs, released at
 * its end. `acquire` takes a lease that is free, expired, already the caller's (a renewal), or, with
 * `gone`, held by a gateway that is gone as judged for the caller by the registry (src/store/gateways.ts
 * `goneReason`: not registered, no heartbeat for `staleMs`, or on this host with its pid dead). Atomic on
 * both engines: of any number of contenders on any number of handles, one gets it. Times are the
 * callers' clocks (as the heartbeats are).
 */
export interface SessionLeasesContract {
  acquire(sessionId: string, owner: string, ttlMs: number, gone?: { staleMs: number }): Promise<LeaseResult>
  /** Extend the caller's lease; false when it is no longer the caller's (taken over or released). */
  renew(sessionId: string, owner: string, ttlMs: number): Promise<boolean>
  /** Give the lease up; false when it was not the caller's (no effect then). */
  release(sessionId: string, owner: string): Promise<boolean>
  /** Who holds the lease and until when; null when nobody does (never taken, released or expired). */
  holder(sessionId: string): Promise<{ holder: string; until: number } | null>
}

export interface Gateway {
  id: string
  host: string
  pid: number
  startedAt: number
  heartbeatAt: number
}

/**
 * Which open turns a recovery ends (as src/store/sessions.ts `RecoveryScope`): none given, every one;
 * `owner`, only that gateway's (its own stop); `gone`, those whose owner is gone as judged for gateway
 * `self` by src/store/gateways.ts `goneReason` (no owner, not registered, no heartbeat for `staleMs`
 * at `now`, or on this host with its pid dead or reused). `self` is never gone to itself.
 */
export type RecoveryScope = { owner: string } | { gone: { self: string; staleMs: number; now?: number } }
/** A schedule run `interruptRunning` ended: its due time, and why its gateway is gone (null: not judged). */
export interface InterruptedRun {
  id: string
  due: number | null
  why: string | null
}
export interface ScheduleRun {
  id: string
  lastDue: number | null
  lastStarted: number | null
  lastStatus: string | null
  lastError: string | null
  sessionId: string | null
}

export interface SessionsContract {
  create(input: {
    provider: string
    title?: string
    channel?: string
    channelKey?: string
    metadata?: Record<string, unknown>
  }): Promise<Session>
  get(id: string): Promise<Session | null>
  require(id: string): Promise<Session>
  list(options?: ListOptions): Promise<Session[]>
  count(): Promise<number>
  stepUsageByProvider(): Promise<Record<string, Usage>>
  page(filters?: PageFilters): Promise<{ sessions: Session[]; total: number }>
  byChannelKey(channel: string, channelKey: string): Promise<Session | null>
  usageByProvider(
    since?: number,
  ): Promise<{ provider: string; turns: number; input: number; output: number; cached: number }[]>
  remove(id: string): Promise<void>
  setTitle(id: string, title: string): Promise<void>
  setPendingProvider(id: string, provider: string | null): Promise<void>
  setProvider(id: string, provider: string): Promise<void>
  append(input: NewMessage): Promise<Message>
  /** The user's message and its queued turn (and `accept`'s inbox rows done), durable together. */
  beginTurn(input: BeginTurn): Promise<{ turn: Turn; message: Message }>
  /** Running, owned by `by` (default: the store's `owner`). */
  startTurn(id: string, provider: string, by?: string | null): Promise<void>
  /**
   * Ends an open turn; a turn that already ended is left as it is, and then this answers false (a
   * recovery, by this or another gateway that judged this one gone, ended it first: its stored end stands).
   */
  finishTurn(input: TurnEnd): Promise<boolean>
  flushDeferred(): Promise<boolean>
  turn(id: string): Promise<Turn | null>
  turns(sessionId: string, limit?: number): Promise<Turn[]>
  /** Open turns (those `scope` picks) become `interrupted`; each with why its owner is gone (`why`). */
  recoverInterrupted(reason: string, scope?: RecoveryScope): Promise<(Turn & { why: string | null })[]>
  messages(sessionId: string, options?: { limit?: number; beforeSeq?: number }): Promise<Message[]>
  history(sessionId: string): Promise<Message[]>
  /** Read the session afresh next time: another gateway may have written to it (a cache, where there is one). */
  forget(sessionId: string): Promise<void>
  kv: { get(key: string): Promise<string | null>; set(key: string, value: string): Promise<void> }
}

/** The registry of gateways on one store (src/store/gateways.ts): this process's host and pid, by id. */
export interface GatewaysContract {
  register(id: string): Promise<void>
  /** Refresh the heartbeat; false when the row was gone (a peer found this gateway silent): written again. */
  beat(id: string): Promise<boolean>
  /** At a clean stop. */
  remove(id: string): Promise<void>
  list(): Promise<Gateway[]>
  /** Delete the rows of gateways that are gone as judged for `self` (after their turns were recovered). */
  prune(gone: { self: string; staleMs: number; now?: number }): Promise<string[]>
}

/**
 * Notifications between the gateways on one store (issue 22 item 3: bus fan-out, cache invalidation).
 * A notice reaches every listener whose `listen` had resolved before the `notify`, on every handle of
 * the same database, the notifier's own included, in the order each notifier sent them, some time after
 * `notify` resolves. PostgreSQL: LISTEN/NOTIFY through `Bun.SQL` (one dedicated listening connection per
 * handle, re-subscribed after a reconnect; a notice sent while it was down is lost, so a listener that
 * must not miss one reads the state again in `listen`'s `onlisten`). SQLite: the handles on the same
 * file in this process only. On both: a channel is 1-63 bytes, a payload at most 7999 bytes without U+0000
 * (PostgreSQL's limits; Invalid otherwise); a listener that throws is logged, the others still hear.
 */
export interface NoticesContract {
  notify(channel: string, payload?: string): Promise<void>
  listen(
    channel: string,
    onnotify: (payload: string) => void,
    onlisten?: () => void,
  ): Promise<{ unlisten(): Promise<void> }>
}

/**
 * Event ids from one sequence shared by every gateway on the store (issue 22 item 3: Last-Event-ID against
 * any node), and events announced with them (the bus's cluster link, src/bus/cluster.ts).
 */
export interface EventsContract {
  /** The first of `count` consecutive ids; ranges never overlap, and each handle's increase. */
  reserve(count?: number): Promise<number>
  /**
   * Reserve `bodies.length` consecutive ids and send the bodies with them as notices on `channel`, in one
   * transaction; resolves to the first id. Announcements reach every listener in id order, across all
   * handles: on PostgreSQL the sequence's row stays locked until commit, so transactions commit in id
   * order, and NOTIFY delivers in commit order; on SQLite reservation and notices are synchronous in one
   * process. The wire form is src/store/engine/announce.ts `pack`: a body too long for a notice (a tool's
   * whole output) is stored (`body(id)` reads it). A body is one non-empty line without U+0000 (Invalid
   * otherwise); an empty list reserves nothing and resolves to 0.
   */
  announce(channel: string, bodies: string[]): Promise<number>
  /**
   * Hear what `announce` sends on `channel`, every handle's: `onevents` gets each notice's events in id
   * order, a stored body read back in its place (what follows waits for it; one that cannot be read is
   * logged and skipped). Otherwise as `notices.listen`: `onlisten` at each (re)subscription, and what is
   * announced while the listening connection is down is not heard.
   */
  listen(
    channel: string,
    onevents: (events: { id: number; body: string }[]) => void,
    onlisten?: () => void,
  ): Promise<{ unlisten(): Promise<void> }>
  /** A body `announce` stored; null when there is none (kept at least an hour). */
  body(id: number): Promise<string | null>
}

export interface SummariesContract {
  latest(sessionId: string): Promise<Summary | null>
  list(sessionId: string): Promise<Summary[]>
  add(input: Omit<Summary, "id" | "createdAt">): Promise<Summary>
}

export interface SchedulesContract {
  list(): Promise<StoredSchedule[]>
  get(id: string): Promise<StoredSchedule | null>
  count(): Promise<number>
  insert(schedule: Schedule, origin: ScheduleOrigin, now?: number): Promise<StoredSchedule>
  update(schedule: Schedule, now?: number): Promise<StoredSchedule>
  remove(id: string): Promise<boolean>
  runs: {
    get(id: string): Promise<ScheduleRun | null>
    /**
     * Move the run's last due time forward to `due` (owned by the store's `owner`), only when it is at
     * least `gap` ms (default 1) after the last (src/agent/schedules.ts: an `every` schedule's interval,
     * so gateways that started at different times do not each run it); true for exactly one caller.
     */
    claim(id: string, due: number, now?: number, gap?: number): Promise<boolean>
    finish(id: string, due: number, status: string, error: string | null): Promise<void>
    setSession(id: string, sessionId: string): Promise<void>
    /**
     * Runs still marked running that `scope` picks (as turn recovery: none given, every one; `owner`, that
     * gateway's; `gone`, those whose claiming gateway is gone) become interrupted; each with why (`why`).
     * A run claimed again since it was read is left alone, so of two gateways recovering at once one ends it.
     */
    interruptRunning(scope?: RecoveryScope): Promise<InterruptedRun[]>
  }
}

export interface JobsContract {
  create(input: NewJob): Promise<Job>
  get(id: string): Promise<Job | null>
  list(limit?: number): Promise<Job[]>
  ofSession(sessionId: string, limit?: number): Promise<Job[]>
  /** Running jobs: every gateway's, or those `scope` picks (a gateway's own, or its gone peers'). */
  running(scope?: RecoveryScope): Promise<Job[]>
  unnotified(): Promise<Job[]>
  /**
   * Running jobs `scope` picks (none: all) end as `interrupted` with `error`, each with why its owner is
   * gone (`why`), and become the recovering gateway's (`gone.self`, else the store's `owner`). A job whose
   * owner changed since it was read is left alone: of two gateways recovering at once, one ends each job.
   */
  recoverInterrupted(error: string, scope?: RecoveryScope): Promise<(Job & { why: string | null })[]>
  /**
   * Endings not yet noted in their parent session whose job `scope` picks, taken over by the recovering
   * gateway as `recoverInterrupted` does: of several gateways recovering at once, each note goes to one.
   */
  claimUnnotified(scope?: RecoveryScope): Promise<Job[]>
  setPid(id: string, pid: number): Promise<void>
  setChild(id: string, child: string, provider: string): Promise<void>
  finish(id: string, end: JobEnd): Promise<boolean>
  markNotified(id: string): Promise<void>
}

/**
 * A Telegram message whose answer is owed (src/channels/telegram/bot.ts): recorded before the message is
 * accepted, recorded again with its turn right after, settled once its answer was sent. What a crash
 * leaves here the gateway polling the bot answers (the stored answer, or a notice). Keyed by the bot and
 * the message's first update id (an album's first).
 */
export interface OwedReply {
  key: number
  chatId: number
  messageId: number
  sessionId: string
  /** The gateway handling the message (its registry id). */
  holder: string
  /** Its turn, once accepted. */
  turnId: string | null
  createdAt: number
}

/** An owed reply as `owed` reads it, with its update's and its turn's state. */
export interface OwedReplyState extends OwedReply {
  /** Its update is still in the inbox, not accepted: the poller supplies it again. */
  pending: boolean
  /** Its turn as stored; null when no turn is recorded or the turn is gone (its session deleted). */
  turn: { status: Turn["status"]; error: string | null } | null
  /** The bot's message the answer was being streamed into (`posted`), if one was recorded. */
  answerId: number | null
}

export interface TelegramRepliesContract {
  /** Record the reply `holder` owes, or take it over; no effect once a turn is recorded (accepted). */
  owe(botId: string, reply: Omit<OwedReply, "turnId" | "createdAt">): Promise<void>
  /** Record its turn and holder (the one whose accept succeeded), written whole. */
  accepted(botId: string, reply: Omit<OwedReply, "createdAt"> & { turnId: string }): Promise<void>
  /** The bot's owed replies, oldest first. */
  owed(botId: string): Promise<OwedReplyState[]>
  /**
   * Take the reply over from gateway `from` (gone) to `to`: true for the one caller whose write found it
   * still `from`'s, so of two gateways taking it over at once only one answers it.
   */
  claim(botId: string, key: number, from: string, to: string): Promise<boolean>
  /** The bot's message its answer streams into (so a takeover edits that message instead of adding one). */
  posted(botId: string, key: number, answerId: number): Promise<void>
  /** Answered: forget it, if its turn is still `turnId` (null: none recorded). */
  settle(botId: string, key: number, turnId: string | null): Promise<void>
}

export interface TelegramContract {
  /** Replies owed to accepted messages, kept until they were sent (crash recovery of answers). */
  replies: TelegramRepliesContract
  offset(botId: string): Promise<number>
  receive(botId: string, updates: { update_id: number }[]): Promise<number>
  pending(botId: string): Promise<unknown[]>
  done(botId: string, updateIds: number[]): Promise<void>
  /** Take or renew the polling lease; `alive` replaces a holder on this host whose process is gone. */
  lease(botId: string, holder: string, ttlMs: number, alive?: (holder: string) => boolean): Promise<LeaseResult>
  release(botId: string, holder: string): Promise<void>
  session(botId: string, chatId: number): Promise<string | null>
  setSession(botId: string, chatId: number, sessionId: string): Promise<void>
  pairingFor(input: {
    botId: string
    userId: number
    chatId: number
    name: string
  }): Promise<{ pairing: Pairing; created: boolean } | null>
  approve(code: string): Promise<Pairing | null>
  revoke(userId: number): Promise<number>
  approved(botId: string, userId: number): Promise<boolean>
  list(): Promise<Pairing[]>
  unnotified(botId: string): Promise<Pairing[]>
  notified(code: string): Promise<void>
}

export interface ChannelsContract {
  receive(scope: string, eventId: string, payload: unknown): Promise<boolean>
  pending(scope: string): Promise<{ eventId: string; payload: unknown }[]>
  done(scope: string, eventIds: string[]): Promise<void>
  session(scope: string, conversation: string): Promise<string | null>
  setSession(scope: string, conversation: string, sessionId: string): Promise<void>
  pairingFor(input: {
    scope: string
    userId: string
    conversation: string
    name: string
  }): Promise<{ pairing: ChannelPairing; created: boolean } | null>
  approve(code: string, kind?: string): Promise<ChannelPairing | null>
  revoke(scope: string, userId: string): Promise<number>
  approved(scope: string, userId: string): Promise<boolean>
  pairings(prefix?: string): Promise<ChannelPairing[]>
  unnotified(scope: string): Promise<ChannelPairing[]>
  notified(code: string): Promise<void>
  /** A channel instance's own durable value (src/store/channels.ts `stateGet`); undefined when none is stored. */
  stateGet(scope: string, key: string): Promise<unknown>
  /** Store a value as JSON (at most MAX_STATE_CHARS: RangeError); undefined deletes it. In `kv`, on both engines. */
  stateSet(scope: string, key: string, value: unknown): Promise<void>
}

export interface Store {
  readonly engine: Engine
  /** The gateway this store records as the owner of the turns it begins and starts (null: none). */
  readonly owner: string | null
  sessions: SessionsContract
  gateways: GatewaysContract
  /** One gateway at a time per session. */
  leases: SessionLeasesContract
  summaries: SummariesContract
  schedules: SchedulesContract
  jobs: JobsContract
  telegram: TelegramContract
  channels: ChannelsContract
  search: { search(query: MessageQuery): Promise<MessageHit[]> }
  usage: {
    steps(filter?: UsageFilter): Promise<UsageByProvider>
    slices(
      since: number,
      sliceMs: number,
      before?: number,
    ): Promise<{ provider: string; slice: number; usage: Usage }[]>
  }
  /**
   * Sessions as portable JSON (src/store/portable.ts): `export` a session's stored rows, `import` one as a
   * new session in one transaction, and the `overview` of every session's size that retention reads.
   */
  portable: Portable
  /** Notifications to every handle on the same database (other gateways'). */
  notices: NoticesContract
  events: EventsContract
  close(): Promise<void>
}
