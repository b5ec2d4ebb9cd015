/** Discord passes the channel contract suite against the loopback fake Gateway and REST API (test/fake/discord.ts). */
import { discord } from "./discord-adapter.ts"
import { contractSuite } from "./suite.ts"

contractSuite(discord)
