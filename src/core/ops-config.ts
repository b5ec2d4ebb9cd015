/**
 * The `backup` and `update` config sections (docs/operations.md): scheduled backups with retention,
 * and where `drost update` finds releases.
 */
import { type Static, Type } from "./schema.ts"

export const Backup = Type.Object(
  {
    every: Type.Optional(
      Type.String({
        pattern: "^\\d+(ms|s|m|h|d)$",
        description:
          "Write a backup at this interval while the gateway runs (1d, 12h, …); absent: no scheduled backups",
      }),
    ),
    keep: Type.Integer({
      minimum: 1,
      default: 7,
      description: "Scheduled backups kept in dir; the oldest beyond this are deleted",
    }),
    dir: Type.Optional(
      Type.String({
        description: "Where scheduled backups go, relative to the workspace (default: <stateDir>/backups)",
      }),
    ),
    withSecrets: Type.Boolean({
      default: false,
      description: "Include auth-profiles.json, the control token and .env in scheduled backups (written 0600)",
    }),
  },
  { additionalProperties: false },
)
export type BackupConfig = Static<typeof Backup>

export const Update = Type.Object(
  {
    baseUrl: Type.Optional(
      Type.String({
        description:
          "Release folder drost update downloads from (SHA256SUMS, VERSION, drost-<os>-<arch>), e.g. https://github.com/<owner>/<repo>/releases/latest/download/",
      }),
    ),
  },
  { additionalProperties: false },
)
export type UpdateConfig = Static<typeof Update>
