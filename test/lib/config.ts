/** Config for a test workspace: demo provider, Control API on a free loopback port. */
export function demoConfig(extra: Record<string, unknown> = {}, demo: Record<string, unknown> = {}) {
  return {
    providers: { profiles: [{ id: "demo", kind: "demo", ...demo }] },
    controlApi: { port: 0 },
    ...extra,
  }
}

/** The environment a gateway needs for `fakeConfig`'s key (pass as spawnGateway's `env`). */
export const FAKE_KEY_ENV = { DROST_FAKE_KEY: "test-key" }

/** A provider profile `id` for the fake OpenAI server at `baseUrl` (Chat Completions, key from `FAKE_KEY_ENV`). */
export const fakeProfile = (id: string, baseUrl: string) => ({
  id,
  kind: "openai",
  api: "chat",
  model: "gpt-test",
  baseUrl,
  apiKeyEnv: "DROST_FAKE_KEY",
})

/**
 * Config for a test workspace whose one provider, `gpt`, is the fake OpenAI server at `baseUrl`
 * (test/fake/openai.ts, Chat Completions, key from `FAKE_KEY_ENV`), Control API on a free loopback port.
 */
export function fakeConfig(baseUrl: string, extra: Record<string, unknown> = {}) {
  return {
    providers: { profiles: [fakeProfile("gpt", baseUrl)] },
    controlApi: { port: 0 },
    ...extra,
  }
}
