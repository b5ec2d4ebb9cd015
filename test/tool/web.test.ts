/**
 * web.fetch is not an SSRF tool (issue 13): loopback in every spelling the URL parser normalises,
 * the gateway's own Control API (with its admin token), link-local metadata, names resolving to
 * loopback, and redirects onto any of them are refused with a result that says how the owner allows
 * a host; `tools.web.allowHosts` lets exactly the listed host through. Attacks go through the real
 * Control API tool route of a spawned gateway and once as a model turn; the fakes live on 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createServer, type Server } from "node:https"
import { join } from "node:path"
import { classify, parseIp } from "../../src/tool/builtin/address.ts"
import { pinned } from "../../src/tool/builtin/web.ts"
import { allowList, vet } from "../../src/tool/builtin/web-guard.ts"
import { demoConfig } from "../lib/config.ts"
import { type RunningGateway, spawnGateway } from "../lib/gateway.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"
import { inProcess } from "./lib.ts"

type Result = { output: string; isError: boolean }

/** A local service the model must not reach: every request it receives is a successful attack. */
let victim: ReturnType<typeof Bun.serve>
const victimHits: string[] = []
/** The fake "public" site the owner allowed; `/to?url=` redirects anywhere. */
let relay: ReturnType<typeof Bun.serve>
let tls: { server: Server; port: number; cert: string; seen: { sni: string; host: string }[]; dir: string } | null
let plainWs: Workspace
let allowWs: Workspace
let plain: RunningGateway
let allowing: RunningGateway

/** A self-signed certificate for localhost and example.test, made with openssl when it is installed. */
function certificate(dir: string): { cert: string; key: string } | null {
  if (!Bun.which("openssl")) return null
  const made = Bun.spawnSync(
    ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
      .concat(["-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "2", "-subj", "/CN=localhost"])
      .concat(["-addext", "subjectAltName=DNS:localhost,DNS:example.test"]),
    { stdout: "ignore", stderr: "pipe" },
  )
  if (made.exitCode !== 0) return null
  return { cert: readFileSync(join(dir, "cert.pem"), "utf8"), key: readFileSync(join(dir, "key.pem"), "utf8") }
}

// Made before the tests are declared, so `skipIf` knows whether https can be tested here.
const tlsDir = mkdtempSync(join(process.env.DROST_TEST_ROOT ?? "/tmp", "tls-"))
const pair = certificate(tlsDir)

async function tlsFake() {
  if (!pair) return null
  const dir = tlsDir
  const seen: { sni: string; host: string }[] = []
  const server = createServer(pair, (request, response) => {
    seen.push({
      sni: String((request.socket as { servername?: string }).servername),
      host: String(request.headers.host),
    })
    response.setHeader("content-type", "text/plain")
    response.end("hello over tls")
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return { server, port: (server.address() as { port: number }).port, cert: pair.cert, seen, dir }
}

/** Names in /etc/hosts that point at loopback, besides localhost itself (e.g. the machine's name). */
function hostsAliases(): string[] {
  let text = ""
  try {
    text = readFileSync("/etc/hosts", "utf8")
  } catch {
    return []
  }
  return text
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim().split(/\s+/))
    .filter(([address]) => address === "::1" || address?.startsWith("127."))
    .flatMap(([, ...names]) => names)
    .filter((name) => name !== "localhost" && !name.includes(":"))
}

const controlPort = (gw: RunningGateway) => Number(new URL(gw.url).port)

beforeAll(async () => {
  victim = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      victimHits.push(`${request.method} ${request.url}`)
      return new Response("victim secret", { headers: { "content-type": "text/plain" } })
    },
  })
  relay = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const url = new URL(request.url)
      if (url.pathname === "/ok")
        return new Response(`hello allowed ${request.method} ${request.headers.get("authorization") ?? "-"}`, {
          headers: { "content-type": "text/plain" },
        })
      if (url.pathname === "/to")
        return new Response(null, { status: 302, headers: { location: url.searchParams.get("url") ?? "/" } })
      if (url.pathname === "/see-other") return new Response(null, { status: 303, headers: { location: "/ok" } })
      const loop = /^\/loop\/(\d+)$/.exec(url.pathname)
      if (loop) return new Response(null, { status: 301, headers: { location: `/loop/${Number(loop[1]) + 1}` } })
      return new Response("nope", { status: 404 })
    },
  })
  tls = await tlsFake()
  const web = { timeoutMs: 1500 }
  plainWs = await workspace({ config: demoConfig({ tools: { web } }) })
  const allowHosts = [`127.0.0.1:${relay.port}`, ...(tls ? [`localhost:${tls.port}`] : [])]
  allowWs = await workspace({ config: demoConfig({ tools: { web: { ...web, allowHosts } } }) })
  const extraCa = tls ? { NODE_EXTRA_CA_CERTS: join(tls.dir, "cert.pem") } : undefined
  ;[plain, allowing] = await Promise.all([spawnGateway(plainWs.path), spawnGateway(allowWs.path, { env: extraCa })])
})

