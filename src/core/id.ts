/**
 * Prefixed, time-sortable identifiers (`ses_…`, `turn_…`): sorting by id sorts by creation time, and the
 * prefix says what an id names when it shows up in a log line or an error.
 */
export type Prefix = "ses" | "turn" | "msg" | "call" | "evt" | "run" | "sum" | "sch" | "job"

let last = 0
let counter = 0

export function create(prefix: Prefix, now = Date.now()): string {
  counter = now === last ? counter + 1 : 0
  last = now
  const time = now.toString(36).padStart(9, "0")
  const seq = counter.toString(36).padStart(3, "0")
  const random = crypto.getRandomValues(new Uint8Array(6)).reduce((out, byte) => out + (byte % 36).toString(36), "")
  return `${prefix}_${time}${seq}${random}`
}

export function is(prefix: Prefix, value: string): boolean {
  return value.startsWith(`${prefix}_`)
}

export * as Id from "./id.ts"
