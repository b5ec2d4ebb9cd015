/**
 * The Discord channel's Gateway session per shard (id, sequence, resume URL), so a restarted gateway
 * RESUMEs and Discord replays the dispatches it missed instead of a fresh IDENTIFY that would skip
 * them. Kept in the store contract's channel state (scope `discord:<bot id>`, key `gateway:<shard>`:
 * the `kv` table on either engine); the bot's id, never the token. The inbox, the conversation →
 * session map and pairings are the contract's shared channel tables (through the host; `drost discord
 * approve` works on those). Databases from before keep their session: src/store/channels.ts
 * DISCORD_GATEWAY_MIGRATION carried the old `discord_gateway` rows over.
 *
 * The shard's session is read from the store once per connection and then kept here: this process is the
 * one connected with it (bot.ts holds the connection lease), and the Gateway library reads it before every
 * dispatch's sequence update. `forget` drops what is kept when this process takes the lease again: another
 * gateway held the connection meanwhile and stored its own session. Writes go out in
 * order; a failed one is logged (the session stored stays an older one, whose RESUME replays more, which
 * the inbox turns away as repeats).
 */
import type { Store } from "../../store/engine/contract.ts"
import type { Logger } from "../../util/log.ts"

export type DiscordStore = ReturnType<typeof createDiscordStore>

export const gatewayKey = (shard: number) => `gateway:${shard}`

export function createDiscordStore(data: Store, botId: string, log?: Logger) {
  const scope = `discord:${botId}`
  const known = new Map<number, unknown>()
  let writes: Promise<void> = Promise.resolve()
  return {
    forget() {
      known.clear()
    },
    async gatewaySession<T>(shard: number): Promise<T | null> {
      if (!known.has(shard)) {
        await writes
        known.set(shard, (await data.channels.stateGet(scope, gatewayKey(shard))) ?? null)
      }
      return known.get(shard) as T | null
    },
    /** Resolves once stored (or the failure logged); never rejects. */
    setGatewaySession(shard: number, session: unknown | null): Promise<void> {
      known.set(shard, session)
      writes = writes.then(() =>
        data.channels
          .stateSet(scope, gatewayKey(shard), session ?? undefined)
          .catch((error) => log?.warn("storing the Discord Gateway session failed", { shard, error: String(error) })),
      )
      return writes
    },
  }
}