afterAll(async () => {
  await Promise.all([plain?.[Symbol.asyncDispose](), allowing?.[Symbol.asyncDispose]()])
  victim?.stop(true)
  relay?.stop(true)
  tls?.server.close()
  rmSync(tlsDir, { recursive: true, force: true })
  await plainWs?.[Symbol.asyncDispose]()
  await allowWs?.[Symbol.asyncDispose]()
})

/** `web.fetch` through `POST /control/v1/tools/web.fetch/execute`, as the audit did. */
async function fetchVia(gw: RunningGateway, args: Record<string, unknown>): Promise<Result> {
  const response = await gw.api("/tools/web.fetch/execute", { method: "POST", json: args })
  expect(response.status).toBe(200)
  return (await response.json()) as Result
}

function expectRefused(result: Result, why: RegExp) {
  expect(result.isError).toBe(true)
  expect(result.output).toMatch(why)
  expect(result.output).toContain("tools.web.allowHosts")
}

describe("refused without allowHosts (tool route)", () => {
  test("loopback in every spelling", async () => {
    const port = victim.port
    const spellings = [
      "127.0.0.1",
      "127.1",
      "0x7f000001",
      "2130706433",
      "0177.0.0.1",
      "0x7f.0.0.1",
      "127.0.0.2",
      "0.0.0.0",
      "0",
      "[::1]",
      "[0:0:0:0:0:0:0:1]",
      "[::ffff:127.0.0.1]",
      "[::ffff:7f00:1]",
      "[::127.0.0.1]",
      "[64:ff9b::127.0.0.1]",
    ]
    for (const host of spellings) {
      const result = await fetchVia(plain, { url: `http://${host}:${port}/secret` })
      expectRefused(result, /(loopback|unspecified) address/)
      expect(result.output).not.toContain("victim secret")
    }
    expect(victimHits).toEqual([])
  })

  test("the gateway's own Control API, even with the admin token", async () => {
    const before = (await (await plain.api("/status")).json()) as { startedAt: number }
    const port = controlPort(plain)
    const auth = { authorization: `Bearer ${plain.token}` }
    for (const url of [
      `http://127.0.0.1:${port}/control/v1/runtime/restart`,
      `http://localhost:${port}/control/v1/runtime/restart`,
      `http://[::ffff:127.0.0.1]:${port}/control/v1/runtime/restart`,
    ])
      expectRefused(await fetchVia(plain, { url, method: "POST", headers: auth, body: "{}" }), /loopback/)
    expectRefused(await fetchVia(plain, { url: `http://127.1:${port}/control/v1/status`, headers: auth }), /loopback/)
    const after = (await (await plain.api("/status")).json()) as { startedAt: number }
    expect(after.startedAt).toBe(before.startedAt)
  })

  test("the link-local metadata address", async () => {
    for (const url of [
      "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
      "http://[::ffff:169.254.169.254]/latest/meta-data/",
    ])
      expectRefused(await fetchVia(plain, { url }), /link-local address/)
  })

  test("names that resolve to loopback: localhost", async () => {
    for (const name of ["localhost", "LOCALHOST"])
      expectRefused(
        await fetchVia(plain, { url: `http://${name}:${victim.port}/` }),
        /localhost resolves to (127\.|::1)/,
      )
    expect(victimHits).toEqual([])
  })

  const aliases = hostsAliases()
  test.skipIf(aliases.length === 0)(`a name from /etc/hosts (${aliases[0] ?? "none here"})`, async () => {
    const name = aliases[0] as string
    expectRefused(await fetchVia(plain, { url: `http://${name}:${victim.port}/` }), /resolves to (127\.|::1)/)
    expect(victimHits).toEqual([])
  })

  test("only http and https", async () => {
    for (const url of ["file:///etc/passwd", "ftp://127.0.0.1/", "gopher://127.0.0.1:6379/_INFO"]) {
      const result = await fetchVia(plain, { url })
      expect(result.isError).toBe(true)
      expect(result.output).toContain("only http and https")
    }
  })
})

