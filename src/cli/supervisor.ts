/**
 * `drost start` runs this small supervisor; the gateway runs as its child (the same executable, with
 * DROST_SUPERVISED=1). The supervisor:
 * - restarts the child when it asks (exit code RESTART: /restart, the API, `drost restart`, evolution);
 * - restarts it after a crash with exponential backoff, and gives up after `supervisor.maxCrashes` in
 *   `supervisor.windowMs`, leaving its reason on stderr and in `.drost/supervisor.json`;
 * - forwards SIGTERM/SIGHUP (and SIGINT when there is no terminal) for a clean stop;
 * - runs the health gate after a restart into evolved code (journal stage "restarting"): ready and
 *   /healthz within `evolution.healthGate.timeoutMs`, then a canary turn, and the gateway must run on
 *   the workspace the change was made in. On failure (a config that no longer loads included) it
 *   restores the checkpoint with its own (old, trusted) code, records "rolled back" with the start's
 *   error (evolve/health.ts) and starts the child again. The gate's settings come from the journal,
 *   which the trusted gateway wrote, never from the changed config.
 * The child's exit code REFUSED (bad config, workspace locked, port busy) ends the supervisor at once,
 * with the same code (exit.ts).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { Subprocess } from "bun"
import type { Supervisor as SupervisorSettings } from "../core/evolution-config.ts"
import type { Config } from "../core/config.ts"
import { type Journal as JournalEntry, Journal } from "../evolve/journal.ts"
import { self } from "../evolve/self.ts"
import { alive } from "../util/process.ts"
import type { FromChild, ToChild } from "./child.ts"
import { REFUSED, RESTART } from "./exit.ts"

export interface SuperviseArgs {
  workspace: string
  config?: string
  /** Arguments for the child's `start` (flags as given). */
  argv: string[]
}

interface Spawned {
  proc: Subprocess
  ready: Promise<{ url: string | null } | null>
  replies: ((message: FromChild) => void)[]
  stderrTail: () => string
}

/** `capture`: pipe the child's stderr through us to keep its end for the health gate's verdict. */
function spawnChild(args: SuperviseArgs, capture: boolean): Spawned {
  let markReady: (value: { url: string | null } | null) => void = () => {}
  const ready = new Promise<{ url: string | null } | null>((resolve) => {
    markReady = resolve
  })
  const replies: ((message: FromChild) => void)[] = []
  let tail = ""
  const proc = Bun.spawn([...self(), "start", ...args.argv], {
    cwd: process.cwd(),
    env: { ...process.env, DROST_SUPERVISED: "1" },
    stdin: "inherit",
    stdout: "inherit",
    // Inherited otherwise, so its lines stay in order with stdout (tests and logs read both).
    stderr: capture ? "pipe" : "inherit",
    ipc(message: FromChild) {
      if (message.type === "ready") markReady({ url: message.url })
      for (const reply of replies) reply(message)
    },
  })
  proc.exited.then(() => markReady(null))
  // Forward the child's stderr and keep its end: the last lines explain a crash.
  ;(async () => {
    if (!capture) return
    const decoder = new TextDecoder()
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) {
      process.stderr.write(chunk)
      tail = (tail + decoder.decode(chunk)).slice(-4000)
    }
  })()
  return { proc, ready, replies, stderrTail: () => tail }
}

function request(
  child: Spawned,
  message: ToChild,
  expect: FromChild["type"],
  timeoutMs: number,
): Promise<FromChild | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), Math.max(0, timeoutMs))
    child.replies.push((reply) => {
      if (reply.type !== expect) return
      clearTimeout(timer)
      resolve(reply)
    })
    child.proc.exited.then(() => resolve(null))
    child.proc.send(message)
  })
}

async function stopChild(child: Spawned, graceMs = 3000) {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return
  child.proc.kill("SIGTERM")
  const timer = setTimeout(() => child.proc.kill("SIGKILL"), graceMs)
  await child.proc.exited
  clearTimeout(timer)
}

/** ready + /healthz + canary within the deadline; resolves to null when healthy, else the reason. */
async function healthGate(child: Spawned, timeoutMs: number, canary: boolean): Promise<string | null> {
  const deadline = Date.now() + timeoutMs
  const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), timeoutMs))
  const ready = await Promise.race([child.ready, timeout])
  if (ready === "timeout") return `not ready within ${timeoutMs} ms`
  if (ready === null) {
    const code = await child.proc.exited
    const last = child.stderrTail().trim().split("\n").slice(-6).join("\n")
    return `the gateway exited (code ${code ?? child.proc.signalCode}) before it was ready${last ? `:\n${last}` : ""}`
  }
  if (ready.url) {
    const response = await fetch(`${ready.url}/healthz`, {
      signal: AbortSignal.timeout(Math.max(100, deadline - Date.now())),
    }).catch((error: Error) => error)
    if (response instanceof Error) return `/healthz failed: ${response.message}`
    if (response.status !== 200) return `/healthz answered ${response.status}: ${await response.text()}`
  }
  if (canary) {
    const reply = await request(child, { type: "canary" }, "canary", deadline - Date.now())
    if (reply?.type !== "canary") return `the canary turn did not finish within ${timeoutMs} ms`
    if (!reply.ok) return `the canary turn failed: ${reply.detail}`
  }
  return null
}

