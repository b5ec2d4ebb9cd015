/**
 * Audit finding 9: `^(a+)+$` over a 100-line file froze the whole gateway (API, Telegram, /healthz) for
 * 31.6 s, past the tool timeout, and then answered "no matches". code.search now runs on a linear-time
 * engine and gives the event loop a turn between slices, so /healthz answers while a search runs and
 * the search gives its real result at once; what RE2 cannot run is refused with the feature named.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { type Bench, bench } from "../security/lib.ts"

let b: Bench
// 23 a's and a "!": a backtracking engine needs about 2^23 steps per line (about 45 ms here), 100 lines.
const EVIL = `${"a".repeat(23)}!`

beforeAll(async () => {
  b = await bench()
  writeFileSync(join(b.ws.path, "redos.txt"), `${Array(100).fill(EVIL).join("\n")}\n${"a".repeat(23)}\n`)
  // Two 2 MB files (just under code.search's per-file limit) for a search that takes a while even in linear time.
  const big = `${Array(Math.floor(2_000_000 / 24))
    .fill(EVIL)
    .join("\n")}\n`
  for (const name of ["big/one.txt", "big/two.txt"]) b.ws.write(name, big)
})
afterAll(async () => {
  await b?.[Symbol.asyncDispose]()
})

/** Ask /healthz back to back until `work` settles; returns the slowest answer in ms. */
async function healthWhile(work: Promise<unknown>): Promise<{ slowest: number; asked: number }> {
  let done = false
  void work.finally(() => {
    done = true
  })
  let slowest = 0
  let asked = 0
  do {
    const started = performance.now()
    const response = await b.gw.api("/healthz")
    expect(response.status).toBe(200)
    await response.arrayBuffer()
    slowest = Math.max(slowest, performance.now() - started)
    asked++
  } while (!done)
  return { slowest, asked }
}

test("the catastrophic-backtracking pattern answers at once with the real match; /healthz never waits", async () => {
  for (const route of ["viaApi", "viaModel"] as const) {
    const started = performance.now()
    const search = b[route]("code.search", { pattern: "^(a+)+$", path: "redos.txt" })
    const health = await healthWhile(search)
    const result = await search
    const took = performance.now() - started
    expect(result.isError).toBe(false)
    expect(result.output).toContain(`redos.txt:101: ${"a".repeat(23)}`)
    expect(result.output).not.toContain("!")
    expect(took).toBeLessThan(2_000)
    expect(health.slowest).toBeLessThan(500)
  }
})

test("a long linear-time search leaves the gateway responsive", async () => {
  const started = performance.now()
  const search = b.viaApi("code.search", { pattern: "^(a+)+$", path: "big" })
  const health = await healthWhile(search)
  const result = await search
  console.log(
    `search of 4 MB: ${Math.round(performance.now() - started)} ms; /healthz asked ${health.asked} times meanwhile, slowest ${Math.round(health.slowest)} ms`,
  )
  expect(result.output).toMatch(/no matches for \/\^\(a\+\)\+\$\/ in 2 files/)
  expect(health.slowest).toBeLessThan(250)
})

test("patterns RE2 cannot run are refused with the feature named; JavaScript spellings it can run work", async () => {
  const cases: [string, RegExp][] = [
    ["(a)\\1", /backreferences/],
    ["(?<n>a)\\k<n>", /named backreferences/],
    ["foo(?=bar)", /lookahead/],
    ["foo(?!bar)", /negative lookahead/],
    ["[unclosed", /invalid regular expression: missing closing \]/],
  ]
  for (const [pattern, message] of cases) {
    const result = await b.viaApi("code.search", { pattern, path: "redos.txt" })
    expect(result.isError).toBe(true)
    expect(result.output).toMatch(message)
    expect(result.output).toMatch(/literal: true/)
  }
  const named = await b.viaApi("code.search", { pattern: "^(?<run>a{23})$", path: "redos.txt" })
  expect(named.output).toContain("redos.txt:101:")
  const behind = await b.viaApi("code.search", { pattern: "(?<=a{22})a$", path: "redos.txt" })
  expect(behind.output).toContain("redos.txt:101:")
  const literal = await b.viaApi("code.search", { pattern: "a!", literal: true, path: "redos.txt", limit: 1 })
  expect(literal.output).toMatch(/redos\.txt:1: a+!\n… stopped at 1 matches/)
})
