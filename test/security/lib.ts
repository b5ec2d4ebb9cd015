/**
 * The attacker's bench for the security battery: a real gateway (`drost start` as a child process, its
 * own admin token in .drost/control-token) on a workspace with secrets planted where the audit found
 * them, a fake OpenAI model that returns whatever tool call the test scripts, and two ways in, as the
 * audit used: `viaApi` (POST /control/v1/tools/{name}/execute) and `viaModel` (a turn in which the
 * model calls the tool; the result is read from the next request the model receives).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { type FakeOpenAI, fakeOpenAI, reply } from "../fake/openai.ts"
import { type RunningGateway, spawnGateway } from "../lib/gateway.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"
import { wire } from "../tool/lib.ts"

export const SECRET = "TOP-SECRET-5c1e9a"
export const KEY = "sk-live-PROVIDER-KEY-77aa"

export interface Bench extends AsyncDisposable {
  ws: Workspace
  gw: RunningGateway
  llm: FakeOpenAI
  /** A folder beside the workspace holding `secret.txt`; its name relative to the workspace root. */
  outside: string
  outsideRel: string
  sessionId: string
  viaApi(tool: string, args: unknown): Promise<{ output: string; isError: boolean }>
  viaModel(tool: string, args: unknown): Promise<{ output: string; isError: boolean }>
  /** Every planted secret that appears in `text`. */
  leaks(text: string): string[]
}

export async function bench(config: Record<string, unknown> = {}, files: Record<string, string> = {}): Promise<Bench> {
  const llm = await fakeOpenAI({ key: null })
  const ws = await workspace({
    config: {
      providers: {
        profiles: [
          { id: "llm", kind: "openai-compatible", baseUrl: llm.baseUrl, apiKeyEnv: "OPENAI_API_KEY", model: "m" },
        ],
      },
      controlApi: { port: 0 },
      ...config,
    },
    files: {
      "README.md": "inside\n",
      "tools/.keep": "",
      "prompts/system.md": "You are a test.\n",
      ".env": `OTHER_KEY=${SECRET}-env\n`,
      ...files,
    },
  })
  const outside = `${ws.path}-outside`
  mkdirSync(outside, { recursive: true })
  writeFileSync(join(outside, "secret.txt"), `${SECRET}-outside\n`)
  mkdirSync(join(ws.path, ".drost"), { recursive: true })
  writeFileSync(join(ws.path, ".drost", "planted.txt"), `${SECRET}-state\n`)
  const gw = await spawnGateway(ws.path, { env: { OPENAI_API_KEY: KEY, CI: "true" } })
  const token = readFileSync(join(ws.path, ".drost", "control-token"), "utf8").trim()
  const session = (await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }
  const planted = [`${SECRET}-outside`, `${SECRET}-state`, `${SECRET}-env`, KEY, token]
  return {
    ws,
    gw,
    llm,
    outside,
    outsideRel: `../${outside.split("/").at(-1)}`,
    sessionId: session.id,
    async viaApi(tool, args) {
      const response = await gw.api(`/tools/${tool}/execute`, { method: "POST", json: args })
      const body = (await response.json()) as { output?: string; isError?: boolean; error?: { message: string } }
      return { output: body.output ?? body.error?.message ?? JSON.stringify(body), isError: body.isError ?? true }
    },
    async viaModel(tool, args) {
      llm.queue(reply().tool(wire(tool), args, "call_1"), reply().text("done"))
      const before = llm.hits.length
      const response = await gw.api(`/sessions/${session.id}/turn`, { method: "POST", json: { input: "go" } })
      await response.arrayBuffer()
      const next = llm.hits[before + 1]?.body as { messages?: { role: string; content: unknown }[] } | undefined
      const result = next?.messages?.findLast((message) => message.role === "tool")
      const output = typeof result?.content === "string" ? result.content : JSON.stringify(result?.content ?? "")
      return { output, isError: /failed|refused|denied|error|off on this machine/i.test(output) }
    },
    leaks: (text) => planted.filter((secret) => text.includes(secret)),
    async [Symbol.asyncDispose]() {
      await gw.stop()
      await llm.close()
      await ws[Symbol.asyncDispose]()
      Bun.spawnSync(["rm", "-rf", outside])
    },
  }
}
