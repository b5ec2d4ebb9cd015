/**
 * controlApi.metricsPort (issue 21 item 2): GET /metrics also on its own loopback listener, without a
 * token, and nothing else there; a foreign Host name (DNS rebinding) is refused. The Control API port
 * still wants the token. Fails on 0641e9e (no such key).
 */
import { expect, test } from "bun:test"
import { connect } from "node:net"
import { serveApi } from "../../src/api/server.ts"
import { startGateway } from "../../src/gateway/gateway.ts"
import { resolveConfig } from "../../src/gateway/load.ts"
import { resolveTokens } from "../../src/gateway/token.ts"
import { demoConfig } from "../lib/config.ts"
import { workspace } from "../lib/workspace.ts"

/** A raw HTTP/1.1 GET with the given Host header (fetch does not let a test set Host). */
function rawGet(port: number, path: string, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    )
    let text = ""
    socket.on("data", (chunk) => (text += chunk.toString()))
    socket.on("end", () => resolve(text))
    socket.on("error", reject)
  })
}

test("metricsPort serves only GET /metrics, without a token, to loopback Host names", async () => {
  await using ws = await workspace()
  const config = resolveConfig(demoConfig({ controlApi: { port: 0, metricsPort: 0 } }), ws.path, null)
  const gw = await startGateway(config)
  const server = serveApi(gw, resolveTokens(config))
  try {
    expect(server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    const res = await fetch(server.metricsUrl!)
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8")
    expect(await res.text()).toContain("# TYPE drost_turns_total counter")
    const other = new URL("/control/v1/status", server.metricsUrl!)
    expect((await fetch(other)).status).toBe(404)
    const port = Number(new URL(server.metricsUrl!).port)
    expect(await rawGet(port, "/metrics", "evil.example:80")).toMatch(/^HTTP\/1\.1 421/)
    expect(await rawGet(port, "/metrics", `localhost:${port}`)).toMatch(/^HTTP\/1\.1 200/)
    // The Control API's own /metrics still needs the token.
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401)
  } finally {
    await gw.drain("test over")
    await server.stop()
    await gw.stop("test over")
  }
})
