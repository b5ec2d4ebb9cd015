/**
 * The offline demo provider (`kind: "demo"`): deterministic, no network, no key. It says plainly what
 * it is and calls real built-in tools when asked to list or read files, so the whole agent loop
 * (streaming, tool calls, persistence) is visible on a fresh machine.
 */
import type { ChatMessage } from "../core/message.ts"
import { Msg } from "../core/message.ts"
import type { ChatRequest, Provider, StreamEvent } from "../core/provider.ts"
import type { Profile } from "../core/config.ts"

const INTRO =
  "I'm Drost's offline demo provider: no model and no network, just a fixed script so you can see the runtime work."
const HINT =
  'Try "list files" or "read README.md" to watch a real tool call, or run `drost setup` to configure a real provider.'

function tokens(text: string): number {
  return Math.ceil(text.length / 4)
}

function plan(
  messages: ChatMessage[],
  tools: Set<string>,
  _callId: string,
): { text: string; call?: { name: string; args: unknown } } {
  const last = messages.at(-1)
  if (last?.role === "tool") {
    const result = last.parts.find((part) => part.type === "tool-result")
    if (result?.type === "tool-result") {
      const lines = result.output.split("\n")
      const shown = lines.slice(0, 40).join("\n")
      const more = lines.length > 40 ? `\n… and ${lines.length - 40} more lines` : ""
      return result.isError
        ? { text: `The tool ${result.name} reported an error:\n${result.output}` }
        : {
            text: `Here is what ${result.name} returned (${lines.length} line${lines.length === 1 ? "" : "s"}):\n${shown}${more}`,
          }
    }
  }
  const said = last ? Msg.text(last.parts).trim() : ""
  const read = said.match(/\b(?:read|show|open|cat)\s+["'`]?([^\s"'`]+)/i)
  if (read && tools.has("file.read"))
    return {
      text: `Reading ${read[1]} with file.read.`,
      call: { name: "file.read", args: { path: read[1], limit: 60 } },
    }
  const list = said.match(/\b(?:list|ls|files|folder|directory)\b(?:\s+(?:in|of)\s+["'`]?([^\s"'`]+))?/i)
  if (list && tools.has("file.list"))
    return {
      text: "Listing the workspace with file.list.",
      call: { name: "file.list", args: { path: list[1] ?? "." } },
    }
  const echo = said ? ` You said: "${said.length > 200 ? `${said.slice(0, 200)}…` : said}".` : ""
  const first = messages.filter((message) => message.role === "user").length <= 1
  return { text: `${first ? `${INTRO}${echo}` : `(offline demo)${echo}`} ${HINT}` }
}

export function createDemoProvider(profile: Profile): Provider {
  const delay = profile.delayMs ?? 0
  let calls = 0
  return {
    id: profile.id,
    kind: "demo",
    model: profile.model ?? "demo-1",
    async *stream(request: ChatRequest, signal: AbortSignal): AsyncGenerator<StreamEvent> {
      const tools = new Set(request.tools.map((tool) => tool.name))
      const reply = plan(request.messages, tools, `call_demo_${++calls}`)
      for (const chunk of reply.text.match(/\S+\s*/g) ?? []) {
        if (delay) await Bun.sleep(delay)
        if (signal.aborted) {
          yield { type: "error", kind: "aborted", message: "aborted" }
          return
        }
        yield { type: "text", delta: chunk }
      }
      if (reply.call)
        yield {
          type: "tool-call",
          id: `call_demo_${calls}`,
          name: reply.call.name,
          args: JSON.stringify(reply.call.args),
        }
      const input =
        tokens(request.system) +
        request.messages.reduce((sum, message) => sum + tokens(JSON.stringify(message.parts)), 0)
      yield { type: "usage", usage: { input, output: tokens(reply.text), cached: 0 } }
      yield { type: "done", stop: reply.call ? "tool_calls" : "stop" }
    },
  }
}
