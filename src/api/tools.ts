/**
 * Tools: what is loaded (and, when the registry tracks it, what was rejected and why), and running one
 * tool directly with the same validation, timeout and truncation a model's call gets.
 */
import { join } from "node:path"
import { Elysia, t } from "elysia"
import { ToolEvent } from "../agent/events.ts"
import type { Gateway } from "../gateway/gateway.ts"
import { invalid, problem } from "./schemas.ts"

interface Rejections {
  rejected?: () => unknown[]
}

const LoadedTool = t.Object({
  name: t.String(),
  description: t.String(),
  parameters: t.Record(t.String(), t.Unknown(), { description: "JSON Schema of the arguments" }),
  source: t.String({ description: "builtin or workspace" }),
  file: t.Optional(t.String()),
})

const RejectedTool = t.Object(
  { file: t.Optional(t.String()), name: t.Optional(t.String()), reason: t.String() },
  { additionalProperties: true, description: "A workspace tool that failed to load" },
)

export function toolRoutes(gw: Gateway) {
  return new Elysia({ prefix: "/control/v1" })
    .get(
      "/tools",
      async () => {
        // Every way in sees the current generation: a changed tools/ folder is loaded first (cheap
        // when nothing changed: a scan signature), not only at the next model turn.
        await gw.toolset.refresh()
        const registry = gw.tools as typeof gw.tools & Rejections
        return {
          tools: gw.tools.list().map((tool) => ({
            name: tool.name,
            description: tool.description,
            parameters: tool.parameters,
            source: tool.source,
            file: tool.file,
          })),
          rejected: (typeof registry.rejected === "function" ? registry.rejected() : []) as { reason: string }[],
        }
      },
      {
        response: {
          200: t.Object(
            { tools: t.Array(LoadedTool), rejected: t.Array(RejectedTool) },
            { description: "Loaded tools, and workspace tools that were rejected" },
          ),
        },
        detail: {
          operationId: "listTools",
          tags: ["tools"],
          summary: "Loaded and rejected tools",
          description:
            "Built-in and workspace tools with their argument schemas; workspace tools that failed to load, with the reason.",
        },
      },
    )
    .post(
      "/tools/:name/execute",
      async ({ params, body, request, status }) => {
        await gw.toolset.refresh()
        const tool = gw.tools.get(params.name)
        if (!tool)
          return status(404, {
            error: "NotFound",
            message: `unknown tool "${params.name}"; GET /control/v1/tools lists them`,
          })
        const callId = `call_api_${crypto.randomUUID().slice(0, 12)}`
        const ids = { sessionId: "control-api", turnId: callId }
        gw.bus.publish(ToolEvent.Started, { ...ids, callId, name: tool.name, args: body ?? {} })
        const root = gw.config.workspaceDir
        const result = await gw.tools.run({
          name: tool.name,
          args: body ?? {},
          context: {
            sessionId: ids.sessionId,
            turnId: ids.turnId,
            callId,
            workspace: {
              root,
              tools: join(root, "tools"),
              memory: join(root, "memory"),
              prompts: join(root, "prompts"),
            },
            signal: request.signal,
          },
        })
        gw.bus.publish(ToolEvent.Completed, {
          ...ids,
          callId,
          name: tool.name,
          isError: result.isError,
          output: result.output,
          durationMs: result.durationMs,
        })
        return { name: tool.name, callId, ...result }
      },
      {
        params: t.Object({ name: t.String({ description: "Tool name", examples: ["file.list"] }) }),
        body: t.Optional(
          t.Record(t.String(), t.Unknown(), { description: "The tool's arguments", examples: [{ path: "." }] }),
        ),
        response: {
          200: t.Object(
            {
              name: t.String(),
              callId: t.String(),
              output: t.String(),
              isError: t.Boolean({ description: "true for invalid arguments, a timeout or a failure" }),
              durationMs: t.Number(),
            },
            { description: "The tool's result (a failure too: `isError: true` with the reason in `output`)" },
          ),
          400: invalid,
          404: problem("Unknown tool"),
        },
        detail: {
          operationId: "executeTool",
          tags: ["tools"],
          summary: "Run a tool",
          description:
            "Runs the tool outside any turn, through the same registry a model uses: invalid arguments, a timeout or a thrown error come back as `isError: true` with a readable `output`. Emits tool.call.started/completed with sessionId `control-api`.",
        },
      },
    )
}
