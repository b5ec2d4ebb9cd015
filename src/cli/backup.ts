/**
 * `drost backup [file]` and `drost restore <file>` (docs/operations.md). A running gateway takes the
 * backup itself (POST /control/v1/backup), so its store is copied through the connection that writes
 * it; a stopped workspace is backed up here, under the workspace lock, so no gateway starts on it
 * meanwhile. A restore never runs beside a gateway on its target (src/ops/restore.ts).
 */
import { existsSync } from "node:fs"
import { resolve } from "node:path"
import { defineCommand } from "citty"
import { load } from "../gateway/load.ts"
import { acquire, LockError } from "../gateway/lock.ts"
import { type BackupResult, backupName, createBackup } from "../ops/backup.ts"
import { restoreBackup } from "../ops/restore.ts"
import { workspaceArgs } from "./args.ts"
import { attachArgs } from "./attach.ts"
import { locate, where } from "./reach.ts"

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

export const backupCommand = defineCommand({
  meta: {
    name: "backup",
    description: "Write the whole state (store, evolution, memory, tools, config) to one archive",
  },
  args: {
    file: {
      type: "positional",
      required: false,
      description: "Archive to write (default: ./drost-backup-<time>.tar.gz)",
    },
    "with-secrets": {
      type: "boolean",
      description: "Include auth-profiles.json, the control token and .env (the archive is then 0600)",
    },
    json: { type: "boolean", description: "Print the result as JSON" },
    ...attachArgs,
  },
  async run({ args }) {
    const target = where(args)
    const file = resolve(args.file ?? backupName())
    const withSecrets = Boolean(args["with-secrets"])
    const config = await load({ root: target.workspace, file: target.config })
    const viaGateway = async (): Promise<BackupResult | null> => {
      const running = await locate(target, config)
      return running
        ? ((await running.call("/backup", { method: "POST", json: { file, withSecrets } })) as BackupResult)
        : null
    }
    let result = await viaGateway()
    let through = "the running gateway"
    if (!result) {
      through = "the workspace (no gateway runs)"
      const lock = existsSync(config.stateDir)
        ? (() => {
            try {
              return acquire(config.stateDir)
            } catch (error) {
              if (error instanceof LockError) return null
              throw error
            }
          })()
        : undefined
      // A gateway started in between: it takes the backup after all.
      if (lock === null) result = await viaGateway()
      if (!result)
        try {
          result = await createBackup(config, { file, withSecrets })
        } finally {
          lock?.release()
        }
    }
    if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`)
    else
      process.stdout.write(
        `backup written: ${result.file} (${result.files} files, ${mib(result.bytes)}, sha256 ${result.sha256.slice(0, 16)}…, via ${through}${result.withSecrets ? ", with secrets, mode 0600" : ""})\n`,
      )
  },
})

export const restoreCommand = defineCommand({
  meta: { name: "restore", description: "Restore a backup archive into an empty workspace (or --force over one)" },
  args: {
    file: { type: "positional", required: true, description: "The archive drost backup wrote" },
    force: {
      type: "boolean",
      description: "Restore over existing state; the old state is moved to .drost.before-restore-<time>/",
    },
    json: { type: "boolean", description: "Print the result as JSON" },
    workspace: workspaceArgs.workspace,
  },
  async run({ args }) {
    const target = where(args)
    const result = await restoreBackup(resolve(args.file), { workspace: target.workspace, force: Boolean(args.force) })
    // The state goes to <workspace>/.drost; a restored config that moves it elsewhere would not find it.
    const restored = await load({ root: target.workspace }).catch(() => null)
    if (restored && restored.stateDir !== result.stateDir)
      process.stderr.write(
        `drost: the restored config sets stateDir to ${restored.stateDir}; the state was restored into ${result.stateDir}: move it there, or remove stateDir from the config\n`,
      )
    if (args.json) {
      const { manifest, ...rest } = result
      process.stdout.write(
        `${JSON.stringify({ ...rest, createdAt: manifest.createdAt, drost: manifest.drost, withSecrets: manifest.withSecrets })}\n`,
      )
      return
    }
    process.stdout.write(
      `restored ${result.files} files into ${result.workspace} (backup of ${result.manifest.createdAt}, drost ${result.manifest.drost}${result.manifest.withSecrets ? ", with secrets" : ", without secrets: run drost auth or drost setup for the provider keys"})${result.aside ? `; the old state is in ${result.aside}` : ""}\n`,
    )
  },
})
