/** The store contract suite on the SQLite engine (src/store/engine/sqlite.ts), a fresh file per test. */

import { mkdtempSync } from "node:fs"
import { join } from "node:path"
import { openSqlite } from "../../../src/store/engine/sqlite.ts"
import { contractSuite } from "./suite.ts"

contractSuite({
  engine: "sqlite",
  async fresh() {
    const file = join(mkdtempSync(join(process.env.DROST_TEST_ROOT ?? "/tmp", "contract-")), "drost.db")
    return { store: openSqlite(file), again: async (owner) => openSqlite(file, { owner }) }
  },
})
