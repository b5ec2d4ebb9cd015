/**
 * The evolution transaction: checkpoint → change → gates → apply or roll back, one at a time.
 *
 * - Checkpoint: commit the mutable roots as they are (`before`) and write the journal.
 * - Change: the edits go through the workspace's file-access rules (src/workspace: canonical paths,
 *   race-free opens, secrets refused) with the mutable roots as their only writable roots, plus the
 *   boundaries below; deletions get the same policy.
 * - Gates (gates.ts), every one that runs code inside the OS sandbox (confine.ts); refused up front
 *   where no sandbox works. Fail → restore exactly `before` and return the gate's output.
 * - Pass → commit "evolve: <reason>". Tools and prompts reload on their own at the next turn. When
 *   anything else changed (source, config) the supervisor restarts the gateway into it and runs the
 *   health gate (cli/supervisor.ts); this process only records the handoff in the journal.
 *
 * Boundaries: the state folder and credential files are never writable, and the config file only when
 * it is listed by itself in `mutableRoots`; even then the config gate refuses a change that weakens a
 * guarded setting (guard.ts), so a change cannot widen its own roots or drop its gates.
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path"
import type { Bus } from "../bus/bus.ts"
import type { Config } from "../core/config.ts"
import { Evolution as EvolutionSchema, type Evolution as EvolutionSettings } from "../core/evolution-config.ts"
import { Busy, DrostError, Invalid, NotFound } from "../core/error.ts"
import { Value } from "../core/schema.ts"
import type { Sandbox } from "../sandbox/sandbox.ts"
import type { Logger } from "../util/log.ts"
import { createAccess } from "../workspace/access.ts"
import { boundaryOf, CONFIG_NAMES } from "../workspace/boundary.ts"
import { deleteFile, editFile, writeFile } from "../workspace/edit.ts"
import { inside } from "../workspace/roots.ts"
import { createAudit, type EvolutionRecord, type Step } from "./audit.ts"
import { configGate } from "./config-gate.ts"
import { confineGates } from "./confine.ts"
import { EvolutionEvent } from "./events.ts"
import { runGates } from "./gates.ts"
import { createRepo } from "./git.ts"
import { Journal, recordOf } from "./journal.ts"

export type Change =
  | { path: string; content: string }
  | { path: string; search: string; replace: string; all?: boolean }
  | { path: string; delete: true }

export interface RunInput {
  reason: string
  changes: Change[]
  /** tool, api, cli, … */
  by: string
  revertOf?: string
}

export interface Outcome {
  id: string
  ok: boolean
  status: EvolutionRecord["status"]
  verdict: string
  /** What the model (or the API client) should read: the verdict plus the failing gate's output. */
  output: string
  record: EvolutionRecord
}

export interface EvolutionDeps {
  config: Config
  bus: Bus
  log: Logger
  /** Running under `drost start`'s supervisor, which can restart us and run the health gate. */
  supervised: boolean
  requestRestart(by: string): void
  /** The gateway's OS sandbox (one probe per process); built from `config.sandbox` when absent. */
  sandbox?: Sandbox
}

const CREDENTIAL = /^(\.env(\..*)?|credentials\.json|auth-profiles\.json|control-token|.*\.pem|.*\.key)$/

export function settings(config: Config): EvolutionSettings {
  return config.evolution ?? (Value.Default(EvolutionSchema, {}) as EvolutionSettings)
}

