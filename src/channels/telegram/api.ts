/**
 * Bot API plumbing shared by the channel: a transformer that honours 429 `retry_after` for every call,
 * and the classification of Bot API errors the channel reacts to.
 */
import { GrammyError, HttpError, type Transformer } from "grammy"
import type { Logger } from "../../util/log.ts"

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener("abort", () => {
      clearTimeout(timer)
      resolve()
    })
  })

/** Retry a call Telegram rate-limited, after exactly the delay it asked for (at most `retries` times). */
export function honourRetryAfter(
  log: Logger,
  onWait: (chatId: number | null, ms: number) => void,
  retries = 4,
): Transformer {
  return async (prev, method, payload, signal) => {
    for (let attempt = 0; ; attempt++) {
      const result = await prev(method, payload, signal)
      if (result.ok || result.error_code !== 429 || attempt >= retries || signal?.aborted) return result
      const seconds = result.parameters?.retry_after ?? 1
      log.warn("rate limited by Telegram; retrying after its delay", {
        method,
        retryAfter: seconds,
        attempt: attempt + 1,
      })
      const chat = (payload as { chat_id?: unknown }).chat_id
      onWait(typeof chat === "number" ? chat : null, seconds * 1000)
      await sleep(seconds * 1000, signal as globalThis.AbortSignal | undefined)
    }
  }
}

export const isNotModified = (error: unknown) =>
  error instanceof GrammyError && error.description.includes("message is not modified")
export const isEntityError = (error: unknown) =>
  error instanceof GrammyError && error.error_code === 400 && /can't parse entities|entit/i.test(error.description)
export const isMissingMessage = (error: unknown) =>
  error instanceof GrammyError && /message to edit not found|MESSAGE_ID_INVALID/i.test(error.description)

export type Failure = { kind: "unauthorized" | "conflict" | "network" | "server" | "client"; message: string }

export function classify(error: unknown): Failure {
  if (error instanceof GrammyError) {
    if (error.error_code === 401 || error.error_code === 404)
      return { kind: "unauthorized", message: `${error.error_code} ${error.description}` }
    if (error.error_code === 409) return { kind: "conflict", message: error.description }
    return { kind: error.error_code >= 500 ? "server" : "client", message: `${error.error_code} ${error.description}` }
  }
  if (error instanceof HttpError)
    return { kind: "network", message: String((error.error as Error)?.message ?? error.message) }
  return { kind: "network", message: error instanceof Error ? error.message : String(error) }
}

export { sleep }
