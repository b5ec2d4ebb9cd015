/**
 * The runtime itself: status, and restart with a dry run that checks the config the restart would load.
 * The public probes (`/healthz`, `/livez`, `/readyz`) are in health.ts.
 */
import { dirname } from "node:path"
import { Elysia, t } from "elysia"
import { ConfigError, message } from "../core/error.ts"
import type { Gateway } from "../gateway/gateway.ts"
import { load } from "../gateway/load.ts"
import { COMMIT, VERSION } from "../util/version.ts"
import { JobCounts } from "./jobs.ts"
import { described, invalid } from "./schemas.ts"

const State = t.Union([
  t.Literal("starting"),
  t.Literal("running"),
  t.Literal("degraded"),
  t.Literal("stopping"),
  t.Literal("stopped"),
])

export function runtimeRoutes(gw: Gateway) {
  return new Elysia().group("/control/v1", (app) =>
    app
      .get(
        "/status",
        async () => ({
          ...gw.state(),
          version: VERSION,
          commit: COMMIT,
          pid: process.pid,
          gatewayId: gw.id,
          workspace: gw.config.workspaceDir,
          startedAt: gw.startedAt,
          uptimeMs: Date.now() - gw.startedAt,
          sessions: await gw.data.sessions.count(),
          store: {
            engine: gw.storage.engine,
            where: gw.storage.shown,
            gateways: (await gw.data.gateways.list()).map(({ id, host, pid, heartbeatAt }) => ({
              id,
              host,
              pid,
              heartbeatAt,
            })),
          },
          runningTurns: gw.sessions.activeCount(),
          queues: gw.sessions.queues(),
          lastEventId: gw.bus.lastId(),
          providers: gw.config.providers.profiles.map((profile) => ({
            id: profile.id,
            kind: profile.kind,
            available: gw.providers.has(profile.id),
          })),
          tools: gw.tools.list().map((tool) => tool.name),
          jobs: gw.jobs.counts(),
          plugins: gw.plugins.list().map(({ name, version, state, reason }) => ({ name, version, state, reason })),
          sandbox: await sandboxStatus(gw),
          mcp: gw.toolset.mcp
            .status()
            .map(({ server, state, tools, error }) => ({ server, state, tools: tools.length, error })),
        }),
        {
          response: {
            200: t.Object(
              {
                state: State,
                reasons: t.Array(t.String()),
                version: t.String(),
                commit: t.String(),
                pid: t.Number(),
                gatewayId: t.String({
                  description: "This gateway's id in the store: the owner of the turns it runs (docs/reliability.md)",
                }),
                workspace: t.String(),
                startedAt: t.Number(),
                uptimeMs: t.Number(),
                sessions: t.Number(),
                store: t.Object(
                  {
                    engine: t.Union([t.Literal("sqlite"), t.Literal("postgres")]),
                    where: t.String({ description: "The SQLite file, or the PostgreSQL URL without its password" }),
                    gateways: t.Array(
                      t.Object({ id: t.String(), host: t.String(), pid: t.Number(), heartbeatAt: t.Number() }),
                      { description: "The gateways registered on this store, this one included (docs/scale-out.md)" },
                    ),
                  },
                  { description: "The store this gateway runs on and its peers on it" },
                ),
                runningTurns: t.Number(),
                queues: t.Array(
                  t.Object({
                    sessionId: t.String(),
                    running: t.Union([t.String(), t.Null()], { description: "The running turn's id" }),
                    waiting: t.Number({ description: "Turns waiting behind it" }),
                    messages: t.Number({ description: "Messages waiting (a collected batch counts each)" }),
                  }),
                  { description: "Sessions with a running or waiting turn (orchestration, see docs/sessions.md)" },
                ),
                lastEventId: t.Number({ description: "Id of the newest bus event (use it as Last-Event-ID)" }),
                providers: t.Array(t.Object({ id: t.String(), kind: t.String(), available: t.Boolean() })),
                tools: t.Array(t.String()),
                jobs: JobCounts,
                plugins: t.Array(
                  t.Object({
                    name: t.String(),
                    version: t.String(),
                    state: t.Union([t.Literal("loaded"), t.Literal("failed")]),
                    reason: t.Union([t.String(), t.Null()]),
                  }),
                  { description: "The config's plugins and their state (GET /control/v1/plugins has what each adds)" },
                ),
                sandbox: t.Object(
                  {
                    kind: t.Union([t.Literal("bubblewrap"), t.Literal("seatbelt"), t.Literal("off"), t.Null()], {
                      description: "The OS sandbox in use; null: none works here, so the tools that need one are off",
                    }),
                    executable: t.Union([t.String(), t.Null()]),
                    reason: t.Union([t.String(), t.Null()], {
                      description: "Why there is none, or the warning for off",
                    }),
                    off: t.Array(t.String(), { description: "Tools that are off because no sandbox works" }),
                  },
                  { description: "What confines the shell, workspace tools, MCP stdio servers and gate commands" },
                ),
                mcp: t.Array(
                  t.Object({
                    server: t.String(),
                    state: t.Union(
                      [t.Literal("connecting"), t.Literal("connected"), t.Literal("waiting"), t.Literal("stopped")],
                      {
                        description:
                          "waiting: lost, reconnecting with backoff; stopped: off (e.g. no sandbox) or the gateway stops",
                      },
                    ),
                    tools: t.Number(),
                    error: t.Union([t.String(), t.Null()], { description: "Why it is not connected" }),
                  }),
                  { description: "Configured MCP servers and their health" },
                ),
              },
              { description: "The gateway at a glance" },
            ),
          },
          detail: {
            operationId: "getStatus",
            tags: ["runtime"],
            summary: "Runtime status",
            description:
              "State and its reasons, version, uptime, session and running-turn counts, the turn queues, providers, tools, the sandbox and MCP servers, and the newest event id (resume the event stream from it).",
          },
        },
      )
      .post(
        "/runtime/restart",
        async ({ body, set }) => {
          const config = await checkConfig(gw)
          const runningTurns = gw.sessions.activeCount()
          if (body?.dryRun) return { restarting: false, dryRun: true, config, runningTurns }
          if (!config.ok) {
            set.status = 409
            return { restarting: false, dryRun: false, config, runningTurns }
          }
          set.status = 202
          // Answer first; the restart drains turns, closes this server and starts again.
          setTimeout(() => gw.requestRestart("api"), 10)
          return { restarting: true, dryRun: false, config, runningTurns }
        },
        {
          body: t.Optional(
            t.Object(
              {
                dryRun: t.Optional(t.Boolean({ default: false, description: "Only check the config; do not restart" })),
              },
              { examples: [{ dryRun: true }] },
            ),
          ),
          response: {
            200: described(RestartResult, "dryRun: what a restart would load; nothing restarts"),
            202: described(RestartResult, "Restarting: this answer comes first, then the gateway restarts"),
            400: invalid,
            409: described(RestartResult, "Not restarting: the config on disk is invalid (`config.issues`)"),
          },
          detail: {
            operationId: "restartRuntime",
            tags: ["runtime"],
            summary: "Restart the gateway",
            description:
              "Checks the config on disk first and refuses (409) when it is invalid. Otherwise answers 202 at once; running turns finish (up to shutdown.graceMs), then the gateway stops and its supervisor (`drost start`, `drost service`) starts a new gateway process with the new config and code. Run without the supervisor (`DROST_SUPERVISED` unset, e.g. an embedded gateway), it starts again inside the same process. Clients see the port close and open again: reconnect the event stream with `Last-Event-ID`. `dryRun: true` only reports what a restart would load (200).",
          },
        },
      ),
  )
}

const RestartResult = t.Object({
  restarting: t.Boolean(),
  dryRun: t.Boolean(),
  config: t.Object({ ok: t.Boolean(), file: t.Union([t.String(), t.Null()]), issues: t.Array(t.String()) }),
  runningTurns: t.Number({ description: "Turns that will be allowed to finish first" }),
})

async function checkConfig(gw: Gateway): Promise<{ ok: boolean; file: string | null; issues: string[] }> {
  const file = gw.config.file
  try {
    await load({ root: file ? dirname(file) : gw.config.workspaceDir, file: file ?? undefined })
    return { ok: true, file, issues: [] }
  } catch (error) {
    return { ok: false, file, issues: error instanceof ConfigError ? error.lines : [message(error)] }
  }
}

async function sandboxStatus(gw: Gateway) {
  const status = await gw.toolset.confine.check()
  const off =
    status.kind === null
      ? gw.tools
          .list()
          .filter((tool) => tool.confined)
          .map((tool) => tool.name)
      : []
  return { kind: status.kind, executable: status.executable, reason: status.reason, off }
}
