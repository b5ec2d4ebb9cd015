/**
 * The reply script shared by the fake LLM servers (fakeOpenAI, fakeAnthropic). One `Reply` answers
 * one request; each fake renders it in its own wire format, so a scenario runs unchanged against
 * every provider kind.
 *
 *   llm.queue(reply().text("Let me look.").tool("file.read", { path: "a.txt" }).usage({ input: 12, output: 3 }))
 *   llm.queue(reply().text("partial answer ").reset())     // streams the text, then drops the connection
 *   llm.queue(reply().status(429, { retryAfter: 2 }))       // 429 with retry-after: 2
 *   llm.always(reply().status(500))                         // every request when the queue is empty
 *
 * Faults: `status(code)` (HTTP error with the API's error body), `hang()` (accepts the request, never
 * answers), `stall()` (streams the items, then goes silent without ending), `reset()` (streams the
 * items, then drops the connection), `malformed()` (streams the items, then a chunk that is not JSON).
 */

export type ReplyItem =
  | { type: "text"; text: string }
  | { type: "reasoning"; text: string }
  | { type: "tool"; id?: string; name: string; args: unknown }

export type Fault =
  | { type: "status"; status: number; message?: string; retryAfter?: number }
  | { type: "hang" }
  | { type: "stall" }
  | { type: "reset" }
  | { type: "malformed" }

export interface ReplyUsage {
  input: number
  output: number
  cached?: number
}

export class Reply {
  readonly items: ReplyItem[] = []
  fault: Fault | null = null
  tokens: ReplyUsage = { input: 10, output: 5, cached: 0 }
  /** Characters per streamed fragment of text and tool arguments (arguments always arrive in pieces). */
  fragment = 7
  /** Pause between streamed frames. */
  delayMs = 0
  /** Override the stop reason the fake reports (`length` → max tokens). */
  stopReason: "stop" | "length" | null = null

  text(text: string): this {
    this.items.push({ type: "text", text })
    return this
  }
  reasoning(text: string): this {
    this.items.push({ type: "reasoning", text })
    return this
  }
  /** A tool call; `args` may be a string to send verbatim (e.g. broken JSON). */
  tool(name: string, args: unknown = {}, id?: string): this {
    this.items.push({ type: "tool", name, args, id })
    return this
  }
  usage(usage: ReplyUsage): this {
    this.tokens = { cached: 0, ...usage }
    return this
  }
  chunk(chars: number): this {
    this.fragment = Math.max(1, chars)
    return this
  }
  delay(ms: number): this {
    this.delayMs = ms
    return this
  }
  stop(reason: "stop" | "length"): this {
    this.stopReason = reason
    return this
  }
  status(status: number, options: { message?: string; retryAfter?: number } = {}): this {
    this.fault = { type: "status", status, ...options }
    return this
  }
  hang(): this {
    this.fault = { type: "hang" }
    return this
  }
  stall(): this {
    this.fault = { type: "stall" }
    return this
  }
  reset(): this {
    this.fault = { type: "reset" }
    return this
  }
  malformed(): this {
    this.fault = { type: "malformed" }
    return this
  }
}

export const reply = () => new Reply()

/** Cut a string into fragments of `size` characters (at least one fragment, possibly empty). */
export function fragments(text: string, size: number): string[] {
  if (text.length === 0) return [""]
  const out: string[] = []
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
  return out
}

export function argsJson(args: unknown): string {
  return typeof args === "string" ? args : JSON.stringify(args ?? {})
}
