/**
 * The gateway's store, by engine (src/store/engine/open.ts `chooseStore`: `DROST_STORE_URL`, then the
 * config's `store.url`, else SQLite at <stateDir>/drost.db or `DROST_DB`).
 *
 * SQLite: the contract over the gateway's own synchronous stores on that file, so the history cache, the
 * newest summaries and the search indexer are the ones the services share, and the health guard (disk
 * full, corruption, the file deleted) watches it. PostgreSQL: the contract over one pool; the gateway
 * then writes nothing shared to SQLite. What is per node stays in a node-local SQLite file,
 * <stateDir>/node.db: the index of this node's memory files (docs/scale-out.md, what is per node).
 */
import type { Database } from "bun:sqlite"
import { join } from "node:path"
import type { Config } from "../core/config.ts"
import { open } from "../store/db.ts"
import type { Store } from "../store/engine/contract.ts"
import { chooseStore } from "../store/engine/open.ts"
import { openPostgres } from "../store/engine/postgres.ts"
import { sqliteStore } from "../store/engine/sqlite.ts"
import { createStoreHealth, guard, type StoreHealth } from "../store/guard.ts"
import { createMessageSearch } from "../store/search.ts"
import { createSessionStore, type SessionStore } from "../store/sessions.ts"
import { createSummaryStore } from "../store/summaries.ts"
import { Flag } from "../util/flag.ts"

export interface GatewayStore {
  engine: Store["engine"]
  /** The SQLite file, or the PostgreSQL URL without its password. */
  shown: string
  /** Everything shared between gateways: sessions, turns, jobs, schedules, channels, usage, leases. */
  data: Store
  /**
   * This node's SQLite database: on the SQLite engine the store's file itself; on PostgreSQL
   * <stateDir>/node.db, which holds only what is per node (the memory index). Never shared state.
   */
  local: Database
  /** The path of `local`. */
  localFile: string
  /** The health guard of `local` (disk full, corruption, the file deleted under the gateway). */
  health: StoreHealth
  /** The SQLite engine's synchronous sessions store (its kv for the skills' switches); null on PostgreSQL. */
  sqlite: { sessions: SessionStore } | null
  close(): Promise<void>
}

/** Open the engine the config selects; `owner` is the gateway id its turns, jobs and runs record. */
export async function openGatewayStore(config: Config, owner: string): Promise<GatewayStore> {
  const file = Flag.db() ?? join(config.stateDir, "drost.db")
  const choice = chooseStore({ url: config.store?.url, sqlitePath: file })
  const local = (path: string) => {
    const db = open(path)
    // After the open: the health guard records the file's identity, which a first start has just created.
    const health = createStoreHealth(path)
    return { health, db: guard(db, health) }
  }
  if (choice.url === null) {
    const { db, health } = local(file)
    const sessions = createSessionStore(db, health, { owner })
    const data = sqliteStore(db, {
      owner,
      stores: { sessions, summaries: createSummaryStore(db), search: createMessageSearch(db) },
    })
    return {
      engine: "sqlite",
      shown: file,
      data,
      local: db,
      localFile: file,
      health,
      sqlite: { sessions },
      close: async () => {
        await data.close()
        db.close()
      },
    }
  }
  const data = await openPostgres(choice.url, { owner })
  const nodeFile = join(config.stateDir, "node.db")
  let node: ReturnType<typeof local>
  try {
    node = local(nodeFile)
  } catch (error) {
    await data.close()
    throw error
  }
  return {
    engine: "postgres",
    shown: choice.shown,
    data,
    local: node.db,
    localFile: nodeFile,
    health: node.health,
    sqlite: null,
    close: async () => {
      try {
        await data.close()
      } finally {
        node.db.close()
      }
    },
  }
}