/** Workspace-relative mutable roots, or the reason they cannot be used. */
export function resolveRoots(config: Config): { roots: string[]; problem: string | null; configMutable: boolean } {
  const evo = settings(config)
  const roots: string[] = []
  for (const root of evo.mutableRoots) {
    const abs = resolve(config.workspaceDir, root)
    const rel = relative(config.workspaceDir, abs)
    if (rel.startsWith("..") || isAbsolute(rel))
      return { roots, configMutable: false, problem: `evolution.mutableRoots: "${root}" is outside the workspace` }
    if (inside(abs, config.stateDir) || inside(config.stateDir, abs))
      return {
        roots,
        configMutable: false,
        problem: `evolution.mutableRoots: "${root}" contains the state folder ${relative(config.workspaceDir, config.stateDir)}; list its subfolders instead`,
      }
    roots.push(rel || ".")
  }
  const configRel = config.file ? relative(config.workspaceDir, config.file) : null
  return { roots, problem: null, configMutable: configRel !== null && roots.includes(configRel) }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

function newId(): string {
  const random = crypto.getRandomValues(new Uint8Array(5)).reduce((out, byte) => out + (byte % 36).toString(36), "")
  return `evo_${Date.now().toString(36)}${random}`
}

export function createEvolution(deps: EvolutionDeps) {
  const { config, bus, log } = deps
  const evo = settings(config)
  const { roots, problem, configMutable } = resolveRoots(config)
  const workspace = config.workspaceDir
  const repo = createRepo({ dir: workspace, gitdir: join(config.stateDir, "evolution.git"), roots })
  const audit = createAudit(config.stateDir)
  const toolsDir = resolve(workspace, config.tools?.dir ?? "tools")
  // Reloaded at the next turn, so a change there needs no restart (skills: src/skills/catalog.ts).
  const skillDirs = [
    resolve(workspace, "skills"),
    ...(config.skills?.paths ?? []).map((path) => resolve(workspace, path)),
  ]
  const hotDirs = [toolsDir, dirname(config.prompts.system), config.memory?.dir, ...skillDirs].filter(
    (dir): dir is string => Boolean(dir),
  )
  const configFile = config.file ? resolve(config.file) : null
  const rootPaths = roots.map((root) => resolve(workspace, root))
  const boundary = boundaryOf({ ...config, tools: config.tools })
  // The policy: a path must be inside a mutable root (guard() checks every change against this first).
  const access = createAccess({ read: [workspace], write: rootPaths, boundary, code: true })
  // The writer opens a file from a root folder that holds its parent, so a root that is a single file
  // (the config listed by itself) needs its folder here; guard() has already held the path to the roots.
  const fileRoots = rootPaths.filter((path) => !isDirectory(path)).map((path) => dirname(path))
  const writer = createAccess({ read: [workspace], write: [...rootPaths, ...fileRoots], boundary, code: true })
  const confined = confineGates(config, deps.sandbox)
  let active: string | null = null

  const save = (record: EvolutionRecord) => audit.save(record)
  const step = (record: EvolutionRecord, name: string, ok: boolean, output: string, durationMs: number) => {
    const entry: Step = { name, ok, output, durationMs, at: Date.now() }
    record.steps.push(entry)
    bus.publish(EvolutionEvent.Step, { id: record.id, name, ok, durationMs, output: output.slice(0, 2000) })
    save(record)
  }

  /** The evolution-specific policy on top of the workspace access rules (which refuse secrets). */
  function guard(path: string): string {
    const target = access.resolve(path, "write")
    if (inside(config.stateDir, target))
      throw new Invalid(`"${path}" is in the state folder; evolution never touches it`)
    if (CREDENTIAL.test(basename(target)))
      throw new Invalid(`"${path}" looks like a credentials file; evolution never touches it`)
    if (configFile && target === configFile && !configMutable)
      throw new Invalid(
        `"${path}" is the config file; it is mutable only when listed by itself in evolution.mutableRoots`,
      )
    // Another config name would take over from the one in use at the next start, past the config gate.
    if (target !== configFile && CONFIG_NAMES.some((name) => target === resolve(workspace, name)))
      throw new Invalid(`"${path}" would replace the config file in use (${configFile ?? "none"}); refused`)
    return target
  }

  function apply(changes: Change[]): string[] {
    const out: string[] = []
    for (const change of changes) {
      guard(change.path)
      if ("delete" in change) out.push(deleteFile(writer, change.path))
      else if ("content" in change) out.push(writeFile(writer, change.path, change.content))
      else out.push(editFile(writer, change.path, { search: change.search, replace: change.replace, all: change.all }))
    }
    return out
  }

  /** Whether gating these changes runs code (a tool import, a config evaluation, a command). */
  function runsCode(changes: Change[]): boolean {
    if (evo.validation.commands.length > 0) return true
    return changes.some((change) => {
      const target = resolve(workspace, change.path)
      return inside(toolsDir, target) || target === configFile
    })
  }

  /** What the gates could have touched in the roots, by content. */
  function fingerprint(paths: string[]): string {
    const hash = new Bun.CryptoHasher("sha256")
    for (const path of paths.map((p) => join(workspace, p)).sort()) {
      hash.update(`${path}\0`)
      hash.update(existsSync(path) ? readFileSync(path) : "\0missing")
    }
    return hash.digest("hex")
  }

  const journalBase = (id: string, reason: string, before: string, folders: string[], startedAt: number) => ({
    id,
    reason,
    before,
    folders,
    roots,
    startedAt,
    workspace,
    stateDir: config.stateDir,
    gate: { ...evo.healthGate, rollbackOnFailure: evo.rollbackOnFailure },
  })

  async function rollback(record: EvolutionRecord, before: string, folders: string[]) {
    const started = performance.now()
    await repo.restore(before, new Set(folders))
    await repo.reset(before)
    const left = await repo.changed()
    step(
      record,
      "rollback",
      left.length === 0,
      left.length ? `still different from the checkpoint: ${left.join(", ")}` : `restored ${before.slice(0, 10)}`,
      performance.now() - started,
    )
  }

  function finish(record: EvolutionRecord, status: EvolutionRecord["status"], verdict: string, detail = ""): Outcome {
    record.status = status
    record.verdict = verdict
    record.endedAt = Date.now()
    save(record)
    if (status !== "restarting") Journal.clear(config.stateDir)
    const ok = status === "applied" || status === "restarting"
    const output = ok
      ? verdict
      : `${verdict}${detail ? `\n\n${detail}` : ""}\n\n${status === "rolled_back" ? `The mutable roots are back to exactly the checkpoint ${record.before?.slice(0, 10)}. Fix the problem and try again.` : "The change was left in place (evolution.rollbackOnFailure is false)."}`
    return { id: record.id, ok, status, verdict, output, record }
  }

  async function run(input: RunInput): Promise<Outcome> {
    if (!evo.enabled) throw new DrostError("Unavailable", "self-evolution is disabled (evolution.enabled is false)")
    if (problem) throw new DrostError("Unavailable", problem)
    if (!input.reason.trim()) throw new Invalid("a reason is required (it becomes the commit message)")
    if (input.changes.length === 0) throw new Invalid("no changes given")
    const pending = Journal.read(config.stateDir)
    if (active || pending)
      throw new Busy(`evolution ${active ?? pending?.id} is in progress; try again when it has ended`, {
        id: active ?? pending?.id,
      })
    // Refused before anything is touched: the gates would have to run model-written code unconfined.
    const unconfined = runsCode(input.changes) ? await confined.unconfined() : null
    if (unconfined) throw new DrostError("Unavailable", `evolution refused: ${unconfined}`)
    const id = newId()
    active = id
    try {
      const record: EvolutionRecord = {
        id,
        reason: input.reason,
        by: input.by,
        status: "running",
        startedAt: Date.now(),
        endedAt: null,
        before: null,
        after: null,
        files: [],
        steps: [],
        verdict: null,
        restart: null,
        ...(input.revertOf ? { revertOf: input.revertOf } : {}),
      }
      let started = performance.now()
      const dirty = await repo.changed()
      const before = await repo.checkpoint(`checkpoint before ${id}\n\n${input.reason}`)
      const folders = [...repo.folders()]
      record.before = before
      const base = journalBase(id, input.reason, before, folders, record.startedAt)
      Journal.write(config.stateDir, { ...base, stage: "changing" })
      bus.publish(EvolutionEvent.Started, { id, reason: input.reason, by: input.by, before })
      step(
        record,
        "checkpoint",
        true,
        `before = ${before}${dirty.length ? ` (committed ${dirty.length} earlier edit${dirty.length === 1 ? "" : "s"} first: ${dirty.slice(0, 10).join(", ")})` : ""}`,
        performance.now() - started,
      )

      started = performance.now()
      try {
        step(record, "change", true, apply(input.changes).join("\n"), performance.now() - started)
      } catch (error) {
        step(record, "change", false, (error as Error).message, performance.now() - started)
        await rollback(record, before, folders)
        return finish(record, "rolled_back", `evolution ${id} refused: ${(error as Error).message}`)
      }
      const changed = await repo.changed()
      if (changed.length === 0)
        return finish(record, "applied", `evolution ${id}: the changes left every file as it was; nothing to apply`)

      Journal.write(config.stateDir, { ...base, stage: "gating" })
      const print = fingerprint(changed)
      const configBefore = configFile && existsSync(configFile) ? readFileSync(configFile) : null
      const gates = await runGates({
        workspace,
        changed,
        toolsDir,
        commands: evo.validation.commands,
        timeoutMs: evo.validation.timeoutMs,
        confined,
        configGate: async () =>
          configFile && changed.includes(relative(workspace, configFile)) ? configGate(config, confined) : null,
        onStep: (entry) => step(record, entry.name, entry.ok, entry.output, entry.durationMs),
      })
      // Confined gates see the workspace read-only; with sandbox "off" this is what catches one that
      // wrote. The config is put back here even when it is outside the roots (a rollback would miss it).
      started = performance.now()
      const configNow = configFile && existsSync(configFile) ? readFileSync(configFile) : null
      const configTouched = !(configBefore && configNow ? configBefore.equals(configNow) : configBefore === configNow)
      if (configTouched && configFile)
        if (configBefore) writeFileSync(configFile, configBefore)
        else rmSync(configFile, { force: true })
      const now = await repo.changed()
      const same = !configTouched && fingerprint(now) === print && now.join("\n") === changed.join("\n")
      if (gates.ok || !same) {
        const output = same
          ? "the gates left the change and the config as they were"
          : `a gate changed ${configTouched ? "the config (put back as it was)" : "the files being gated"}; refused`
        step(record, "gate:integrity", same, output, performance.now() - started)
        if (!same) gates.steps.push(record.steps.at(-1)!)
        gates.ok &&= same
      }
      if (!gates.ok) {
        const failed = gates.steps.at(-1)!
        const verdict = `evolution ${id} rolled back: ${failed.name} failed`
        // A config that weakens the guards, or gates that were tampered with, never stay on disk.
        const forced = failed.name === "gate:config" || failed.name === "gate:integrity"
        if (!evo.rollbackOnFailure && !forced) {
          Journal.clear(config.stateDir)
          return finish(record, "failed", verdict.replace("rolled back", "failed"), failed.output)
        }
        await rollback(record, before, folders)
        bus.publish(EvolutionEvent.RolledBack, { id, reason: input.reason, before, verdict })
        return finish(record, "rolled_back", verdict, failed.output)
      }

      started = performance.now()
      const after = (await repo.commit(`evolve: ${input.reason}\n\n${id}`))!
      record.after = after
      record.files = await repo.diff(before, after)
      const restart = record.files.some((file) => !hotDirs.some((dir) => inside(dir, join(workspace, file.path))))
      record.restart = { needed: restart }
      step(
        record,
        "commit",
        true,
        `after = ${after}\n${record.files.map((f) => `${f.status.padEnd(8)} ${f.path} +${f.added} -${f.removed}`).join("\n")}`,
        performance.now() - started,
      )
      const names = record.files.map((file) => file.path)
      if (!restart) {
        bus.publish(EvolutionEvent.Applied, { id, reason: input.reason, after, files: names, restart: false })
        Journal.clear(config.stateDir)
        return finish(
          record,
          "applied",
          `evolution ${id} applied (${names.join(", ")}); tools and prompts reload at the next turn`,
        )
      }
      if (!deps.supervised) {
        const verdict = `evolution ${id} rolled back: it changes source or config (${names.filter((path) => !hotDirs.some((dir) => inside(dir, join(workspace, path)))).join(", ")}), which needs a restart with a health gate, and this gateway has no supervisor (run it with drost start)`
        await rollback(record, before, folders)
        return finish(record, "rolled_back", verdict)
      }
      Journal.write(config.stateDir, { ...base, after, stage: "restarting" })
      bus.publish(EvolutionEvent.Restarting, { id, reason: input.reason, after })
      const outcome = finish(
        record,
        "restarting",
        `evolution ${id} passed the gates and is committed (${names.join(", ")}); the gateway restarts into it once this turn ends, and rolls back by itself if the new code fails the health gate (see drost evolution log)`,
      )
      record.endedAt = null
      save(record)
      // The restart drains running turns first, so this tool result still reaches the model.
      deps.requestRestart(`evolution ${id}`)
      return outcome
    } finally {
      active = null
    }
  }

  /** At start: finish what the journal says was in flight. */
  async function recover(): Promise<string | null> {
    const journal = Journal.read(config.stateDir)
    if (!journal) return null
    const record = recordOf(journal, audit.get(journal.id), "running")
    if (journal.stage === "restarting" && journal.health?.recorded) {
      // The supervisor rolled back and wrote the record itself (health.ts): only the events are left.
      bus.publish(EvolutionEvent.Health, { id: journal.id, ok: false, detail: journal.health.detail })
      bus.publish(EvolutionEvent.RolledBack, {
        id: journal.id,
        reason: journal.reason,
        before: journal.before,
        verdict: `the start after the change failed: ${journal.health.detail.split("\n")[0]}`,
      })
      Journal.clear(config.stateDir)
      return journal.id
    }
    if (journal.stage === "restarting" && journal.health) {
      const health = journal.health
      record.restart = { ...(record.restart ?? { needed: true }), verdictAt: health.verdictAt }
      record.steps.push({
        name: "health",
        ok: false,
        output: health.detail,
        durationMs: health.durationMs,
        at: health.verdictAt,
      })
      record.steps.push({
        name: "rollback",
        ok: health.rolledBack,
        output: health.rolledBack
          ? `the supervisor restored ${journal.before.slice(0, 10)} and restarted`
          : "left in place (evolution.rollbackOnFailure is false)",
        durationMs: 0,
        at: health.verdictAt,
      })
      bus.publish(EvolutionEvent.Health, { id: journal.id, ok: false, detail: health.detail })
      bus.publish(EvolutionEvent.RolledBack, {
        id: journal.id,
        reason: journal.reason,
        before: journal.before,
        verdict: `health gate failed: ${health.detail}`,
      })
      Journal.clear(config.stateDir)
      finish(
        record,
        health.rolledBack ? "rolled_back" : "failed",
        `evolution ${journal.id} ${health.rolledBack ? "rolled back" : "failed"}: the health gate failed after the restart (${health.detail.split("\n")[0]})`,
      )
      return journal.id
    }
    if (journal.stage === "restarting") {
      if (deps.supervised) return null // the supervisor runs the health gate and sends the verdict
      record.steps.push({
        name: "health",
        ok: true,
        output: "skipped: no supervisor is running this gateway",
        durationMs: 0,
        at: Date.now(),
      })
      Journal.clear(config.stateDir)
      finish(record, "applied", `evolution ${journal.id} applied without a health gate (no supervisor)`)
      return journal.id
    }
    await rollback(record, journal.before, journal.folders)
    bus.publish(EvolutionEvent.Recovered, {
      id: journal.id,
      before: journal.before,
      detail: `the gateway stopped during the ${journal.stage} stage`,
    })
    Journal.clear(config.stateDir)
    finish(
      record,
      "rolled_back",
      `evolution ${journal.id} rolled back at start: the gateway stopped during the ${journal.stage} stage; the checkpoint was restored`,
    )
    log.warn("recovered an interrupted evolution", { id: journal.id, before: journal.before })
    return journal.id
  }

  /** The supervisor's health verdict for the change we were restarted into. */
  function verdict(input: { id: string; ok: boolean; detail: string; durationMs: number }) {
    const journal = Journal.read(config.stateDir)
    const record = audit.get(input.id)
    if (!record || journal?.id !== input.id) return
    record.steps.push({
      name: "health",
      ok: input.ok,
      output: input.detail,
      durationMs: input.durationMs,
      at: Date.now(),
    })
    bus.publish(EvolutionEvent.Health, { id: input.id, ok: input.ok, detail: input.detail })
    bus.publish(EvolutionEvent.Applied, {
      id: input.id,
      reason: record.reason,
      after: record.after ?? "",
      files: record.files.map((file) => file.path),
      restart: true,
    })
    Journal.clear(config.stateDir)
    finish(record, "applied", `evolution ${input.id} applied: the gateway restarted into it and passed the health gate`)
  }

  /** After a rollback restart: how long from the verdict until this gateway was healthy again. */
  function healthy(input: { id: string; verdictAt: number; healthyAt: number }) {
    const record = audit.get(input.id)
    if (!record) return
    record.restart = {
      ...(record.restart ?? { needed: true }),
      verdictAt: input.verdictAt,
      healthyAt: input.healthyAt,
      healthyAfterMs: input.healthyAt - input.verdictAt,
    }
    record.steps.push({
      name: "recovered",
      ok: true,
      output: `healthy again ${input.healthyAt - input.verdictAt} ms after the verdict`,
      durationMs: input.healthyAt - input.verdictAt,
      at: input.healthyAt,
    })
    bus.publish(EvolutionEvent.Health, {
      id: input.id,
      ok: true,
      detail: "healthy again after the rollback",
      healthyAfterMs: input.healthyAt - input.verdictAt,
    })
    save(record)
  }

  /** Undo a past transaction as a new transaction (same gates), refusing when its files changed since. */
  async function revert(id: string, by: string): Promise<Outcome> {
    const record = audit.get(id)
    if (!record) throw new NotFound("evolution", id)
    if (record.status !== "applied" || !record.before || !record.after)
      throw new Invalid(`evolution ${id} is ${record.status}; only an applied one can be reverted`)
    const changes: Change[] = []
    const conflicts: string[] = []
    for (const file of record.files) {
      const after = await repo.read(record.after, file.path)
      const full = join(workspace, file.path)
      const now = existsSync(full) ? readFileSync(full, "utf8") : null
      if (now !== after) conflicts.push(file.path)
      const before = await repo.read(record.before, file.path)
      changes.push(before === null ? { path: file.path, delete: true } : { path: file.path, content: before })
    }
    if (conflicts.length)
      throw new DrostError(
        "Conflict",
        `cannot revert ${id}: changed since then: ${conflicts.join(", ")}; revert the later evolutions first`,
        { conflicts },
      )
    return run({ reason: `revert ${id}: ${record.reason}`, changes, by, revertOf: id })
  }

  return {
    enabled: evo.enabled && !problem,
    problem,
    roots,
    settings: evo,
    audit,
    repo,
    run,
    revert,
    recover,
    verdict,
    healthy,
    busy: () => active ?? Journal.read(config.stateDir)?.id ?? null,
    list: () => audit.list(),
    get: (id: string) => audit.get(id),
  }
}

export type EvolutionService = ReturnType<typeof createEvolution>
