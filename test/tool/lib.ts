/**
 * Helpers for the tool tests: a real gateway started in-process on a temp workspace, whose model is
 * the openai-compatible adapter talking to the loopback fake OpenAI server. `call(name, args)` scripts
 * one turn in which the model calls that tool and then answers, and returns the tool's result as the
 * loop recorded it, so "the model calls the tool" runs through the real provider, loop, registry and
 * loader.
 */
import { ToolEvent } from "../../src/agent/events.ts"
import { type Gateway, startGateway } from "../../src/gateway/gateway.ts"
import { resolveConfig } from "../../src/gateway/load.ts"
import { type FakeOpenAI, fakeOpenAI, reply } from "../fake/openai.ts"

export interface CallResult {
  output: string
  isError: boolean
  /** The tool names the model was offered on that turn. */
  offered: string[]
}

export interface InProcess extends AsyncDisposable {
  gw: Gateway
  llm: FakeOpenAI
  sessionId: string
  call(name: string, args?: unknown): Promise<CallResult>
}

/** What the wire-name mapping turns a dotted tool name into (OpenAI allows [A-Za-z0-9_-]). */
export const wire = (name: string) => name.replace(/[^a-zA-Z0-9_-]/g, "_")

export async function inProcess(dir: string, config: Record<string, unknown> = {}): Promise<InProcess> {
  const llm = await fakeOpenAI({ key: null })
  process.env.DROST_FAKE_KEY = "test-key"
  const profile = {
    id: "llm",
    kind: "openai-compatible",
    baseUrl: llm.baseUrl,
    apiKeyEnv: "DROST_FAKE_KEY",
    model: "local-model",
  }
  const resolved = resolveConfig({ providers: { profiles: [profile] }, controlApi: { port: 0 }, ...config }, dir, null)
  const gw = await startGateway(resolved, { lock: false })
  const session = await gw.sessions.create({ channel: "test" })
  return {
    gw,
    llm,
    sessionId: session.id,
    async call(name, args = {}) {
      llm.queue(reply().tool(wire(name), args), reply().text("done"))
      const before = llm.hits.length
      const results: { output: string; isError: boolean }[] = []
      const off = gw.bus.subscribe(ToolEvent.Completed, (event) => {
        if (event.data.sessionId === session.id)
          results.push({ output: event.data.output, isError: event.data.isError })
      })
      try {
        const accepted = await gw.sessions.prompt({ sessionId: session.id, text: `please call ${name}` })
        const result = await accepted.done
        if (result.status !== "completed") throw new Error(`turn ${result.status}: ${result.reason}`)
      } finally {
        off()
      }
      const body = llm.hits[before]?.body as { tools?: { function?: { name: string } }[] } | undefined
      const offered = (body?.tools ?? []).map((tool) => tool.function?.name ?? "")
      const result = results[0]
      if (!result) throw new Error(`no tool call completed; the model was offered ${offered.join(", ")}`)
      return { ...result, offered }
    },
    async [Symbol.asyncDispose]() {
      await gw.stop("test done")
      await llm.close()
    },
  }
}

/** Run a tool directly through the registry (as /tool and the API do). */
export function runTool(gw: Gateway, name: string, args: unknown) {
  const root = gw.config.workspaceDir
  return gw.tools.run({
    name,
    args,
    context: {
      sessionId: "test",
      turnId: "t",
      callId: "c",
      workspace: { root, tools: `${root}/tools`, memory: `${root}/memory`, prompts: `${root}/prompts` },
      signal: new AbortController().signal,
    },
  })
}
