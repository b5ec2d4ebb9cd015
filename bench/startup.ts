/**
 * Startup benchmark of the compiled binary: process spawn until `/healthz` answers 200, with an empty
 * store and with a large one (10,000 sessions, 1,000,000 messages), plus the idle RSS of the running
 * gateway. Targets (issue 8): ≤ 60 ms empty, ≤ 150 ms large, idle RSS ≤ 60 MB; issue 23: ≤ 4× the
 * floor below, idle RSS ≤ 50 MB.
 *
 *   bun bench/startup.ts [--binary <path>]… [--runs 10] [--sessions 10000] [--messages 1000000] [--gateway-only] [--skip-large]
 *
 * The floor: a five-line `Bun.serve` answering 200, compiled with `bun build --compile` into the temp
 * folder, timed the same way (spawn → first 200 on its port). Its runs alternate with the gateway's in
 * the same loop, so both medians see the same load. `--binary` may be given more than once (e.g. HEAD
 * and an older build): every binary takes its turn in each round, and each is reported as a ratio to
 * the floor of the same run.
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
import { createIndexer } from "../src/store/search.ts"

const { values } = parseArgs({
  options: {
    binary: { type: "string", multiple: true },
    "skip-large": { type: "boolean", default: false },
    runs: { type: "string", default: "10" },
    sessions: { type: "string", default: "10000" },
    messages: { type: "string", default: "1000000" },
    "gateway-only": { type: "boolean", default: false },
  },
})
const runs = Number(values.runs)
const scratch = mkdtempSync(join(tmpdir(), "drost-bench-bin-"))
const binaries = values.binary?.length ? values.binary.map((path) => resolve(path)) : [join(scratch, "drost")]
if (!values.binary?.length) {
  const version = ((await Bun.file(join(import.meta.dir, "../package.json")).json()) as { version: string }).version
  console.log(`compiling the current tree to ${binaries[0]} …`)
  await compile({ outfile: binaries[0]!, version, commit: "bench" })
}
for (const binary of binaries) if (!existsSync(binary)) throw new Error(`no binary at ${binary}`)

/** The floor: the least a compiled Bun HTTP server costs from spawn to its first 200. */
const bare = join(scratch, "bare-serve")
writeFileSync(
  join(scratch, "bare-serve.ts"),
  [
    "const port = Number(process.argv.at(-1))",
    'Bun.serve({ hostname: "127.0.0.1", port, fetch: () => new Response("ok") })',
    "",
  ].join("\n"),
)
{
  const built = Bun.spawnSync(
    [process.execPath, "build", "--compile", join(scratch, "bare-serve.ts"), "--outfile", bare],
    { stdout: "ignore", stderr: "pipe" },
  )
  if (built.exitCode !== 0) throw new Error(`bun build --compile of the floor failed: ${built.stderr.toString()}`)
}

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
    let stat: string
    try {
      stat = readFileSync(`/proc/${id}/stat`, "utf8")
    } catch {
      return sum // a short-lived child (a sandbox probe) ended between the listing and the read
    }
    const fields = stat.split(") ")[1]!.split(" ")
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
  binary: string,
): Promise<{ ms: number; cpu: number; rss?: { total: number; each: number[] } }> {
  const port = freePort()
  const started = performance.now()
  const command = binary === bare ? [bare, String(port)] : [binary, "start", "--server", "--port", String(port)]
  const path = binary === bare ? "/" : "/healthz"
  const proc = Bun.spawn(command, {
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
      const response = await fetch(`http://127.0.0.1:${port}${path}`).catch(() => null)
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
  // Indexed, as a store in use is: messages left waiting for the full-text index are indexed in the
  // background from a second after a start, which the idle-RSS sample at 2 s would measure instead.
  createIndexer(db).flush()
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

const all = [bare, ...binaries]

/**
 * Every binary (the floor first) in each round, so their medians share the load of the same minutes.
 * Each binary has its own workspace (an older build refuses a store migrated by a newer one).
 */
async function scenario(name: string, folders: string[], all: string[]) {
  for (const [index, binary] of all.entries()) await startOnce(folders[index]!, false, binary) // warm up, migrate
  const times = all.map(() => [] as number[])
  const cpu = all.map(() => [] as number[])
  for (let i = 0; i < runs; i++)
    for (const [index, binary] of all.entries()) {
      const run = await startOnce(folders[index]!, false, binary)
      times[index]!.push(run.ms)
      cpu[index]!.push(run.cpu)
    }
  const floor = stats(times[0]!)
  const rows = []
  for (const [index, binary] of all.entries()) {
    const idle = await startOnce(folders[index]!, true, binary)
    const row = stats(times[index]!)
    rows.push({
      binary: binary === bare ? "bare Bun.serve (floor)" : binary,
      ...row,
      ratioToFloor: Math.round((row.median / floor.median) * 100) / 100,
      cpuMedianMs: stats(cpu[index]!).median,
      rssMb: idle.rss!.total,
      rssPerProcessMb: idle.rss!.each,
    })
  }
  return { name, rows, load: Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]) }
}

const empty = all.map(() => workspace())
// The large store is filled with this tree's migrations, which an older build refuses: only the floor and
// the first binary start against it.
const large = all.slice(0, 2).map(() => workspace())
try {
  const loadStart = Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0])
  const emptyResult = await scenario("empty store", empty, all)
  const results = [emptyResult]
  if (!values["skip-large"]) {
    const filled = performance.now()
    const written = fill(large[1]!, Number(values.sessions), Number(values.messages))
    const fillSeconds = Math.round((performance.now() - filled) / 100) / 10
    const dbMb = Math.round(Bun.file(join(large[1]!, ".drost", "drost.db")).size / 1024 / 1024)
    const largeResult = await scenario(
      `${values.sessions} sessions, ${written} messages (${dbMb} MB db, filled in ${fillSeconds} s)`,
      large,
      all.slice(0, 2),
    )
    results.push(largeResult)
  }
  console.log(
    `${runs} runs each, alternating · spawn → /healthz 200${values["gateway-only"] ? " · gateway process only (no supervisor)" : ""}`,
  )
  for (const result of results) {
    console.log(`  ${result.name} (load ${loadStart} → ${result.load})`)
    for (const row of result.rows)
      console.log(
        `    ${row.binary.padEnd(40)} min ${row.min} ms · median ${row.median} ms (${row.ratioToFloor}× floor) · p90 ${row.p90} ms · CPU ${row.cpuMedianMs} ms · idle RSS ${row.rssMb} MB (${row.rssPerProcessMb.join(" + ")})`,
      )
  }
  console.log(
    JSON.stringify({
      bench: "startup",
      runs,
      gatewayOnly: values["gateway-only"],
      loadStart,
      results,
    }),
  )
} finally {
  for (const folder of [...empty, ...large]) rmSync(folder, { recursive: true, force: true })
  rmSync(scratch, { recursive: true, force: true })
}