/**
 * A gateway whose supervisor was just killed exits by itself moments later (IPC disconnect), but on a
 * busy machine that can take a second or two: wait briefly for its lock rather than refuse at once.
 */
async function awaitStaleLock(stateDir: string, ms = 3000) {
  const holder = lockHolder(stateDir)
  const deadline = Date.now() + ms
  while (holder && alive(holder) && Date.now() < deadline) await Bun.sleep(50)
}

/** A restart into an evolved change whose health gate has not run yet, in the first of these folders. */
function pendingGate(stateDirs: (string | undefined)[]): { journal: JournalEntry; stateDir: string } | null {
  for (const dir of new Set(stateDirs.filter((d): d is string => Boolean(d)))) {
    const journal = Journal.read(dir)
    if (journal?.stage === "restarting" && !journal.health) return { journal, stateDir: dir }
  }
  return null
}

/**
 * A healthy gateway on another workspace is a failed start too: a change to `workspaceDir` (or
 * `stateDir`) would otherwise pass onto an empty workspace, with the journal and the change left behind.
 * The child must hold the lock of the state folder the change was made in, and the config must still
 * name the workspace the change was made in.
 */
async function sameWorkspace(
  child: Spawned,
  journal: JournalEntry,
  stateDir: string,
  args: SuperviseArgs,
): Promise<string | null> {
  const expected = journal.stateDir ?? stateDir
  if (lockHolder(expected) !== child.proc.pid)
    return `the new gateway (pid ${child.proc.pid}) does not run on the state folder ${expected}: the change moved workspaceDir or stateDir`
  if (!journal.workspace) return null
  const { load } = await import("../gateway/load.ts")
  const config = await load({ root: args.workspace, file: args.config }).catch((error: Error) => error)
  if (config instanceof Error) return `the config does not load for the supervisor: ${config.message}`
  if (config.workspaceDir !== journal.workspace || config.stateDir !== expected)
    return `the change moves the workspace to ${config.workspaceDir} (state ${config.stateDir}); it was made in ${journal.workspace}`
  return null
}

/** Where state lives unless the config moves it. */
const defaultStateDir = (workspace: string) => join(workspace, ".drost")

/** The pid in the state folder's lock file, if that process still runs. */
function lockHolder(stateDir: string): number | null {
  try {
    const pid = (JSON.parse(readFileSync(join(stateDir, "gateway.pid"), "utf8")) as { pid: number }).pid
    return alive(pid) ? pid : null
  } catch {
    return null
  }
}

/**
 * The first gateway is spawned before the supervisor loads the config schema and the config (most of
 * what the supervisor adds to a start), when the default state folder shows nothing to wait for: no
 * health gate a killed supervisor left open (that start must be gated) and no predecessor still holding
 * the lock (it is waited for). A config that moves the state folder is read after the spawn; a health
 * gate left open there still runs, without the child's captured stderr in its verdict.
 */
function earlyStart(args: SuperviseArgs): Spawned | null {
  if (args.config) return null
  const stateDir = defaultStateDir(args.workspace)
  const journal = Journal.read(stateDir)
  if (journal?.stage === "restarting" && !journal.health) return null
  if (lockHolder(stateDir) !== null) return null
  return spawnChild(args, false)
}