describe("allowHosts (tool route)", () => {
  test("lets exactly the listed host through", async () => {
    const ok = await fetchVia(allowing, { url: `http://127.0.0.1:${relay.port}/ok` })
    expect(ok).toMatchObject({ isError: false })
    expect(ok.output).toContain("hello allowed GET")
    // The same host spelled otherwise is the same host.
    expect((await fetchVia(allowing, { url: `http://127.1:${relay.port}/ok` })).output).toContain("hello allowed")
    for (const url of [
      `http://127.0.0.1:${victim.port}/`, // listed address, other port
      `http://127.0.0.1:${controlPort(allowing)}/control/v1/status`, // … such as the Control API
      `http://127.0.0.2:${relay.port}/ok`, // listed port, other address
      `http://[::1]:${relay.port}/ok`,
    ])
      expectRefused(await fetchVia(allowing, { url }), /loopback address/)
    expect(victimHits).toEqual([])
  })

  test("redirects are followed by hand and every hop is vetted", async () => {
    const to = (url: string) => `http://127.0.0.1:${relay.port}/to?url=${encodeURIComponent(url)}`
    const auth = { authorization: `Bearer ${allowing.token}` }
    for (const target of [
      `http://127.0.0.2:${victim.port}/`,
      `http://localhost:${controlPort(allowing)}/control/v1/runtime/restart`,
      `http://127.0.0.1:${victim.port}/`,
      "http://169.254.169.254/latest/meta-data/",
    ])
      expectRefused(await fetchVia(allowing, { url: to(target), headers: auth }), /(loopback|link-local) address/)
    expect(victimHits).toEqual([])
    const allowed = await fetchVia(allowing, { url: to("/ok") })
    expect(allowed.output).toContain("hello allowed GET")
    expect(allowed.output).toContain(`http://127.0.0.1:${relay.port}/ok`)
    const posted = await fetchVia(allowing, {
      url: `http://127.0.0.1:${relay.port}/see-other`,
      method: "POST",
      body: "x",
    })
    expect(posted.output).toContain("hello allowed GET")
    const loop = await fetchVia(allowing, { url: `http://127.0.0.1:${relay.port}/loop/0` })
    expect(loop.isError).toBe(true)
    expect(loop.output).toContain("redirected more than 5 times")
  })

  test.skipIf(!pair)(
    "https to an allowed name: connected to the vetted address, certificate checked against the name",
    async () => {
      if (!tls) return
      const result = await fetchVia(allowing, { url: `https://localhost:${tls.port}/` })
      expect(result.output).toContain("hello over tls")
      expect(tls.seen.at(-1)).toEqual({ sni: "localhost", host: `localhost:${tls.port}` })
    },
  )
})

describe("the model's own turn", () => {
  test("a redirect from an allowed 127.0.0.1 onto another loopback address is refused", async () => {
    await using ws = await workspace()
    await using drost = await inProcess(ws.path, { tools: { web: { timeoutMs: 1500, allowHosts: ["127.0.0.1"] } } })
    const ok = await drost.call("web.fetch", { url: `http://127.0.0.1:${relay.port}/ok` })
    expect(ok.output).toContain("hello allowed")
    const to = `http://127.0.0.1:${relay.port}/to?url=${encodeURIComponent(`http://127.0.0.2:${victim.port}/`)}`
    expectRefused(await drost.call("web.fetch", { url: to }), /127\.0\.0\.2 is a loopback address/)
    expectRefused(await drost.call("web.fetch", { url: `http://[::1]:${victim.port}/` }), /loopback address/)
    expect(victimHits).toEqual([])
  })
})

