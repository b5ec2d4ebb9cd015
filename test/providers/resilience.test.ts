/**
 * In-process provider checks from the audit (issue 14) against loopback servers: a 200 answered with
 * an HTML page (item 7), a deadline missed because our own event loop was blocked (item 9), the
 * default deadlines (item 3) and the exact-value secret registry (item 8). The gateway-level faults
 * are in test/reliability/providers.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import type { Config } from "../../src/core/config.ts"
import type { Provider } from "../../src/core/provider.ts"
import { configuredSecrets } from "../../src/gateway/secrets.ts"
import { DEFAULT_TIMEOUTS, timeoutsOf } from "../../src/providers/guard.ts"
import { RETRY_DEFAULTS, retryDelay } from "../../src/providers/retry.ts"
import { createRouter } from "../../src/providers/router.ts"
import { REDACTED, redact, redactText, Secrets } from "../../src/util/redact.ts"
import { type FakeOpenAI, fakeOpenAI, reply } from "../fake/openai.ts"
import { build, collect, type Kind } from "./kit.ts"

const PAGE = "<!DOCTYPE html><html><head><title>Sign in to the proxy</title></head><body>…</body></html>"

describe("a 200 that is not an event stream (item 7)", () => {
  let server: ReturnType<typeof Bun.serve>
  beforeAll(() => {
    server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (request) =>
        new URL(request.url).pathname.startsWith("/json/")
          ? Response.json({ id: "x", choices: [] })
          : new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } }),
    })
  })
  afterAll(() => server.stop(true))

  test.each(["openai-chat", "openai", "anthropic"] as Kind[])("%s says what came back", async (kind) => {
    const events = await collect(build(kind, `http://127.0.0.1:${server.port}`))
    const last = events.at(-1)!
    expect(last).toMatchObject({ type: "error", kind: "stream" })
    const message = (last as { message: string }).message
    expect(message).toContain("HTTP 200 with text/html; charset=utf-8 instead of an event stream")
    expect(message).toContain("<!DOCTYPE html><html><head><title>Sign in to the proxy")
    expect(message).toContain("baseUrl")
  })

  test("a JSON body from a server that ignored stream: true", async () => {
    const events = await collect(build("openai-compatible", `http://127.0.0.1:${server.port}/json`))
    expect((events.at(-1) as { message: string }).message).toContain(
      'instead of an event stream: {"id":"x","choices":[]}',
    )
  })
})

describe("a deadline missed because our own loop was blocked (item 9)", () => {
  let slow: FakeOpenAI
  let backup: FakeOpenAI
  beforeAll(async () => {
    slow = await fakeOpenAI()
    backup = await fakeOpenAI()
  })
  afterAll(async () => {
    await slow.close()
    await backup.close()
  })

  /** A router over `slow` (connect deadline 300 ms) with `backup` as its fallback. */
  function routed(retries: number) {
    const deadline = { connectTimeoutMs: 300, firstTokenTimeoutMs: 300, idleTimeoutMs: 300 }
    const providers = new Map<string, Provider>([
      ["slow", build("openai-chat", slow.baseUrl, { id: "slow", ...deadline })],
      ["backup", build("openai-chat", backup.baseUrl, { id: "backup" })],
    ])
    return createRouter({
      providers,
      failover: () => ({ enabled: true, fallbacks: ["backup"], cooldownMs: 60_000, retry: { attempts: retries } }),
    })
  }

  /** Blocks this process's event loop for `ms`, as thousands of busy observers would. */
  function block(ms: number) {
    const until = performance.now() + ms
    while (performance.now() < until) {}
  }

  test("is `overload`: no cooldown, no failover, not counted; the retry on the same provider answers", async () => {
    slow.queue(reply().hang(), reply().text("served after all"))
    backup.queue(reply().text("wrong: failed over"))
    const router = routed(2)
    const before = slow.hits.length
    const running = collect(router.route("slow"))
    await slow.wait(before + 1)
    block(800)
    const events = await running
    const failed = events.find((event) => event.type === "attempt-failed")
    expect(failed).toMatchObject({ provider: "slow", kind: "overload", cooldownMs: 0 })
    expect((failed as { message: string }).message).toContain("local overload")
    expect(events.at(-1)).toMatchObject({ type: "done" })
    expect(
      events
        .filter((event) => event.type === "text")
        .map((event) => (event as { delta: string }).delta)
        .join(""),
    ).toBe("served after all")
    expect(backup.hits).toHaveLength(0)
    expect(router.cooldown("slow")).toBeNull()
    expect(router.stats("slow")).toMatchObject({ failures: 0, lastError: null })
  })

  test("without retries the step fails as overload, still without failover or cooldown", async () => {
    slow.queue(reply().hang())
    const router = routed(0)
    const before = slow.hits.length
    const running = collect(router.route("slow"))
    await slow.wait(before + 1)
    block(800)
    const events = await running
    expect(events.at(-1)).toMatchObject({ type: "error", kind: "overload" })
    expect(backup.hits).toHaveLength(0)
    expect(router.cooldown("slow")).toBeNull()
  })

  test("a provider that really does not answer is still a timeout (and fails over)", async () => {
    slow.queue(reply().hang())
    backup.queue(reply().text("from the backup"))
    const events = await collect(routed(0).route("slow"))
    expect(events.find((event) => event.type === "attempt-failed")).toMatchObject({ kind: "timeout" })
    expect(events.at(-1)).toMatchObject({ type: "done" })
  })
})

