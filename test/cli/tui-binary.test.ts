import { beforeAll, describe, setDefaultTimeout, test } from "bun:test"
import { prebuiltOr } from "../binary/binary.ts"
import { dashboardScenario } from "./tui-scenario.ts"

// Compiling the binary takes tens of seconds on a loaded machine.
setDefaultTimeout(240_000)

let binary = ""
// The same build as the first-hour test (a binary of the current tree, default flags): in the one-process
// suite it is compiled once for both.
beforeAll(async () => {
  binary = (await prebuiltOr("drost-first-hour")).file
}, 240_000)

describe("drost tui from the compiled binary", () => {
  test("ink renders there: the whole dashboard scenario against the binary's own gateway", () =>
    dashboardScenario([binary]))
})
