/**
 * The wire form of `events.announce` (contract.ts `EventsContract`), shared by both engines: a batch of
 * bodies with consecutive ids becomes as few notices as fit PostgreSQL's payload limit. A notice is
 * `<id of its first body>` then one line per body (`\n` before each); a body too long for any notice is
 * stored (`event_bodies`, read back with `events.body(id)`) and its line is empty. Bodies are one line of
 * text each (JSON.stringify's output is), never empty, so the split is exact.
 */
import { Invalid } from "../../core/error.ts"
import { MAX_PAYLOAD_BYTES } from "./notices.ts"

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