export async function supervise(args: SuperviseArgs): Promise<number> {
  let stopping = false
  let current: Spawned | null = null
  let wake: () => void = () => {}
  const onSignal = (signal: NodeJS.Signals) => {
    // In a terminal, Ctrl-C already reached the child (same process group); the chat decides.
    if (signal === "SIGINT" && process.stdin.isTTY) return
    stopping = true
    current?.proc.kill(signal)
    wake()
  }
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, onSignal)
  // Whoever started us in the foreground (`npm start`, a shell script) may die without passing its
  // SIGTERM on: we are then reparented, and stop as if signalled rather than run on orphaned. A service
  // manager (systemd, launchd) or a container's init is pid 1 or stays our parent, so this never fires there.
  const parent = process.ppid
  if (parent > 1) setInterval(() => process.ppid !== parent && !stopping && onSignal("SIGTERM"), 250).unref()

  const crashes: number[] = []
  let recovered: { id: string; verdictAt: number } | null = null
  const stateDir = (config: Config | null) => config?.stateDir ?? defaultStateDir(args.workspace)
  let early = earlyStart(args)
  current = early
  // Loaded once that gateway is ready (or gone): on a small machine this work would compete with its
  // start for the CPU, and nothing below is needed before then (a health gate begins by waiting for ready).
  if (early) await early.ready
  const [{ load }, { Value }, { Supervisor: SupervisorSchema }] = await Promise.all([
    import("../gateway/load.ts"),
    import("../core/schema.ts"),
    import("../core/evolution-config.ts"),
  ])
  const supervisorSettings = (config: Config | null): SupervisorSettings =>
    config?.supervisor ?? (Value.Default(SupervisorSchema, {}) as SupervisorSettings)
  // The last config that loaded while no restart was being gated: a change's restart is judged and
  // rolled back with what it and the journal say, never with the changed config (which may not load,
  // or may point at another workspace).
  let trusted: Config | null = null
  let first = true
  for (;;) {
    let pending = pendingGate([trusted?.stateDir, defaultStateDir(args.workspace)])
    let config: Config | null = null
    if (!pending) {
      config = await load({ root: args.workspace, file: args.config }).catch(() => null)
      if (config) pending = pendingGate([config.stateDir])
      if (config && !pending) trusted = config
    }
    const known = trusted ?? config
    const limits = supervisorSettings(known)
    const gating = pending?.journal ?? null
    if (first && !early) await awaitStaleLock(stateDir(known))
    first = false

    const child = early ?? spawnChild(args, gating !== null)
    early = null
    current = child
    if (recovered) {
      const note = recovered
      recovered = null
      child.ready.then(
        (ready) =>
          ready &&
          child.proc.send({
            type: "healthy",
            id: note.id,
            verdictAt: note.verdictAt,
            healthyAt: Date.now(),
          } satisfies ToChild),
      )
    }
    if (pending && gating) {
      // Only after an evolution restart: the evolution service and git stay unloaded otherwise.
      const { settings: evolutionSettings } = await import("../evolve/service.ts")
      const fallback = evolutionSettings(known ?? ({} as Config))
      const gate = gating.gate ?? { ...fallback.healthGate, rollbackOnFailure: fallback.rollbackOnFailure }
      const started = Date.now()
      const problem =
        (await healthGate(child, gate.timeoutMs, gate.canary)) ??
        (await sameWorkspace(child, gating, pending.stateDir, args))
      if (problem === null) {
        child.proc.send({
          type: "verdict",
          id: gating.id,
          ok: true,
          detail: `ready, /healthz 200${gate.canary ? ", canary turn completed" : ""}`,
          durationMs: Date.now() - started,
        } satisfies ToChild)
      } else if (!stopping) {
        const verdictAt = Date.now()
        process.stderr.write(
          `drost: evolution ${gating.id} failed the health gate: ${problem.split("\n")[0]}; ${gate.rollbackOnFailure ? "rolling back" : "not rolling back (evolution.rollbackOnFailure is false)"}\n`,
        )
        await stopChild(child, 2000)
        const { rollbackAfterStart } = await import("../evolve/health.ts")
        const outcome = await rollbackAfterStart({
          journal: gating,
          stateDir: pending.stateDir,
          workspace: args.workspace,
          problem,
          verdictAt,
          durationMs: verdictAt - started,
          rollback: gate.rollbackOnFailure,
        })
        if (!outcome.restored)
          return giveUp(
            stateDir(known),
            `evolution ${gating.id} failed the health gate and was not rolled back (${outcome.detail}): ${problem}`,
            crashes,
          )
        recovered = { id: gating.id, verdictAt }
        continue
      }
    }

    const code = await child.proc.exited
    current = null
    if (stopping) return code ?? 0
    if (code === 0) return 0
    if (code === RESTART) continue
    // Passed on: a service manager must not restart a start the user has to fix (service.ts).
    if (code === REFUSED) return REFUSED
    const now = Date.now()
    crashes.push(now)
    while (crashes.length && crashes[0]! < now - limits.windowMs) crashes.shift()
    const last = child.stderrTail().trim().split("\n").slice(-3).join(" | ")
    const why = `exit ${code ?? child.proc.signalCode}${last ? `: ${last}` : "; its error is above"}`
    if (crashes.length >= limits.maxCrashes)
      return giveUp(
        stateDir(config),
        `the gateway crashed ${crashes.length} times within ${Math.round(limits.windowMs / 1000)} s (last: ${why})`,
        crashes,
      )
    const delay = Math.min(limits.maxBackoffMs, limits.backoffMs * 2 ** (crashes.length - 1))
    process.stderr.write(
      `drost: the gateway crashed (${why}); restarting in ${delay} ms (${crashes.length}/${limits.maxCrashes} within ${Math.round(limits.windowMs / 1000)} s)\n`,
    )
    await new Promise<void>((resolve) => {
      wake = resolve
      setTimeout(resolve, delay)
    })
    if (stopping) return 1
  }
}

function giveUp(stateDir: string, reason: string, crashes: number[]): number {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 })
  writeFileSync(
    join(stateDir, "supervisor.json"),
    `${JSON.stringify({ state: "gave-up", reason, crashes, at: Date.now() }, null, 2)}\n`,
    { mode: 0o600 },
  )
  process.stderr.write(
    `drost: supervisor stopped: ${reason}.\nFix the cause and run drost start again; if a recent change caused it, see drost evolution log and drost evolution revert <id> (docs/self-evolution.md).\n`,
  )
  return 1
}
