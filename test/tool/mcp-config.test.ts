/**
 * MCP server entries: both forms docs/tools.md shows load without optional keys, and a wrong entry is
 * explained against the form it is closest to (a field and what it expected), never "expected union value".
 */
import { expect, test } from "bun:test"
import { load } from "../../src/gateway/load.ts"
import { workspace } from "../lib/workspace.ts"
import { demoConfig } from "../lib/config.ts"

test("the MCP config forms of docs/tools.md load, and a bad one names its field", async () => {
  await using ok = await workspace({
    config: demoConfig({
      mcp: { servers: { files: { command: "npx", args: ["-y", "x"] }, remote: { url: "http://127.0.0.1:9/mcp" } } },
    }),
  })
  const config = await load({ root: ok.path })
  expect(Object.keys(config.mcp?.servers ?? {})).toEqual(["files", "remote"])
  await using bad = await workspace({
    config: demoConfig({ mcp: { servers: { broken: { command: "x", args: "not-a-list" } } } }),
  })
  const error = await load({ root: bad.path }).then(
    () => null,
    (caught: Error) => caught,
  )
  expect(String(error?.message)).toContain("mcp.servers.broken")
  expect(String(error?.message)).not.toContain("expected union value")
  expect(String(error?.message)).toContain("mcp.servers.broken.args: expected array")
  // A URL server with a stray key is told which key, as the HTTP form.
  await using stray = await workspace({
    config: demoConfig({ mcp: { servers: { web: { url: "http://x", command: 1 } } } }),
  })
  const second = await load({ root: stray.path }).then(
    () => null,
    (caught: Error) => caught,
  )
  expect(String(second?.message)).not.toContain("expected union value")
})
