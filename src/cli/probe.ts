/**
 * Cheap live checks used by `drost setup` and `drost doctor`: list a provider's models with the key, and
 * call Telegram's `getMe`. One short request each, a timeout, and a verdict a person can act on. The
 * key goes only into the request header, never into the result.
 */
import type { ProviderKind } from "../core/config.ts"

export interface ProbeResult {
  ok: boolean
  /** One line: what happened, e.g. "12 models" or "401: the key was rejected". */
  detail: string
  /** Model ids the provider listed (GET /models), when it answered with a list. */
  models?: string[]
}

/** Default API roots, as the official SDKs spell them (OpenAI-style roots end in /v1; Anthropic's does not). */
export const DEFAULT_BASE_URL: Partial<Record<ProviderKind, string>> = {
  openai: "https://api.openai.com/v1",
  anthropic: "https://api.anthropic.com",
  xai: "https://api.x.ai/v1",
}

export const TELEGRAM_API_ROOT = "https://api.telegram.org"

const trim = (url: string) => url.replace(/\/+$/, "")

async function request(url: string, headers: Record<string, string>, timeoutMs: number): Promise<Response | string> {
  try {
    return await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) })
  } catch (error) {
    const name = error instanceof Error ? error.name : ""
    return name === "TimeoutError"
      ? `no answer within ${timeoutMs} ms`
      : `unreachable (${error instanceof Error ? error.message : String(error)})`
  }
}

function verdict(status: number, body: string): string {
  const text = body.replace(/\s+/g, " ").slice(0, 120)
  if (status === 401 || status === 403) return `${status}: the key was rejected`
  if (status === 404) return "404: no models endpoint at this URL (check the base URL)"
  return `${status}: ${text || "unexpected answer"}`
}

export async function probeProvider(
  kind: ProviderKind,
  options: { apiKey?: string; baseUrl?: string; timeoutMs?: number },
): Promise<ProbeResult> {
  if (kind === "demo") return { ok: true, detail: "offline demo, nothing to probe" }
  const base = trim(options.baseUrl ?? DEFAULT_BASE_URL[kind] ?? "")
  if (!base) return { ok: false, detail: "no base URL" }
  if (!options.apiKey && kind !== "openai-compatible") return { ok: false, detail: "no API key" }
  const headers: Record<string, string> =
    kind === "anthropic"
      ? { "x-api-key": options.apiKey ?? "", "anthropic-version": "2023-06-01" }
      : options.apiKey
        ? { authorization: `Bearer ${options.apiKey}` }
        : {}
  const url = kind === "anthropic" ? `${base}/v1/models` : `${base}/models`
  const response = await request(url, headers, options.timeoutMs ?? 8000)
  if (typeof response === "string") return { ok: false, detail: response }
  const body = await response.text()
  if (!response.ok) return { ok: false, detail: verdict(response.status, body) }
  const models = (() => {
    try {
      const data = (JSON.parse(body) as { data?: unknown[] }).data
      return Array.isArray(data)
        ? data
            .map((entry) => (entry as { id?: unknown } | null)?.id)
            .filter((id): id is string => typeof id === "string")
        : null
    } catch {
      return null
    }
  })()
  if (models === null) return { ok: true, detail: "reachable, key accepted" }
  const count = models.length
  return { ok: true, detail: `key accepted, ${count} model${count === 1 ? "" : "s"}`, models }
}

export interface TelegramBot {
  id: number
  username: string
}

export async function probeTelegram(
  token: string,
  options: { apiRoot?: string; timeoutMs?: number } = {},
): Promise<ProbeResult & { bot?: TelegramBot }> {
  const response = await request(
    `${trim(options.apiRoot ?? TELEGRAM_API_ROOT)}/bot${token}/getMe`,
    {},
    options.timeoutMs ?? 8000,
  )
  if (typeof response === "string") return { ok: false, detail: response }
  const body = (await response.json().catch(() => null)) as {
    ok?: boolean
    result?: TelegramBot
    description?: string
  } | null
  if (!response.ok || !body?.ok || !body.result)
    return {
      ok: false,
      detail: `${response.status}: ${body?.description ?? "getMe failed"}${response.status === 401 || response.status === 404 ? " (check the token from @BotFather)" : ""}`,
    }
  return { ok: true, detail: `@${body.result.username} (id ${body.result.id})`, bot: body.result }
}
