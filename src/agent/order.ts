/**
 * The order a provider reads a session in. Messages are stored as they arrive, so a message sent while a
 * turn runs gets a lower seq than that turn's answer. Read in seq order, the model would see the answer
 * after the newer question. So the view groups messages by turn, turns in the order they were created,
 * each turn's messages in seq order; a running turn sees only the turns created before it, plus the
 * messages collected into it (orchestration `collect`), not the ones still waiting for their own turn.
 *
 * Every model call asks for this order over the session's whole history. Sorting all of it each time
 * cost about 1 ms per turn at 10,000 stored messages (bench/curves.ts), so the order of a history is
 * kept per session and extended with the messages appended since the last call: a new turn's messages
 * go at the end, a message of an earlier turn into that turn's place. A running turn's view is then
 * the kept order up to that turn plus the few messages after it.
 */
import type { Message } from "../core/message.ts"

export interface CurrentTurn {
  turnId: string
  /** Turns whose messages were collected into this one. */
  merged?: string[]
}

/** The reading order of all of a history's messages, no turn running. */
interface Kept {
  /** The messages as given (seq strictly increasing), to recognise the same history grown by appends. */
  input: Message[]
  /** Each turn's first seq: the place of its messages. */
  first: Map<string, number>
  /** Every message in reading order, and its sort key (its turn's first seq, or its own seq) beside it. */
  order: Message[]
  keys: number[]
}

/** Below this many messages the order is computed afresh: it costs less than keeping it. */
export const KEEP_FROM = 128
/**
 * Kept orders, least recently used first, bounded by sessions and by messages held: a kept order holds
 * its messages, which are usually the store's cached ones (src/store/sessions.ts keeps up to 16 MB of
 * histories); past these bounds a history is ordered from scratch, as before.
 */
const KEEP_LIMITS = { sessions: 32, messages: 50_000 }
const kept = new Map<string, Kept>()
let keptMessages = 0

export function ordered(messages: Message[], current?: CurrentTurn): Message[] {
  const state = messages.length >= KEEP_FROM ? keep(messages) : null
  return state ? view(state, current) : reference(messages, current)
}

/** The order computed from scratch: what `view(keep(messages), current)` must equal. */
function reference(messages: Message[], current?: CurrentTurn): Message[] {
  const first = new Map<string, number>()
  for (const message of messages)
    if (message.turnId && !first.has(message.turnId)) first.set(message.turnId, message.seq)
  const merged = new Set(current?.merged ?? [])
  const cutoff = current ? (first.get(current.turnId) ?? Number.POSITIVE_INFINITY) : Number.POSITIVE_INFINITY
  const key = (message: Message): number => {
    if (!message.turnId) return message.seq
    if (merged.has(message.turnId)) return cutoff
    return first.get(message.turnId)!
  }
  // Usually the stored order is the reading order already (every turn's messages together, one turn after
  // another): one pass finds that, with no sort and no entry objects.
  let previous = Number.NEGATIVE_INFINITY
  let previousSeq = Number.NEGATIVE_INFINITY
  let inOrder = true
  for (const message of messages) {
    if (message.turnId && !merged.has(message.turnId) && first.get(message.turnId)! > cutoff) {
      inOrder = false
      break
    }
    const at = key(message)
    if (at < previous || (at === previous && message.seq < previousSeq)) {
      inOrder = false
      break
    }
    previous = at
    previousSeq = message.seq
  }
  if (inOrder) return messages.slice()
  return messages
    .filter((message) => !message.turnId || merged.has(message.turnId) || first.get(message.turnId)! <= cutoff)
    .map((message) => ({ message, key: key(message) }))
    .sort((a, b) => a.key - b.key || a.message.seq - b.message.seq)
    .map((entry) => entry.message)
}

/**
 * The kept order of this history, extended by what was appended since, or built; null when the
 * history's seqs do not strictly increase (hand-made histories), which only the reference handles.
 */
