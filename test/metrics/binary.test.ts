/**
 * Through the compiled binary (issue 21 items 2 and 3): prom-client inside `bun build --compile`
 * serves GET /metrics, and a turn over budgets.perSession is refused, with the demo provider's usage at
 * the configured prices. Set DROST_TEST_BINARY to reuse a built binary. Fails on 0641e9e (no /metrics,
 * no budgets key).
 */
import { expect, test } from "bun:test"
import parse from "parse-prometheus-text-format"
import { prebuiltOr } from "../binary/binary.ts"
import { demoConfig } from "../lib/config.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

const READ = "read-token-binary-0123456789"

test("the compiled binary serves /metrics to the read token and refuses a turn over its budget", async () => {
  const { file } = await prebuiltOr("drost")
  await using ws = await workspace({
    config: demoConfig(
      { controlApi: { port: 0, readToken: READ }, budgets: { perSession: 0.000001 } },
      { prices: { input: 1000, output: 1000 } },
    ),
  })
  await using gw = await spawnGateway(ws.path, { command: [file] })
  const { id } = (await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }
  const turn = async () =>
    (await (await gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input: "hi" } })).json()) as {
      status: string
      reason: string | null
    }
  expect((await turn()).status).toBe("completed")
  const refused = await turn()
  expect([refused.status, refused.reason?.startsWith("budget exceeded: this session has spent $0.")]).toEqual([
    "failed",
    true,
  ])

  expect((await fetch(`${gw.url}/metrics`)).status).toBe(401)
  const res = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${READ}` } })
  expect(res.status).toBe(200)
  const families = new Map(parse(await res.text()).map((family) => [family.name, family]))
  const value = (name: string, labels: Record<string, string> = {}) =>
    Number(
      families
        .get(name)
        ?.metrics.find((each) => Object.entries(labels).every(([key, want]) => each.labels?.[key] === want))?.value,
    )
  expect(value("drost_turns_total", { outcome: "completed" })).toBe(1)
  expect(value("drost_turns_total", { outcome: "failed" })).toBe(1)
  expect(value("drost_cost_usd_total", { provider: "demo" })).toBeGreaterThan(0)
  expect(value("drost_process_resident_memory_bytes")).toBeGreaterThan(1_000_000)
  expect(await gw.stop()).toBe(0)
}, 120_000)