describe("defaults", () => {
  test("every model call has a total deadline (10 min) unless the profile sets its own (item 3)", () => {
    expect(timeoutsOf({}).totalMs).toBe(600_000)
    expect(DEFAULT_TIMEOUTS.totalMs).toBe(600_000)
    expect(timeoutsOf({ timeoutMs: 5_000 }).totalMs).toBe(5_000)
  })

  test("retry backoff: jittered, exponential, bounded; Retry-After wins up to the cap (item 13)", () => {
    const policy = { ...RETRY_DEFAULTS, baseMs: 400, maxDelayMs: 3_000 }
    expect(retryDelay(policy, "server", 1, undefined, () => 0)).toBe(200)
    expect(retryDelay(policy, "server", 1, undefined, () => 1)).toBe(400)
    expect(retryDelay(policy, "network", 2, undefined, () => 1)).toBe(800)
    expect(retryDelay(policy, "server", 3, undefined, () => 1)).toBeNull() // 2 retries by default
    expect(retryDelay(policy, "rate_limit", 1, 2_500)).toBe(2_500)
    expect(retryDelay(policy, "rate_limit", 1, 3_001)).toBeNull()
    for (const kind of ["auth", "invalid", "timeout", "aborted"] as const)
      expect(retryDelay(policy, kind, 1, undefined)).toBeNull()
  })
})

describe("exact-value secret registry (item 8)", () => {
  test("every configured credential is registered and redacted whatever its shape", () => {
    const config = {
      stateDir: "/nonexistent-state",
      providers: { profiles: [{ id: "p", kind: "openai", apiKeyEnv: "PATH_NOT_A_KEY_X" }] },
      controlApi: { token: "control-admin-unshaped-1", readToken: "control-read-unshaped-22" },
      channels: [{ kind: "telegram", token: "4242:telegram-token-unshaped" }],
      mcp: {
        servers: {
          a: {
            command: "bun",
            env: { API_KEY: "mcp-env-key-value-1", LOG_LEVEL: "debug", HOME_DIR: "/home/someone/x" },
          },
          b: { url: "http://127.0.0.1:1/mcp", headers: { "x-custom": "mcp-header-value-9" } },
        },
      },
    } as unknown as Config
    const found = configuredSecrets(config)
    expect(found).toEqual(
      expect.arrayContaining([
        "control-admin-unshaped-1",
        "control-read-unshaped-22",
        "4242:telegram-token-unshaped",
        "mcp-env-key-value-1",
        "mcp-header-value-9",
      ]),
    )
    expect(found).not.toContain("debug")
    expect(found).not.toContain("/home/someone/x")
    try {
      Secrets.set("config", found)
      const line = "401: token control-admin-unshaped-1 and header mcp-header-value-9 rejected"
      expect(redactText(line)).toBe(`401: token ${REDACTED} and header ${REDACTED} rejected`)
      expect(redact({ error: { message: "key 4242:telegram-token-unshaped" } })).toEqual({
        error: { message: `key ${REDACTED}` },
      })
      expect(redactText("log level debug")).toBe("log level debug")
    } finally {
      Secrets.clear("config")
    }
    expect(redactText("control-admin-unshaped-1")).toBe("control-admin-unshaped-1")
  })
})