function keep(messages: Message[]): Kept | null {
  const session = messages[0]!.sessionId
  let state = kept.get(session)
  if (state) {
    kept.delete(session)
    keptMessages -= state.input.length
    if (!extends_(messages, state.input)) state = undefined
  }
  if (state) {
    let last = state.input.at(-1)!.seq
    for (let i = state.input.length; i < messages.length; i++) {
      const message = messages[i]!
      if (message.seq <= last) return null
      last = message.seq
      append(state, message)
    }
  } else {
    state = build(messages) ?? undefined
    if (!state) return null
  }
  kept.set(session, state)
  keptMessages += state.input.length
  while (kept.size > KEEP_LIMITS.sessions || (kept.size > 1 && keptMessages > KEEP_LIMITS.messages)) {
    const [oldest, entry] = kept.entries().next().value!
    kept.delete(oldest)
    keptMessages -= entry.input.length
  }
  return state
}

/** `messages` starts with exactly the messages of `input` (the same objects, as the store hands them out). */
function extends_(messages: Message[], input: Message[]): boolean {
  if (messages.length < input.length) return false
  for (let i = 0; i < input.length; i++) if (messages[i] !== input[i]) return false
  return true
}

function build(messages: Message[]): Kept | null {
  const first = new Map<string, number>()
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!
    if (i > 0 && message.seq <= messages[i - 1]!.seq) return null
    if (message.turnId && !first.has(message.turnId)) first.set(message.turnId, message.seq)
  }
  const entries = messages.map((message) => ({
    message,
    key: message.turnId ? first.get(message.turnId)! : message.seq,
  }))
  entries.sort((a, b) => a.key - b.key || a.message.seq - b.message.seq)
  return {
    input: messages.slice(),
    first,
    order: entries.map((entry) => entry.message),
    keys: entries.map((entry) => entry.key),
  }
}

/** A message newer than every kept one: last of its turn's group (a new turn's group is last of all). */
function append(state: Kept, message: Message) {
  state.input.push(message)
  let key = message.seq
  if (message.turnId) {
    const first = state.first.get(message.turnId)
    if (first === undefined) state.first.set(message.turnId, message.seq)
    else key = first
  }
  const at = above(state.keys, key)
  if (at === state.keys.length) {
    state.order.push(message)
    state.keys.push(key)
  } else {
    state.order.splice(at, 0, message)
    state.keys.splice(at, 0, key)
  }
}

/** The first index whose key is > `key` (keys ascend). */
function above(keys: number[], key: number): number {
  let low = 0
  let high = keys.length
  while (low < high) {
    const mid = (low + high) >>> 1
    if (keys[mid]! <= key) low = mid + 1
    else high = mid
  }
  return low
}

/** The first index whose key is >= `key`. */
function atLeast(keys: number[], key: number): number {
  let low = 0
  let high = keys.length
  while (low < high) {
    const mid = (low + high) >>> 1
    if (keys[mid]! < key) low = mid + 1
    else high = mid
  }
  return low
}

/**
 * The order a running turn reads: everything placed before it, then its own messages with those of the
 * turns merged into it (by seq), then messages outside any turn written after it started; turns created
 * after it are left out.
 */
function view(state: Kept, current?: CurrentTurn): Message[] {
  if (!current) return state.order.slice()
  const cutoff = state.first.get(current.turnId) ?? Number.POSITIVE_INFINITY
  const mergedList = current.merged ?? []
  const merged = new Set(mergedList)
  const split = atLeast(state.keys, cutoff)
  const group: Message[] = []
  let head: Message[]
  // A merged turn created before this one has its messages among those placed before it: move them.
  if (mergedList.some((turnId) => (state.first.get(turnId) ?? Number.POSITIVE_INFINITY) < cutoff)) {
    head = []
    for (let i = 0; i < split; i++) {
      const message = state.order[i]!
      if (message.turnId && merged.has(message.turnId)) group.push(message)
      else head.push(message)
    }
  } else head = state.order.slice(0, split)
  const after: Message[] = []
  for (let i = split; i < state.order.length; i++) {
    const message = state.order[i]!
    if (!message.turnId) after.push(message)
    else if (state.keys[i] === cutoff || merged.has(message.turnId)) group.push(message)
  }
  if (mergedList.length > 0) group.sort((a, b) => a.seq - b.seq)
  for (const message of group) head.push(message)
  for (const message of after) head.push(message)
  return head
}
