/**
 * Probes: one cheap, read-only request per profile (list the models) through the same SDK client
 * the adapter uses, bounded by a timeout, with a verdict a person can act on:
 * `ok`, `missing_auth` (no credential configured), `unreachable` (connection refused, DNS, timeout),
 * `incompatible` (the URL answers but not with this wire API: 404/405 or not the expected JSON),
 * `provider_error` (the API refused: bad key, 5xx, …). The credential never appears in a result.
 */
import type { Profile } from "../core/config.ts"
import { anthropicClient, ANTHROPIC_BASE_URL } from "./anthropic.ts"
import { type CredentialResolver, missingKeyMessage, needsKey } from "./credential.ts"
import { openaiClient } from "./openai-chat.ts"
import { DEFAULT_MODELS, OPENAI_BASE_URL, XAI_BASE_URL } from "./registry.ts"

export type ProbeCode = "ok" | "missing_auth" | "unreachable" | "incompatible" | "provider_error"

export interface ProbeResult {
  id: string
  kind: string
  model: string | null
  code: ProbeCode
  message: string
  latencyMs: number
  status?: number
  checkedAt: number
}

function baseUrlOf(profile: Profile): string | null {
  if (profile.baseUrl) return profile.baseUrl
  return profile.kind === "openai"
    ? OPENAI_BASE_URL
    : profile.kind === "xai"
      ? XAI_BASE_URL
      : profile.kind === "anthropic"
        ? ANTHROPIC_BASE_URL
        : null
}

function verdict(error: unknown, timedOut: boolean): { code: ProbeCode; message: string; status?: number } {
  const failure = (error ?? {}) as { status?: unknown; message?: unknown; name?: unknown }
  const text = String(failure.message ?? error)
    .replace(/\s+/g, " ")
    .slice(0, 200)
  if (typeof failure.status === "number") {
    const status = failure.status
    if (status === 404 || status === 405)
      return {
        code: "incompatible",
        status,
        message: `HTTP ${status}: no models endpoint here; check baseUrl and kind`,
      }
    if (status === 401 || status === 403)
      return { code: "provider_error", status, message: `HTTP ${status}: the credential was rejected` }
    return { code: "provider_error", status, message: `HTTP ${status}: ${text}` }
  }
  if (timedOut || /timeout|timed out/i.test(String(failure.name)) || /timeout|timed out/i.test(text))
    return { code: "unreachable", message: `no answer in time (${text})` }
  if (error instanceof SyntaxError || /json|unexpected token/i.test(text))
    return { code: "incompatible", message: `the answer is not this API's JSON (${text})` }
  return { code: "unreachable", message: `cannot connect: ${text}` }
}

export async function probeProfile(
  profile: Profile,
  credential: CredentialResolver,
  timeoutMs: number,
): Promise<ProbeResult> {
  const started = performance.now()
  const model = profile.model ?? DEFAULT_MODELS[profile.kind] ?? null
  const result = (code: ProbeCode, message: string, status?: number): ProbeResult => ({
    id: profile.id,
    kind: profile.kind,
    model,
    code,
    message,
    latencyMs: Math.round(performance.now() - started),
    ...(status !== undefined ? { status } : {}),
    checkedAt: Date.now(),
  })
  if (profile.kind === "demo") return result("ok", "offline demo provider: nothing to reach")
  const baseUrl = baseUrlOf(profile)
  if (!baseUrl) return result("incompatible", "no baseUrl configured")
  const key = credential(profile)
  if (!key && needsKey(profile.kind)) return result("missing_auth", missingKeyMessage(profile))
  const controller = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    controller.abort(new Error(`probe timeout after ${timeoutMs} ms`))
  }, timeoutMs)
  try {
    const page =
      profile.kind === "anthropic" && key
        ? await (await anthropicClient(baseUrl, key, timeoutMs)).models.list({}, { signal: controller.signal })
        : await (await openaiClient(baseUrl, key, timeoutMs)).models.list({ signal: controller.signal })
    const ids = (page.data ?? [])
      .map((entry) => (entry as { id?: string }).id)
      .filter((id): id is string => typeof id === "string")
    if (!Array.isArray(page.data)) return result("incompatible", "the models endpoint did not return a list")
    const listed = model && ids.length && !ids.includes(model) ? `; note: ${model} is not in the list` : ""
    return result("ok", `reachable, ${ids.length} model${ids.length === 1 ? "" : "s"} listed${listed}`)
  } catch (error) {
    const { code, message, status } = verdict(error, timedOut)
    return result(code, message, status)
  } finally {
    clearTimeout(timer)
  }
}

/** All profiles in parallel; each bounded by `timeoutMs`. */
export function probeAll(
  profiles: Profile[],
  credential: CredentialResolver,
  timeoutMs: number,
): Promise<ProbeResult[]> {
  return Promise.all(profiles.map((profile) => probeProfile(profile, credential, timeoutMs)))
}
