/**
 * Choose and open the store engine: `DROST_STORE_URL` (wins) or the config's `store.url`. Absent: SQLite
 * at `sqlitePath` (the default, <stateDir>/drost.db). A postgres:// or postgresql:// URL: PostgreSQL.
 * Anything else is refused with what was expected; errors name the host:port, never the password.
 */
import { Flag } from "../../util/flag.ts"
import type { Store } from "./contract.ts"
import { describeUrl, openPostgres, StoreUnreachable } from "./postgres.ts"
import { openSqlite } from "./sqlite.ts"

export interface StoreChoice {
  engine: "sqlite" | "postgres"
  /** The SQLite file, or the PostgreSQL URL without its password (for logs and status). */
  shown: string
  /** Where the choice came from. */
  from: "DROST_STORE_URL" | "store.url" | "default"
}

/** Which engine the config and environment select, without opening anything. */
export function chooseStore(input: { url?: string; sqlitePath: string }): StoreChoice & { url: string | null } {
  const env = Flag.get("DROST_STORE_URL")
  const url = env ?? input.url ?? null
  const from = env ? "DROST_STORE_URL" : input.url ? "store.url" : "default"
  if (url === null) return { engine: "sqlite", shown: input.sqlitePath, from, url: null }
  if (/^postgres(ql)?:\/\//i.test(url)) return { engine: "postgres", shown: describeUrl(url), from, url }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]
  throw new StoreUnreachable(
    scheme ? `a ${scheme}: URL` : "(not a URL)",
    `${from} must be a postgres://user@host:port/database URL (leave it unset for SQLite at ${input.sqlitePath})`,
  )
}

/** Open the chosen engine; `owner` is the gateway id recorded on the turns the store begins. */
export async function openStore(input: { url?: string; sqlitePath: string; owner?: string }): Promise<Store> {
  const choice = chooseStore(input)
  if (choice.url === null) return openSqlite(choice.shown, { owner: input.owner })
  return openPostgres(choice.url, { owner: input.owner })
}
