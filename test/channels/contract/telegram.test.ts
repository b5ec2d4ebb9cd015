/** Telegram passes the channel contract suite against the strict fake Bot API (test/fake/telegram.ts). */
import { contractSuite } from "./suite.ts"
import { telegram } from "./telegram-adapter.ts"

contractSuite(telegram)
