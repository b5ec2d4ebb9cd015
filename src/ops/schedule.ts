/**
 * Scheduled backups (`backup.every`, docs/operations.md#scheduled-backups): the running gateway writes
 * an archive into `backup.dir` at that interval and keeps the newest `backup.keep` of its own archives
 * there (files named by backupName; anything else in the folder is never touched). One timer at a
 * time: arming clears the pending one first, and stop() clears it and waits for a backup under way,
 * so nothing fires against a closed store. SQLite stores only: with a PostgreSQL store nothing is
 * scheduled (a warning at start says so; that database is backed up with pg_dump).
 */
import { mkdirSync, readdirSync, rmSync } from "node:fs"
import { join, resolve } from "node:path"
import type { Config } from "../core/config.ts"
import { parseEvery } from "../core/cron.ts"
import { Log } from "../util/log.ts"
import { type BackupResult, type BackupStore, backupName, createBackup, NotSqlite } from "./backup.ts"

const log = Log.create("backup")
const OWN = /^drost-backup-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ(-\d+)?\.tar\.gz$/

export interface BackupSchedule {
  /** The folder scheduled backups go to. */
  dir: string
  /** Run one now (what the timer does); resolves with the result, or null when it failed (logged). */
  run(): Promise<BackupResult | null>
  stop(): Promise<void>
}

export const backupDir = (config: Config) =>
  config.backup?.dir ? resolve(config.workspaceDir, config.backup.dir) : join(config.stateDir, "backups")

/** Delete the oldest of our archives in `dir` beyond `keep`; returns the names removed. */
export function prune(dir: string, keep: number): string[] {
  const ours = readdirSync(dir)
    .filter((name) => OWN.test(name))
    .sort()
  const gone = ours.slice(0, Math.max(0, ours.length - keep))
  for (const name of gone) rmSync(join(dir, name), { force: true })
  return gone
}

/** Null when `backup.every` is not set, or the store is not SQLite (then a warning says why). */
export function scheduleBackups(config: Config, store: BackupStore): BackupSchedule | null {
  const every = config.backup?.every
  if (!every) return null
  if (store.engine !== "sqlite") {
    log.warn("scheduled backups are off (backup.every is ignored)", {
      reason: new NotSqlite("backup.every", store.shown).message,
    })
    return null
  }
  const interval = parseEvery(every)
  const keep = config.backup?.keep ?? 7
  const dir = backupDir(config)
  let timer: ReturnType<typeof setTimeout> | null = null
  let running: Promise<BackupResult | null> | null = null
  let stopped = false

  const run = async (): Promise<BackupResult | null> => {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      let name = backupName()
      for (let n = 1; readdirSync(dir).includes(name); n++) name = backupName().replace(".tar.gz", `-${n}.tar.gz`)
      const result = await createBackup(config, {
        file: join(dir, name),
        withSecrets: config.backup?.withSecrets ?? false,
        store,
        exclude: dir,
      })
      const pruned = prune(dir, keep)
      log.info("scheduled backup written", { file: result.file, bytes: result.bytes, pruned })
      return result
    } catch (error) {
      log.error("scheduled backup failed", { error: (error as Error).message, dir })
      return null
    }
  }
  const arm = () => {
    if (timer) clearTimeout(timer)
    timer = null
    if (stopped) return
    timer = setTimeout(() => {
      timer = null
      running = run().finally(() => {
        running = null
        arm()
      })
    }, interval)
    timer.unref?.()
  }
  arm()
  return {
    dir,
    run,
    async stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      timer = null
      await running
    },
  }
}
