/**
 * `POST /control/v1/backup` (docs/operations.md#backup): the running gateway writes a backup of its
 * whole state, copying the store through its own open connection (one read transaction, consistent
 * with every acknowledged message and turn). The archive is written on the gateway's machine, never
 * over an existing file; a mutation, so the admin token (app.ts's guard). A PostgreSQL store is
 * refused (409: back it up with pg_dump) before anything is written.
 */
import { isAbsolute, join } from "node:path"
import { mkdirSync } from "node:fs"
import { Elysia, t } from "elysia"
import { Invalid } from "../core/error.ts"
import type { Gateway } from "../gateway/gateway.ts"
import { backupName, createBackup, NotSqlite } from "../ops/backup.ts"
import { backupDir } from "../ops/schedule.ts"
import { described, invalid, problem } from "./schemas.ts"

const Body = t.Object(
  {
    file: t.Optional(
      t.String({
        minLength: 1,
        description:
          "Absolute path of the archive to write (must not exist); default: a new drost-backup-<time>.tar.gz in backup.dir",
      }),
    ),
    withSecrets: t.Optional(
      t.Boolean({ description: "Include auth-profiles.json, the control token and .env (the file is then 0600)" }),
    ),
  },
  { examples: [{ file: "/srv/backups/drost.tar.gz", withSecrets: false }] },
)

const Result = t.Object(
  {
    file: t.String({ description: "The archive written" }),
    bytes: t.Integer({ description: "Its size" }),
    sha256: t.String({ description: "SHA-256 of the archive file" }),
    files: t.Integer({ description: "Entries besides manifest.json" }),
    createdAt: t.String({ description: "When the copy was taken (ISO 8601)" }),
    withSecrets: t.Boolean(),
  },
  { description: "The backup written" },
)

export function backupRoutes(gw: Gateway) {
  return new Elysia({ prefix: "/control/v1" }).post(
    "/backup",
    async ({ body }) => {
      if (body.file !== undefined && !isAbsolute(body.file))
        throw new Invalid(`file must be an absolute path on the gateway's machine, got "${body.file}"`)
      // Before the folder is made: a refused backup leaves nothing behind.
      if (gw.storage.engine !== "sqlite") throw new NotSqlite("drost backup", gw.storage.shown)
      const dir = backupDir(gw.config)
      if (body.file === undefined) mkdirSync(dir, { recursive: true, mode: 0o700 })
      try {
        return await createBackup(gw.config, {
          file: body.file ?? join(dir, backupName()),
          withSecrets: body.withSecrets ?? false,
          store: gw.storage,
          exclude: dir,
        })
      } catch (error) {
        const code = (error as { code?: string }).code
        if (code === "Exists" || code === "NotFound") throw new Invalid((error as Error).message)
        throw error
      }
    },
    {
      body: Body,
      response: {
        200: described(Result, "The archive was written"),
        400: invalid,
        409: problem("The store is PostgreSQL: back it up with pg_dump"),
      },
      detail: {
        operationId: "createBackup",
        tags: ["runtime"],
        summary: "Back up the whole state into one archive",
        description:
          "A gzip tar with manifest.json (every file's size, mode and SHA-256), a consistent copy of the store (VACUUM INTO through the gateway's own connection), the evolution repository and the rest of the state folder, and the config, memory/, prompts/, tools/ and skills/. Secrets only with withSecrets. 400 when file is relative, exists, or its folder does not. 409 when the store is PostgreSQL (store.url): that database is backed up with pg_dump, and nothing is written. Restore with drost restore (docs/operations.md).",
      },
    },
  )
}
