/**
 * The wire form of `events.announce` (contract.ts `EventsContract`), shared by both engines: a batch of
 * bodies with consecutive ids becomes as few notices as fit PostgreSQL's payload limit. A notice is
 * `<id of its first body>` then one line per body (`\n` before each); a body too long for any notice is
 * stored (`event_bodies`, read back with `events.body(id)`) and its line is empty. Bodies are one line of
 * text each (JSON.stringify's output is), never empty, so the split is exact. `listenAnnounced` is
 * `events.listen`: the notices back into events, in order.
 */
import { Invalid } from "../../core/error.ts"
import { Log } from "../../util/log.ts"
import type { NoticesContract } from "./contract.ts"
import { MAX_PAYLOAD_BYTES } from "./notices.ts"

const log = Log.create("store")

/** How long a stored body is kept: a node reads it within moments; an hour covers a long stall. */
export const BODY_KEEP_MS = 60 * 60 * 1000

export interface Packed {
  /** Notice payloads, in id order. */
  notices: string[]
  /** Bodies to store, by id: those longer than fits a notice. */
  stored: { id: number; body: string }[]
}

/** Refuse a body the split could not carry back exactly. */
export function checkBodies(bodies: string[]) {
  for (const body of bodies)
    if (body === "" || body.includes("\n") || body.includes("\u0000"))
      throw new Invalid("an announced body is one non-empty line without U+0000", { length: body.length })
}

/** The notices and stored bodies of `bodies`, the first with id `first`, the rest consecutive. */
export function pack(first: number, bodies: string[], limit = MAX_PAYLOAD_BYTES): Packed {
  const notices: string[] = []
  const stored: Packed["stored"] = []
  let current = ""
  let size = 0
  for (let index = 0; index < bodies.length; index++) {
    const id = first + index
    let body = bodies[index]!
    // Bytes, not characters: NOTIFY's limit is on the UTF-8 encoding (+1: the line's "\n").
    let bytes = Buffer.byteLength(body, "utf8") + 1
    const head = String(id).length
    if (head + bytes > limit) {
      stored.push({ id, body })
      body = ""
      bytes = 1
    }
    if (current !== "" && size + bytes > limit) {
      notices.push(current)
      current = ""
    }
    if (current === "") {
      current = String(id)
      size = head
    }
    current += `\n${body}`
    size += bytes
  }
  if (current !== "") notices.push(current)
  return { notices, stored }
}

/** A notice's first id and its bodies in order (null: stored, read it with `events.body(first + index)`). */
export function unpack(payload: string): { first: number; bodies: (string | null)[] } {
  const lines = payload.split("\n")
  const first = Number(lines[0])
  if (!Number.isSafeInteger(first) || lines.length < 2) throw new Invalid("not an announcement", { payload })
  const bodies: (string | null)[] = []
  for (let index = 1; index < lines.length; index++) bodies.push(lines[index] === "" ? null : lines[index]!)
  return { first, bodies }
}

export interface Announced {
  id: number
  body: string
}

/**
 * `events.listen` on either engine: the notices of `channel` unpacked into their events, in id order, a
 * stored body read (`read`) in its place; events after it wait for it, so the order holds.
 */
export async function listenAnnounced(
  listen: NoticesContract["listen"],
  read: (id: number) => Promise<string | null>,
  channel: string,
  onevents: (events: Announced[]) => void,
  onlisten?: () => void,
) {
  const inbox: { id: number; body: string | null }[] = []
  let draining = false
  const hand = (events: Announced[]) => {
    if (!events.length) return
    try {
      onevents(events)
    } catch (error) {
      log.error("an events listener failed", { channel, error: String(error) })
    }
  }
  // Synchronous while no stored body is waiting: a notice's events reach `onevents` inside its delivery.
  const drain = async () => {
    if (draining) return
    draining = true
    try {
      while (inbox.length) {
        const ready: Announced[] = []
        while (inbox.length && inbox[0]!.body !== null) ready.push(inbox.shift() as Announced)
        hand(ready)
        if (!inbox.length) break
        const item = inbox[0]!
        const body = await read(item.id).catch((error) => {
          log.error("a stored event body could not be read", { channel, id: item.id, error: String(error) })
          return null
        })
        if (body === null) log.error("a stored event body is gone; the event is skipped", { channel, id: item.id })
        inbox.shift()
        if (body !== null) hand([{ id: item.id, body }])
      }
    } finally {
      draining = false
    }
  }
  return listen(
    channel,
    (payload) => {
      const { first, bodies } = unpack(payload)
      for (let index = 0; index < bodies.length; index++) inbox.push({ id: first + index, body: bodies[index]! })
      void drain()
    },
    onlisten,
  )
}
