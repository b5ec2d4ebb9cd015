/**
 * Memory benchmark: index N Markdown notes (default 10,000) into FTS5, then time `search` as the
 * memory.search tool calls it (watcher catch-up included) over varied queries, and the time until a
 * person's edit to one note is found.
 *
 *   bun bench/memory.ts [--notes 10000] [--searches 300]
 *
 * Prints a table and one JSON line; exits 1 when search p50 is over 10 ms.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { createMemoryIndex } from "../src/memory/index.ts"
import { open } from "../src/store/db.ts"
import { Log } from "../src/util/log.ts"

const { values } = parseArgs({
  options: { notes: { type: "string", default: "10000" }, searches: { type: "string", default: "300" } },
})
const total = Number(values.notes)
const searches = Number(values.searches)

// Notes read like notes: a few thousand distinct words with a Zipf-like frequency (a handful of very
// common words, a long tail of rare ones), plus topic words that recur across many notes.
const SYLLABLES = "ka lo mi ra ne to su vi pa de go ri sha mon tel bar cor fin lux dem".split(" ")
const VOCABULARY = Array.from({ length: 5_000 }, (_, i) => {
  let word = ""
  for (let n = i + 1; n > 0; n = Math.floor(n / SYLLABLES.length)) word += SYLLABLES[n % SYLLABLES.length]
  return word
})
const TOPICS =
  "garden boiler invoice meeting travel kayak recipe budget doctor birthday project deadline server backup python release tea piano hiking tax insurance car train berlin lisbon quarterly roadmap review family dentist bicycle".split(
    " ",
  )
let seed = 42
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
  return seed / 2_147_483_648
}
const zipf = () =>
  VOCABULARY[Math.min(VOCABULARY.length - 1, Math.floor(Math.exp(random() * Math.log(VOCABULARY.length))) - 1)]!
const sentence = (n: number) =>
  Array.from({ length: n }, () => (random() < 0.08 ? TOPICS[Math.floor(random() * TOPICS.length)] : zipf())).join(" ")
const dir = mkdtempSync(join(tmpdir(), "drost-bench-memory-"))
const memory = join(dir, "memory")
for (let i = 0; i < total; i++) {
  const folder = join(memory, i % 3 === 0 ? "daily" : `topics/${i % 50}`)
  mkdirSync(folder, { recursive: true })
  const body = Array.from({ length: 6 }, () => `- ${sentence(12)}`).join("\n")
  writeFileSync(join(folder, `note-${i}.md`), `# Note ${i}: ${sentence(3)}\n\n${body}\nref note-${i}\n`)
}

const db = open(join(dir, "drost.db"))
const index = createMemoryIndex({ db, dir: memory, rescanMs: 60_000, log: Log.create("bench") })
let started = performance.now()
const indexed = index.rescan()
const indexMs = performance.now() - started
started = performance.now()
const unchanged = index.rescan()
const rescanMs = performance.now() - started

const queries = [
  "boiler",
  "meeting deadline",
  `${VOCABULARY[0]} ${VOCABULARY[1]}`,
  VOCABULARY[2_000]!,
  "kayak budget",
  "quarterly roadmap review",
  "note-4242",
  '"unbalanced quote',
  "tax AND insurance",
  "berlin OR lisbon",
  "dentist*",
  "nothing-matches-this-zzz",
  "piano -hiking",
]
const times: number[] = []
for (let i = 0; i < searches; i++) {
  const query = queries[i % queries.length]!
  const t = performance.now()
  await index.search(query, 8)
  times.push(performance.now() - t)
}
times.sort((a, b) => a - b)
// The worst case: the most common word, present in most notes, so bm25 ranks nearly every row.
const common: number[] = []
for (let i = 0; i < 20; i++) {
  const t = performance.now()
  await index.search(VOCABULARY[0]!, 8)
  common.push(performance.now() - t)
}
common.sort((a, b) => a - b)
const percentile = (p: number) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))]!

// A person edits one note; how long until a search finds the new word?
const edited = join(memory, "topics/7/note-7.md")
started = performance.now()
writeFileSync(edited, "# Note 7\nthe word zanzibar appears now\n")
let editFoundMs = -1
for (let attempt = 0; attempt < 100; attempt++) {
  const hits = await index.search("zanzibar")
  if (hits.some((hit) => hit.path === "topics/7/note-7.md")) {
    editFoundMs = performance.now() - started
    break
  }
}
index.close()
db.close()
rmSync(dir, { recursive: true, force: true })

const result = {
  notes: total,
  indexMs: Math.round(indexMs),
  indexed,
  rescanMs: Math.round(rescanMs),
  unchanged,
  searches,
  p50Ms: Number(percentile(50).toFixed(2)),
  p95Ms: Number(percentile(95).toFixed(2)),
  maxMs: Number(times.at(-1)!.toFixed(2)),
  commonWordP50Ms: Number(common[10]!.toFixed(2)),
  editFoundMs: Number(editFoundMs.toFixed(2)),
}
console.log(`notes              ${total}`)
console.log(`initial index      ${result.indexMs} ms (${indexed} notes)`)
console.log(`full rescan        ${result.rescanMs} ms (${unchanged} changed)`)
console.log(`search p50 / p95   ${result.p50Ms} / ${result.p95Ms} ms (max ${result.maxMs}, ${searches} searches)`)
console.log(`most common word    ${result.commonWordP50Ms} ms p50 (matches most notes)`)
console.log(
  `edit found after   ${result.editFoundMs} ms (first search after the write: ${editFoundMs >= 0 ? "yes" : "NO"})`,
)
console.log(JSON.stringify(result))
if (result.p50Ms > 10 || editFoundMs < 0) process.exit(1)
