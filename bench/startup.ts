/**
 * Startup benchmark of the compiled binary: process spawn until `/healthz` answers 200, with an empty
 * store and with a large one (10,000 sessions, 1,000,000 messages), plus the idle RSS of the running
 * gateway. Targets (issue 8): ≤ 60 ms empty, ≤ 150 ms large, idle RSS ≤ 60 MB.
 *
 *   bun bench/startup.ts [--binary <path>] [--runs 10] [--sessions 10000] [--messages 1000000] [--gateway-only]
 *
 * `--gateway-only` starts the gateway process alone (DROST_SUPERVISED=1, no supervisor parent), to
 * separate its cost from the supervisor's.
 *
 * Without --binary it compiles the current tree first (as build.ts does) into a temp folder. /healthz is polled every millisecond on a port chosen
 * up front, so the figure includes everything the user waits for: exec, runtime start, config, store
 * open and migrations, crash recovery, the HTTP listener. CPU and RSS are summed over the process tree
 * (`drost start` is a small supervisor with the gateway as its child). Prints a table and one JSON line.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { parseArgs } from "node:util"
import { compile } from "../build.ts"
import { open } from "../src/store/db.ts"

const { values } = parseArgs({
  options: {
    binary: { type: "string" },
    runs: { type: "string", default: "10" },
    sessions: { type: "string", default: "10000" },
    messages: { type: "string", default: "1000000" },
    "gateway-only": { type: "boolean", default: false },
  },
})
const runs = Number(values.runs)
const scratch = mkdtempSync(join(tmpdir(), "drost-bench-bin-"))
const binary = values.binary ? resolve(values.binary) : join(scratch, "drost")
if (!values.binary) {
  const version = ((await Bun.file(join(import.meta.dir, "../package.json")).json()) as { version: string }).version
  console.log(`compiling the current tree to ${binary} …`)
  await compile({ outfile: binary, version, commit: "bench" })
}
if (!existsSync(binary)) throw new Error(`no binary at ${binary}`)

function freePort(): number {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() })
  const port = server.port!
  server.stop(true)
  return port
}

/** The process and its descendants: `drost start` is a supervisor with the gateway as its child. */
function tree(pid: number): number[] {
  const children = (() => {
    try {
      return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number)
    } catch {
      return []
    }
  })()
  return [pid, ...children.flatMap(tree)]
}

/** Resident memory of the whole tree, in MB, and of each process. */
function rssMb(pid: number): { total: number; each: number[] } {
  const each = tree(pid).map((id) => {
    const line = readFileSync(`/proc/${id}/status`, "utf8")
      .split("\n")
      .find((row) => row.startsWith("VmRSS:"))
    return Math.round((Number(line?.replace(/\D+/g, "") ?? 0) / 1024) * 10) / 10
  })
  return { total: Math.round(each.reduce((a, b) => a + b, 0) * 10) / 10, each }
}

/** CPU time (user + system) the process has used so far, in ms (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  return tree(pid).reduce((sum, id) => {
    const fields = readFileSync(`/proc/${id}/stat`, "utf8").split(") ")[1]!.split(" ")
    return sum + (Number(fields[11]) + Number(fields[12])) * 10
  }, 0)
}

/**
 * One cold start: ms from spawn to the first 200 on /healthz, and the CPU time the gateway used to get
 * there (unlike wall time, that figure holds on a busy machine); optionally the RSS after 2 s idle.
 */
async function startOnce(
  folder: string,
  measureRss: boolean,
): Promise<{ ms: number; cpu: number; rss?: { total: number; each: number[] } }> {
  const port = freePort()
  const started = performance.now()
  const proc = Bun.spawn([binary, "start", "--server", "--port", String(port)], {
    cwd: folder,
    stdin: "ignore",
    stdout: "ignore",
    stderr: "ignore",
    env: {
      PATH: "/usr/bin:/bin",
      HOME: folder,
      DROST_LOG_LEVEL: "warn",
      ...(values["gateway-only"] ? { DROST_SUPERVISED: "1" } : {}),
    },
  })
  try {
    for (;;) {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null)
      if (response?.status === 200) break
      if (proc.exitCode !== null) throw new Error(`the gateway exited with ${proc.exitCode}`)
      if (performance.now() - started > 30_000) throw new Error("no healthy /healthz within 30 s")
      await Bun.sleep(1)
    }
    const ms = performance.now() - started
    const cpu = cpuMs(proc.pid)
    if (!measureRss) return { ms, cpu }
    await Bun.sleep(2000)
    return { ms, cpu, rss: rssMb(proc.pid) }
  } finally {
    proc.kill("SIGTERM")
    await proc.exited
  }
}