describe("classification and pinning", () => {
  test("address ranges", () => {
    const kinds: Record<string, string[]> = {
      public: ["8.8.8.8", "1.1.1.1", "172.32.0.1", "2606:4700::1111", "2001:4860:4860::8888", "64:ff9b::808:808"],
      loopback: ["127.0.0.1", "127.255.255.254", "::1", "::ffff:127.0.0.1", "::ffff:7f00:1", "::127.0.0.1"],
      unspecified: ["0.0.0.0", "0.1.2.3", "::", "::ffff:0.0.0.0"],
      private: ["10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "fc00::1", "fd12:3456::1"],
      "link-local": ["169.254.169.254", "fe80::1", "fe80::1%eth0", "::ffff:169.254.169.254"],
      "shared (CGNAT)": ["100.64.0.1", "100.127.255.255"],
      multicast: ["224.0.0.1", "239.255.255.250", "ff02::1"],
      reserved: ["240.0.0.1", "255.255.255.255", "192.0.2.1", "2001:db8::1", "2001::1", "100::1", "1::"],
    }
    kinds.private?.push("64:ff9b::10.0.0.1", "64:ff9b::c0a8:101", "2002:c0a8:101::1", "64:ff9b:1::1")
    for (const [kind, addresses] of Object.entries(kinds))
      for (const address of addresses)
        expect(`${address} ${classify(parseIp(address) as Uint8Array)}`).toBe(`${address} ${kind}`)
    for (const text of ["example.com", "1::2::3", "256.0.0.1", "1.2.3", "::g"]) expect(parseIp(text)).toBeNull()
  })

  test("a name is refused when any of its addresses is not public", async () => {
    const resolve = async () => ["93.184.215.14", "127.0.0.1"]
    const url = new URL("http://rebind.example/")
    await expect(vet(url, allowList([]), resolve)).rejects.toThrow("rebind.example resolves to 127.0.0.1")
    expect(await vet(url, allowList(["rebind.example"]), resolve)).toEqual(["93.184.215.14", "127.0.0.1"])
    expect(await vet(url, allowList(["127.0.0.0/8"]), resolve)).toHaveLength(2)
    await expect(vet(url, allowList(["127.0.0.0/8:8080"]), resolve)).rejects.toThrow("refused")
  })

  test("allowHosts entries: names, IPs, CIDR ranges, ports; bad entries are named in the refusal", async () => {
    const list = allowList([
      "NAS.lan.",
      "10.0.0.0/8",
      "[fd00::1]:8443",
      "http://dev.local:3000/",
      "::1",
      "10.0.0.0/33",
      "a b",
    ])
    expect(list.invalid).toEqual(["10.0.0.0/33", "a b"])
    const ok = (url: string, addresses: string[]) => vet(new URL(url), list, async () => addresses)
    expect(await ok("http://nas.lan/", ["192.168.1.5"])).toEqual(["192.168.1.5"])
    expect(await ok("http://10.1.2.3/", [])).toEqual(["10.1.2.3"])
    expect(await ok("https://[fd00::1]:8443/", [])).toEqual(["fd00::1"])
    expect(await ok("http://dev.local:3000/", ["127.0.0.1"])).toEqual(["127.0.0.1"])
    expect(await ok("http://[::1]/", [])).toEqual(["::1"])
    await expect(ok("https://[fd00::1]/", [])).rejects.toThrow('adds "[fd00::1]" to tools.web.allowHosts')
    await expect(ok("http://dev.local:3001/", ["127.0.0.1"])).rejects.toThrow('"10.0.0.0/33", "a b"')
  })

  test.skipIf(!pair)("pinned https keeps the name for SNI and the certificate, and never looks it up", async () => {
    if (!tls) return
    // example.test does not resolve: the request can only succeed by going to the vetted address.
    const { target, host, serverName } = pinned(new URL(`https://example.test:${tls.port}/x`), "127.0.0.1")
    expect(target.href).toBe(`https://127.0.0.1:${tls.port}/x`)
    const response = await fetch(target, { headers: { host }, tls: { serverName, ca: tls.cert } })
    expect(await response.text()).toBe("hello over tls")
    expect(tls.seen.at(-1)).toEqual({ sni: "example.test", host: `example.test:${tls.port}` })
    // Bun verifies the certificate against serverName, not against the address it connected to.
    const wrong = fetch(target, { headers: { host }, tls: { serverName: "other.test", ca: tls.cert } })
    await expect(wrong).rejects.toThrow()
    expect(pinned(new URL("http://[::1]:80/"), "::1").target.href).toBe("http://[::1]/")
  })
})
