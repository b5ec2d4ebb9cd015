/**
 * The Discord channel's own durable state, keyed by the bot's id (never the token): the Gateway session
 * (id, sequence, resume URL), so a restarted gateway RESUMEs and Discord replays the dispatches it
 * missed instead of a fresh IDENTIFY that would skip them. The table is the channel's own, created on
 * first use. The inbox, the conversation → session map and pairings are the contract's
 * (src/store/channels.ts, through the host; `drost discord approve` works on those).
 */
import type { Database } from "bun:sqlite"

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS discord_gateway (
    bot_id TEXT NOT NULL, shard INTEGER NOT NULL, session TEXT NOT NULL,
    PRIMARY KEY (bot_id, shard)
  );
`

export type DiscordStore = ReturnType<typeof createDiscordStore>

export function createDiscordStore(db: Database, botId: string) {
  db.run(SCHEMA)
  return {
    gatewaySession<T>(shard: number): T | null {
      const row = db.query("SELECT session FROM discord_gateway WHERE bot_id = ? AND shard = ?").get(botId, shard) as {
        session: string
      } | null
      return row ? (JSON.parse(row.session) as T) : null
    },
    setGatewaySession(shard: number, session: unknown | null) {
      if (session === null) db.prepare("DELETE FROM discord_gateway WHERE bot_id = ? AND shard = ?").run(botId, shard)
      else
        db.prepare(
          "INSERT INTO discord_gateway (bot_id, shard, session) VALUES (?, ?, ?) ON CONFLICT (bot_id, shard) DO UPDATE SET session = excluded.session",
        ).run(botId, shard, JSON.stringify(session))
    },
  }
}
