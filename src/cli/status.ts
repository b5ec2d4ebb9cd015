/**
 * `drost status [--json]`: the running gateway at a glance — state and why, version, pid, uptime,
 * sessions, queues, providers, sandbox, MCP servers and plugins — from `GET /control/v1/status`. With none
 * running it says so and exits 1 (`--json`: `{"state":"stopped",…}`), writing nothing.
 */
import { defineCommand } from "citty"
import { attachArgs } from "./attach.ts"
import { data, locate, NoGateway, where } from "./reach.ts"

export function duration(ms: number): string {
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${s % 60}s`
  const h = Math.floor(m / 60)
  return h < 24 ? `${h}h ${m % 60}m` : `${Math.floor(h / 24)}d ${h % 24}h`
}

export const statusCommand = defineCommand({
  meta: { name: "status", description: "Show the running gateway: state, sessions, queues, providers, sandbox" },
  args: { ...attachArgs, json: { type: "boolean", description: "Print one JSON object" } },
  async run({ args }) {
    const target = where(args)
    const running = await locate(target)
    if (!running) {
      if (args.json) process.stdout.write(`${JSON.stringify({ state: "stopped", workspace: target.workspace })}\n`)
      else process.stderr.write(`drost: ${new NoGateway(target.workspace).message}\n`)
      process.exitCode = 1
      return
    }
    const status = await data(running, running.api.control.v1.status.get())
    if (args.json) {
      process.stdout.write(`${JSON.stringify({ ...status, url: running.url }, null, 2)}\n`)
      return
    }
    const lines = [
      `${status.state} · drost ${status.version} (${status.commit}) · pid ${status.pid} · gateway ${status.gatewayId} · up ${duration(status.uptimeMs)}`,
      `workspace ${status.workspace}`,
      `control api ${running.url}`,
      `store ${status.store.engine} ${status.store.where}${status.store.gateways.length > 1 ? ` · ${status.store.gateways.length} gateways: ${status.store.gateways.map((peer) => `${peer.id} (pid ${peer.pid} on ${peer.host})`).join(", ")}` : ""}`,
      ...status.reasons.map((reason) => `  ! ${reason}`),
      `sessions ${status.sessions} · running turns ${status.runningTurns} · background jobs ${status.jobs.running} (limits ${status.jobs.maxPerSession} per session, ${status.jobs.maxTotal} in all)`,
      ...status.queues.map(
        (queue) =>
          `  ${queue.sessionId}  ${queue.running ? `running ${queue.running}` : "idle"}${queue.waiting ? `, ${queue.waiting} waiting` : ""}${queue.messages ? ` (${queue.messages} messages)` : ""}`,
      ),
      "providers",
      ...status.providers.map(
        (provider) =>
          `  ${provider.available ? "✓" : "✗"} ${provider.id} (${provider.kind})${provider.available ? "" : " unavailable"}`,
      ),
      `sandbox ${
        status.sandbox.kind
          ? `${status.sandbox.kind}${status.sandbox.executable ? ` (${status.sandbox.executable})` : ""}`
          : `none: ${status.sandbox.reason ?? "unknown"}`
      }${status.sandbox.off.length ? ` · off: ${status.sandbox.off.join(", ")}` : ""}`,
      ...(status.mcp.length
        ? [
            "mcp",
            ...status.mcp.map(
              (server) =>
                `  ${server.state === "connected" ? "✓" : "✗"} ${server.server} ${server.state}, ${server.tools} tools${server.error ? `: ${server.error}` : ""}`,
            ),
          ]
        : []),
      `tools ${status.tools.length}: ${status.tools.join(", ")}`,
      ...(status.plugins.length
        ? [
            "plugins",
            ...status.plugins.map(
              (plugin) =>
                `  ${plugin.state === "loaded" ? "✓" : "✗"} ${plugin.name}${plugin.version ? ` ${plugin.version}` : ""}${plugin.state === "loaded" ? "" : ` skipped: ${plugin.reason}`}`,
            ),
          ]
        : []),
    ]
    process.stdout.write(`${lines.join("\n")}\n`)
  },
})