function workspace(): string {
  const folder = mkdtempSync(join(tmpdir(), "drost-bench-startup-"))
  writeFileSync(
    join(folder, "drost.config.json"),
    JSON.stringify({ providers: { profiles: [{ id: "demo", kind: "demo" }] } }),
  )
  return folder
}

/** Fills the store directly (same schema, via the real migrations), 100 messages per session by default. */
function fill(folder: string, sessions: number, messages: number) {
  const db = open(join(folder, ".drost", "drost.db"))
  const now = Date.now()
  const perSession = Math.max(1, Math.floor(messages / sessions))
  const session = db.prepare(
    "INSERT INTO sessions (id, title, created_at, updated_at, provider, channel, message_count) VALUES (?, ?, ?, ?, 'demo', 'api', ?)",
  )
  const message = db.prepare("INSERT INTO messages (id, session_id, role, parts, created_at) VALUES (?, ?, ?, ?, ?)")
  const text = (i: number) =>
    JSON.stringify([
      { type: "text", text: `message ${i}: the quick brown fox jumps over the lazy dog ${"x".repeat(60)}` },
    ])
  let written = 0
  const batch = db.transaction((from: number, to: number) => {
    for (let s = from; s < to; s++) {
      const id = `ses_bench${String(s).padStart(8, "0")}`
      const count = s === sessions - 1 ? messages - written : perSession
      session.run(id, `bench ${s}`, now - (sessions - s) * 1000, now - (sessions - s) * 1000, count)
      for (let m = 0; m < count; m++)
        message.run(`msg_b${s}_${m}`, id, m % 2 ? "assistant" : "user", text(written + m), now)
      written += count
    }
  })
  for (let from = 0; from < sessions; from += 500) batch.immediate(from, Math.min(sessions, from + 500))
  db.close()
  return written
}

const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
  return {
    min: Math.round(sorted[0]! * 10) / 10,
    median: Math.round(at(0.5) * 10) / 10,
    p90: Math.round(at(0.9) * 10) / 10,
  }
}

async function scenario(name: string, folder: string) {
  await startOnce(folder, false) // warm the page cache and run the migrations once
  const times: number[] = []
  const cpu: number[] = []
  for (let i = 0; i < runs; i++) {
    const run = await startOnce(folder, false)
    times.push(run.ms)
    cpu.push(run.cpu)
  }
  const idle = await startOnce(folder, true)
  return {
    name,
    ...stats(times),
    cpuMedianMs: stats(cpu).median,
    rssMb: idle.rss!.total,
    rssPerProcessMb: idle.rss!.each,
    load: Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]),
  }
}

const empty = workspace()
const large = workspace()
try {
  const emptyResult = await scenario("empty store", empty)
  const filled = performance.now()
  const written = fill(large, Number(values.sessions), Number(values.messages))
  const fillSeconds = Math.round((performance.now() - filled) / 100) / 10
  const dbMb = Math.round(Bun.file(join(large, ".drost", "drost.db")).size / 1024 / 1024)
  const largeResult = await scenario(
    `${values.sessions} sessions, ${written} messages (${dbMb} MB db, filled in ${fillSeconds} s)`,
    large,
  )
  console.log(
    `binary ${binary} · ${runs} runs each · spawn → /healthz 200${values["gateway-only"] ? " · gateway process only (no supervisor)" : ""}`,
  )
  for (const row of [emptyResult, largeResult])
    console.log(
      `  ${row.name.padEnd(60)} min ${row.min} ms · median ${row.median} ms · p90 ${row.p90} ms · CPU ${row.cpuMedianMs} ms · idle RSS ${row.rssMb} MB (${row.rssPerProcessMb.join(" + ")}) · load ${row.load}`,
    )
  console.log(
    JSON.stringify({
      bench: "startup",
      runs,
      gatewayOnly: values["gateway-only"],
      empty: emptyResult,
      large: largeResult,
    }),
  )
} finally {
  rmSync(empty, { recursive: true, force: true })
  rmSync(large, { recursive: true, force: true })
  rmSync(scratch, { recursive: true, force: true })
}
