/**
 * Audit finding 6: the file tools checked a path and then opened it by name, so a folder swapped with a
 * symlink to the outside (renameat2 RENAME_EXCHANGE, in a separate process, in a loop) redirected 195 of
 * 2,000 reads and 484 of 2,000 writes outside the roots, and one file.edit. With the race-free open every
 * call either works inside or is refused: none reads, lists, creates or replaces anything outside.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { Subprocess } from "bun"
import { type Bench, bench, SECRET } from "../security/lib.ts"

let b: Bench
let swapper: Subprocess<"ignore", "pipe", "inherit">

const READS = 500
const WRITES = 500
const EDITS = 100
const LISTS = 100

beforeAll(async () => {
  // The tool route counts as a mutation; this test makes 1,200 calls in about a second.
  b = await bench({ controlApi: { port: 0, mutationsPerMinute: 100_000 } })
  mkdirSync(join(b.ws.path, "box", "real"), { recursive: true })
  writeFileSync(join(b.ws.path, "box", "real", "f.txt"), "inside-content\n")
  writeFileSync(join(b.ws.path, "box", "real", "e.txt"), "edit-me\n")
  writeFileSync(join(b.outside, "f.txt"), `${SECRET}-outside\n`)
  writeFileSync(join(b.outside, "e.txt"), "edit-me\n")
  symlinkSync(b.outside, join(b.ws.path, "box", "link"))
  swapper = Bun.spawn(
    [
      process.execPath,
      join(import.meta.dir, "swap.ts"),
      join(b.ws.path, "box", "real"),
      join(b.ws.path, "box", "link"),
    ],
    { stdout: "pipe", stderr: "inherit" },
  )
  // Wait for the first exchange: from then on the two names swap continuously.
  const reader = swapper.stdout.getReader()
  const first = await reader.read()
  reader.releaseLock()
  expect(new TextDecoder().decode(first.value)).toContain("ready")
})

afterAll(async () => {
  swapper?.kill("SIGKILL")
  await swapper?.exited
  await b?.[Symbol.asyncDispose]()
})

/** Run `count` calls through the tool route, `width` at a time. */
async function pool<T>(count: number, width: number, call: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count)
  let next = 0
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) {
        const i = next++
        out[i] = await call(i)
      }
    }),
  )
  return out
}

test(`${READS} reads, ${WRITES} writes, ${EDITS} edits and ${LISTS} listings during a folder/symlink swap: 0 outside`, async () => {
  const editedBefore = statSync(join(b.outside, "e.txt")).ino
  const started = performance.now()
  const [reads, writes, edits, lists] = await Promise.all([
    pool(READS, 4, () => b.viaApi("file.read", { path: "box/real/f.txt" })),
    pool(WRITES, 4, (i) => b.viaApi("file.write", { path: `box/real/w-${i}.txt`, content: "x\n" })),
    pool(EDITS, 2, () => b.viaApi("file.edit", { path: "box/real/e.txt", search: "e", replace: "e", all: true })),
    pool(LISTS, 2, () => b.viaApi("file.list", { path: "box/real" })),
  ])
  const elapsed = performance.now() - started
  swapper.kill("SIGKILL")
  await swapper.exited

  const leakedReads = reads.filter((r) => r.output.includes(SECRET))
  const leakedLists = lists.filter((r) => r.output.includes("secret.txt"))
  const outsideFiles = readdirSync(b.outside).filter((name) => name.startsWith("w-") || name.includes(".drost-"))
  console.log(
    `race: ${reads.filter((r) => !r.isError).length}/${READS} reads and ${writes.filter((r) => !r.isError).length}/${WRITES} writes worked inside, the rest refused; ${Math.round(elapsed)} ms`,
  )
  expect(leakedReads.map((r) => r.output.slice(0, 120))).toEqual([])
  expect(leakedLists.map((r) => r.output.slice(0, 120))).toEqual([])
  expect(outsideFiles).toEqual([])
  expect(statSync(join(b.outside, "e.txt")).ino).toBe(editedBefore)
  // The race really ran: some calls got through inside and some met the symlink and were refused.
  expect(reads.some((r) => !r.isError && r.output.includes("inside-content"))).toBe(true)
  expect(writes.some((r) => !r.isError)).toBe(true)
  for (const r of [...reads, ...writes, ...edits, ...lists].filter((r) => r.isError))
    expect(r.output).toMatch(/refused|outside the roots|not a folder|no such file|broken symbolic/i)
  // The gateway stayed healthy throughout.
  expect((await b.gw.api("/healthz")).status).toBe(200)
}, 30_000)
