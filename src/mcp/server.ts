/**
 * Drost as an MCP server: one `Server` (the SDK's protocol layer) per MCP session, over any transport
 * (streamable HTTP in http.ts, stdio through the bridge in bridge.ts).
 *
 * Tools: the agent's (agent-tools.ts: run a turn, list, read, abort) and, when `controlApi.mcpTools`
 * is on, the gateway's own tools as the model is offered them (`registry.specs()`: the tool policy and
 * the sandbox's availability applied), run through `registry.run` like a model's call, so the policy,
 * argument validation, OS sandbox, approvals (`tools.approve`), timeout and truncation all apply. A
 * client never sees or runs a tool the model could not. Resources: sessions, with list-changed and
 * per-session update notifications (resources.ts).
 *
 * The SDK's `McpServer` wrapper only takes zod schemas; the gateway's tools come as JSON Schema and
 * ours are TypeBox (the project's one schema language), so the handlers sit on `Server` directly.
 */
import { join } from "node:path"
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from "@modelcontextprotocol/sdk/types.js"
import { ToolEvent } from "../agent/events.ts"
import type { Gateway } from "../gateway/gateway.ts"
import { VERSION } from "../util/version.ts"
import { type AgentTool, agentTools, type CallResult, invalid } from "./agent-tools.ts"
import { listResources, readResource, sessionOf, templates, watchResources } from "./resources.ts"

/** The session id gateway tool calls carry (events, approvals), as the Control API's carry `control-api`. */
export const TOOL_SESSION = "mcp"

const INSTRUCTIONS =
  "Drost is a persistent AI agent. run_turn sends it a message and returns its answer; pass the same `session` (an id or a name) to continue a conversation. list_sessions and read_session show its sessions; they are also resources (drost://sessions/{id})."

export function createMcpServer(gw: Gateway): Server {
  const own = new Map<string, AgentTool>(agentTools.map((tool) => [tool.name, tool]))
  const gatewayTools = () => gw.config.controlApi.mcpTools === true
  const server = new Server(
    { name: "drost", title: "Drost", version: VERSION },
    { capabilities: { tools: {}, resources: { subscribe: true, listChanged: true } }, instructions: INSTRUCTIONS },
  )
  const subscribed = watchResources(gw, server)

  server.setRequestHandler(ListToolsRequestSchema, async () => {
    const tools: object[] = agentTools.map((tool) => ({
      name: tool.name,
      title: tool.title,
      description: tool.description,
      inputSchema: tool.schema,
      annotations: { readOnlyHint: tool.readOnly, destructiveHint: false, openWorldHint: !tool.readOnly },
    }))
    if (gatewayTools()) {
      await gw.toolset.refresh()
      for (const spec of gw.tools.specs())
        if (!own.has(spec.name))
          tools.push({ name: spec.name, description: spec.description, inputSchema: objectSchema(spec.parameters) })
    }
    return { tools } as { tools: never[] }
  })

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const { name } = request.params
    const args = request.params.arguments ?? {}
    const tool = own.get(name)
    if (tool) {
      const problem = invalid(tool, args)
      if (problem) return failure(`invalid arguments for ${name}:\n${problem}`)
      const token = request.params._meta?.progressToken
      const progress =
        token === undefined
          ? undefined
          : (done: number, message: string) =>
              void extra
                .sendNotification({
                  method: "notifications/progress",
                  params: { progressToken: token, progress: done, message },
                })
                .catch(() => {})
      try {
        return await tool.run(gw, args as never, { signal: extra.signal, progress })
      } catch (error) {
        return failure(error instanceof Error ? error.message : String(error))
      }
    }
    if (gatewayTools()) {
      await gw.toolset.refresh()
      // Only what the model is offered: a tool the policy denies or the sandbox turned off is unknown here.
      if (gw.tools.specs().some((spec) => spec.name === name)) return runGatewayTool(gw, name, args, extra.signal)
    }
    throw new McpError(ErrorCode.InvalidParams, `unknown tool "${name}"; tools/list shows the tools there are`)
  })

  server.setRequestHandler(ListResourcesRequestSchema, async (request) => {
    try {
      return await listResources(gw, request.params?.cursor)
    } catch (error) {
      throw new McpError(ErrorCode.InvalidParams, (error as Error).message)
    }
  })
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => templates())
  server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    const id = sessionOf(request.params.uri)
    if (id === null || !(await gw.data.sessions.get(id)))
      throw new McpError(-32002, `no such resource: ${request.params.uri} (resources/list shows the sessions)`, {
        uri: request.params.uri,
      })
    subscribed.add(id)
    return {}
  })
  server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    const id = sessionOf(request.params.uri)
    if (id !== null) subscribed.delete(id)
    return {}
  })
  server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
    const found = await readResource(gw, request.params.uri)
    if (!found)
      throw new McpError(-32002, `no such resource: ${request.params.uri} (resources/list shows the sessions)`, {
        uri: request.params.uri,
      })
    return found
  })
  return server
}

const failure = (message: string): CallResult => ({ content: [{ type: "text", text: message }], isError: true })

/** MCP requires an object schema at the top; a tool without parameters gets an empty one. */
function objectSchema(schema: Record<string, unknown>): Record<string, unknown> {
  return schema.type === "object" ? schema : { type: "object", properties: {}, ...schema }
}

async function runGatewayTool(gw: Gateway, name: string, args: unknown, signal: AbortSignal): Promise<CallResult> {
  const callId = `call_mcp_${crypto.randomUUID().slice(0, 12)}`
  const ids = { sessionId: TOOL_SESSION, turnId: callId }
  gw.bus.publish(ToolEvent.Started, { ...ids, callId, name, args })
  const root = gw.config.workspaceDir
  const result = await gw.tools.run({
    name,
    args,
    context: {
      ...ids,
      callId,
      workspace: { root, tools: join(root, "tools"), memory: join(root, "memory"), prompts: join(root, "prompts") },
      signal,
    },
  })
  gw.bus.publish(ToolEvent.Completed, {
    ...ids,
    callId,
    name,
    isError: result.isError,
    output: result.output,
    durationMs: result.durationMs,
  })
  return { content: [{ type: "text", text: result.output }], ...(result.isError ? { isError: true } : {}) }
}
