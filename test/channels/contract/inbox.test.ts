/**
 * The contract's durable inbox (src/store/channels.ts) for channels on the shared blocks: at most once
 * across kill -9. A child process receives events, accepts some (marked done) and is killed with
 * SIGKILL mid-way; the next process finds the rest pending, and a platform redelivery of any event
 * (done or pending) is refused.
 */
import { expect, test } from "bun:test"
import { join } from "node:path"
import { open } from "../../../src/store/db.ts"
import { createChannelStore } from "../../../src/store/channels.ts"
import { workspace } from "../../lib/workspace.ts"

const STORE = join(import.meta.dir, "../../../src/store")

test("inbox: received events survive kill -9, handled ones are never handled again, redeliveries are refused", async () => {
  await using ws = await workspace()
  const file = ws.file("inbox.db")
  const child = Bun.spawn(
    [
      process.execPath,
      "-e",
      `
      const { open } = await import(${JSON.stringify(join(STORE, "db.ts"))})
      const { createChannelStore } = await import(${JSON.stringify(join(STORE, "channels.ts"))})
      const store = createChannelStore(open(${JSON.stringify(file)}))
      const inbox = "discord:42"
      for (const id of ["e1", "e2", "e3"]) store.receive(inbox, id, { text: id })
      store.transaction(() => store.done(inbox, ["e1"]))
      console.log("ready")
      setInterval(() => {}, 1000)
      `,
    ],
    { stdout: "pipe", stderr: "inherit" },
  )
  const reader = child.stdout.getReader()
  const { value } = await reader.read()
  expect(new TextDecoder().decode(value)).toContain("ready")
  child.kill("SIGKILL")
  await child.exited

  const db = open(file)
  const store = createChannelStore(db)
  const scope = "discord:42"
  expect(store.pending(scope)).toEqual([
    { eventId: "e2", payload: { text: "e2" } },
    { eventId: "e3", payload: { text: "e3" } },
  ])
  // The platform delivers e1 (handled) and e2 (pending) again after the reconnect: both refused.
  expect(store.receive(scope, "e1", { text: "e1" })).toBe(false)
  expect(store.receive(scope, "e2", { text: "e2" })).toBe(false)
  expect(store.receive(scope, "e4", { text: "e4" })).toBe(true)
  store.done(scope, ["e2", "e3"])
  expect(store.pending(scope).map((event) => event.eventId)).toEqual(["e4"])
  // Scopes are separate: another bot's e1 is new.
  expect(store.receive("discord:43", "e1", {})).toBe(true)
  db.close()
})

test("conversation sessions and pairing codes per scope", async () => {
  await using ws = await workspace()
  const db = open(ws.file("pairing.db"))
  const store = createChannelStore(db)
  store.setSession("slack", "T1:C1", "ses_a")
  store.setSession("slack", "T1:C1", "ses_b")
  expect(store.session("slack", "T1:C1")).toBe("ses_b")
  expect(store.session("discord", "T1:C1")).toBeNull()

  const first = store.pairingFor({ scope: "slack:T1", userId: "U9", conversation: "T1:D9", name: "Nine" })!
  expect(first.created).toBe(true)
  expect(first.pairing.code).toMatch(/^[A-HJ-NP-Z2-9]{8}$/)
  // One open code per user: asking again gives the same one.
  expect(store.pairingFor({ scope: "slack:T1", userId: "U9", conversation: "T1:D9", name: "Nine" })!.created).toBe(
    false,
  )
  expect(store.approved("slack:T1", "U9")).toBe(false)
  // A code of another kind is not approved by this kind's command.
  expect(store.approve(first.pairing.code, "discord")).toBeNull()
  expect(store.approve(first.pairing.code.toLowerCase(), "slack")?.userId).toBe("U9")
  expect(store.approved("slack:T1", "U9")).toBe(true)
  expect(store.approved("slack:T2", "U9")).toBe(false)
  expect(store.unnotified("slack:T1").map((pairing) => pairing.userId)).toEqual(["U9"])
  store.notified(first.pairing.code)
  expect(store.unnotified("slack:T1")).toEqual([])
  expect(store.pairings("slack:").map((pairing) => pairing.code)).toEqual([first.pairing.code])
  expect(store.revoke("slack:T1", "U9")).toBe(1)
  expect(store.approved("slack:T1", "U9")).toBe(false)
  db.close()
})
