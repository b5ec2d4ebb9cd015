/** Helpers for provider tests: profiles pointing at the fakes, and draining a provider stream. */
import type { Profile } from "../../src/core/config.ts"
import type { ChatRequest, Provider, StreamEvent } from "../../src/core/provider.ts"
import type { Credential } from "../../src/providers/credential.ts"
import { createProvider } from "../../src/providers/registry.ts"

export type Kind = "openai" | "openai-chat" | "anthropic" | "openai-compatible" | "xai"

export const KEY = "test-key"

export function profileFor(kind: Kind, baseUrl: string, extra: Partial<Profile> = {}): Profile {
  const id = kind
  if (kind === "openai-chat") return { id, kind: "openai", api: "chat", model: "gpt-test", baseUrl, ...extra }
  if (kind === "anthropic") return { id, kind: "anthropic", model: "claude-test", baseUrl, ...extra }
  return { id, kind, model: `${kind}-model`, baseUrl, ...extra }
}

export function keyed(value = KEY): (profile: Profile) => Credential {
  return () => ({ type: "api-key", value, source: "test" })
}

export function build(kind: Kind, baseUrl: string, extra: Partial<Profile> = {}): Provider {
  return createProvider(profileFor(kind, baseUrl, extra), { credential: keyed() })
}

export async function collect(
  provider: Provider,
  request: Partial<ChatRequest> = {},
  signal: AbortSignal = new AbortController().signal,
): Promise<StreamEvent[]> {
  const events: StreamEvent[] = []
  const full: ChatRequest = {
    system: "be brief",
    messages: [{ role: "user", parts: [{ type: "text", text: "hi" }] }],
    tools: [],
    sessionId: "s",
    ...request,
  }
  for await (const event of provider.stream(full, signal)) events.push(event)
  return events
}
