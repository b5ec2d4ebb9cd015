/**
 * The configuration schema: one TypeBox object per section, with defaults. No loading here (that is
 * gateway/load.ts); this file is the vocabulary both the loader and `defineConfig` share.
 *
 * Every object is closed (`additionalProperties: false`): a misspelt key is an error, not a silent no-op.
 */

import { Budgets } from "./budgets-config.ts"
import { type ChannelConfig, Channels, type PluginChannelConfig } from "./channel-config.ts"
import { Context, Heartbeat, Memory, Orchestration, Retention, Schedule } from "./continuity-config.ts"
import { Evolution, Supervisor } from "./evolution-config.ts"
import { Jobs } from "./jobs-config.ts"
import { Backup, Update } from "./ops-config.ts"
import { PluginConfig, Plugins } from "./plugins-config.ts"
import { type Static, type TObject, Type } from "./schema.ts"
import { Skills } from "./skills-config.ts"
import { Telemetry } from "./telemetry-config.ts"
import { McpConfig, SandboxMode, ToolsConfig } from "./tools-config.ts"
import { Voice, type VoiceConfig } from "./voice-config.ts"

const closed = { additionalProperties: false } as const

/** A section as the user writes it: every key optional, unknown keys rejected, defaults filled in. */
function section<T extends TObject>(schema: T) {
  return Type.Optional(Type.Partial(schema, { ...closed, default: {} }))
}

export const ProviderKind = Type.Union(
  [
    Type.Literal("demo"),
    Type.Literal("openai"),
    Type.Literal("anthropic"),
    Type.Literal("openai-compatible"),
    Type.Literal("xai"),
  ],
  { description: "Wire protocol family of the profile" },
)
export type ProviderKind = Static<typeof ProviderKind>

export const Profile = Type.Object(
  {
    id: Type.String({
      minLength: 1,
      pattern: "^[A-Za-z0-9_.:-]+$",
      description: "Name used by /provider <id> and failover lists",
    }),
    // "plugin": served by a plugin's provider (docs/plugins.md); ProviderKind stays the built-in ones.
    kind: Type.Union([...ProviderKind.anyOf, Type.Literal("plugin")], { description: ProviderKind.description }),
    plugin: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'plugin kind only: "<package>" (its first provider) or "<package>:<provider>"',
      }),
    ),
    model: Type.Optional(Type.String({ minLength: 1 })),
    baseUrl: Type.Optional(Type.String({ minLength: 1 })),
    authProfile: Type.Optional(Type.String({ description: "Entry in .drost/auth-profiles.json" })),
    apiKeyEnv: Type.Optional(Type.String({ description: "Environment variable holding the key" })),
    api: Type.Optional(
      Type.Union([Type.Literal("responses"), Type.Literal("chat")], { description: "openai kind only" }),
    ),
    maxTokens: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: "Output token limit per model call (anthropic: default by model, else 16384)",
      }),
    ),
    timeoutMs: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: "Hard cap on one model call, start to finish (default 600000: 10 minutes)",
      }),
    ),
    connectTimeoutMs: Type.Optional(
      Type.Integer({ minimum: 1, description: "Until response headers arrive (default 15000)" }),
    ),
    firstTokenTimeoutMs: Type.Optional(
      Type.Integer({ minimum: 1, description: "Until the first streamed event after the headers (default 120000)" }),
    ),
    idleTimeoutMs: Type.Optional(
      Type.Integer({ minimum: 1, description: "Longest silence between streamed events (default 60000)" }),
    ),
    prices: Type.Optional(
      Type.Object(
        {
          input: Type.Number({ minimum: 0, description: "USD per million input tokens" }),
          output: Type.Number({ minimum: 0, description: "USD per million output tokens" }),
          cached: Type.Optional(
            Type.Number({ minimum: 0, description: "USD per million cached input tokens (default: input price)" }),
          ),
        },
        closed,
      ),
    ),
    delayMs: Type.Optional(Type.Integer({ minimum: 0, description: "demo kind only: pause between streamed chunks" })),
  },
  closed,
)
export type Profile = Static<typeof Profile>

export const Failover = Type.Object(
  {
    enabled: Type.Boolean({ default: true }),
    fallbacks: Type.Array(Type.String(), {
      default: [],
      description: "Profile ids tried after the session's provider",
    }),
    cooldownMs: Type.Integer({
      minimum: 0,
      default: 60_000,
      description: "Cooldown for failure classes without their own entry in cooldowns",
    }),
    cooldowns: Type.Optional(
      Type.Partial(
        Type.Object({
          auth: Type.Integer({ minimum: 0, description: "401/403 (default 600000)" }),
          rate_limit: Type.Integer({
            minimum: 0,
            description: "429 without retry-after (default cooldownMs); retry-after wins when present",
          }),
          server: Type.Integer({ minimum: 0, description: "5xx (default 30000)" }),
          timeout: Type.Integer({
            minimum: 0,
            description: "connect, first-token or idle timeout (default cooldownMs)",
          }),
          network: Type.Integer({ minimum: 0, description: "refused or reset before a response (default 30000)" }),
          stream: Type.Integer({ minimum: 0, description: "broken or malformed stream (default 15000)" }),
        }),
        closed,
      ),
    ),
    retry: Type.Optional(
      Type.Partial(
        Type.Object({
          attempts: Type.Integer({
            minimum: 0,
            maximum: 10,
            description:
              "Extra tries on the same provider after a 429, 5xx, connection failure or broken stream, before failing over (default 2; 0: none)",
          }),
          baseMs: Type.Integer({
            minimum: 0,
            description: "Backoff before the first retry (default 500); doubles each time, with jitter",
          }),
          maxDelayMs: Type.Integer({
            minimum: 0,
            description:
              "Longest wait before a retry, Retry-After included (default 10000); a longer Retry-After fails over (or fails) at once",
          }),
        }),
        closed,
      ),
    ),
  },
  closed,
)

export type FailoverConfig = Static<typeof Failover>

export const Agent = Type.Object(
  {
    maxToolCalls: Type.Integer({ minimum: 1, default: 50, description: "Tool calls allowed per turn" }),
    maxSteps: Type.Integer({ minimum: 1, default: 24, description: "Model calls allowed per turn" }),
    toolTimeoutMs: Type.Integer({ minimum: 1, default: 60_000 }),
    turnTimeoutMs: Type.Integer({
      minimum: 1,
      default: 1_800_000,
      description:
        "Hard cap on one turn, model calls and tools together (default 1800000: 30 minutes); past it the turn fails and its session's lane is free",
    }),
    toolOutputLimit: Type.Integer({
      minimum: 256,
      default: 32_000,
      description: "Characters of tool output sent to the model",
    }),
  },
  closed,
)

export const ControlApi = Type.Object(
  {
    enabled: Type.Boolean({ default: true }),
    host: Type.String({ default: "127.0.0.1" }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 7420, description: "0 picks a free port" }),
    allowedHosts: Type.Optional(
      Type.Array(Type.String({ pattern: "^(\\[[0-9A-Fa-f:.]+\\]|[0-9A-Fa-f:.]+|[A-Za-z0-9_.-]+)$" }), {
        description:
          "Host names (no scheme or port) the API answers besides loopback and the bound address; other Host headers get 421 (DNS rebinding)",
      }),
    ),
    token: Type.Optional(Type.String({ minLength: 16, description: "Admin token (read + mutate)" })),
    readToken: Type.Optional(Type.String({ minLength: 16, description: "Read-only token" })),
    metricsPort: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 65535,
        description:
          "Also serve GET /metrics without a token on 127.0.0.1 at this port (any local process can read it; it holds no secrets)",
      }),
    ),
    openaiCompatible: Type.Boolean({
      default: false,
      description: "Serve the OpenAI-compatible /v1: chat/completions, responses, models (same tokens)",
    }),
    openaiToolWaitMs: Type.Integer({
      minimum: 100,
      default: 600_000,
      description:
        "How long a /v1 turn waits for the results of the client's own tool calls before it is aborted (default 10 minutes)",
    }),
    mcpTools: Type.Boolean({
      default: false,
      description:
        "Offer the gateway's own tools to MCP clients (/mcp, drost mcp serve) besides run_turn and the sessions, under the model's tool policy, sandbox and approvals",
    }),
    maxBodyBytes: Type.Integer({
      minimum: 1024,
      default: 8 * 1024 * 1024,
      description: "Larger request bodies get 413",
    }),
    mutationsPerMinute: Type.Integer({
      minimum: 1,
      default: 600,
      description: "Rate limit for POST/PATCH/DELETE per token; over it: 429",
    }),
    sseMaxBacklogBytes: Type.Optional(
      Type.Integer({
        minimum: 16 * 1024,
        default: 1024 * 1024,
        description: "An SSE client with more unsent bytes than this is cut off with event: overflow",
      }),
    ),
    sseMaxTotalBacklogBytes: Type.Optional(
      Type.Integer({
        minimum: 64 * 1024,
        default: 16 * 1024 * 1024,
        description: "Unsent SSE bytes of all clients together; over it the slowest client is cut off first",
      }),
    ),
  },
  closed,
)

/** The JSONL streams under .drost/logs/ (bus/sink.ts), rotated by size. */
export const Logs = Type.Object(
  {
    maxBytes: Type.Integer({ minimum: 4096, default: 10 * 1024 * 1024, description: "Rotate a log file at this size" }),
    keep: Type.Integer({ minimum: 0, default: 5, description: "Rotated files kept per log (x.jsonl.1 … .N)" }),
  },
  closed,
)

export const Shutdown = Type.Object({ graceMs: Type.Integer({ minimum: 0, default: 10_000 }) }, closed)

/** The store shared by the gateways on one database (src/store/gateways.ts). */
export const Store = Type.Object(
  {
    heartbeatMs: Type.Integer({
      minimum: 100,
      default: 2000,
      description:
        "How often a gateway writes its heartbeat and looks for turns of gateways that are gone; a gateway silent for 5× this counts as gone and its open turns are interrupted (every gateway on one database must use the same value)",
    }),
    url: Type.Optional(
      Type.String({
        description:
          "The store's database: absent, SQLite at <stateDir>/drost.db (the default); postgres://user:password@host:port/database for PostgreSQL, shared by several gateways (docs/scale-out.md). DROST_STORE_URL overrides it",
      }),
    ),
  },
  closed,
)

export const Prompts = Type.Object({ system: Type.String({ default: "prompts/system.md" }) }, closed)

export const ConfigSchema = Type.Object(
  {
    workspaceDir: Type.Optional(Type.String({ default: ".", description: "Relative to the config file's folder" })),
    stateDir: Type.Optional(Type.String({ description: "Default: <workspaceDir>/.drost" })),
    providers: Type.Optional(
      Type.Object(
        {
          defaultSessionProvider: Type.Optional(Type.String()),
          profiles: Type.Optional(Type.Array(Profile, { default: [{ id: "demo", kind: "demo" }] })),
          failover: section(Failover),
          probeOnStart: Type.Optional(
            Type.Boolean({ description: "Probe every profile at start; failures mark the gateway degraded" }),
          ),
          probeTimeoutMs: Type.Optional(
            Type.Integer({ minimum: 1, description: "Per-profile probe timeout (default 5000)" }),
          ),
        },
        { ...closed, default: {} },
      ),
    ),
    agent: section(Agent),
    prompts: section(Prompts),
    controlApi: section(ControlApi),
    shutdown: section(Shutdown),
    store: section(Store),
    logs: section(Logs),
    tools: Type.Optional(ToolsConfig),
    sandbox: Type.Optional(SandboxMode),
    evolution: Type.Optional(Evolution),
    supervisor: Type.Optional(Supervisor),
    mcp: Type.Optional(McpConfig),
    context: section(Context),
    memory: section(Memory),
    orchestration: section(Orchestration),
    schedules: Type.Optional(
      Type.Array(Schedule, { default: [], description: "Turns run on time (see docs/sessions.md)" }),
    ),
    timeZone: Type.Optional(
      Type.String({
        description:
          "The owner's IANA time zone (Europe/Berlin): reminders, cron schedules, heartbeat hours, and context.timeZone's default (default: the system's)",
      }),
    ),
    heartbeat: section(Heartbeat),
    retention: section(Retention),
    channels: Channels,
    voice: Type.Optional(Voice),
    jobs: section(Jobs),
    skills: section(Skills),
    plugins: Type.Optional(Plugins),
    pluginConfig: Type.Optional(PluginConfig),
    backup: section(Backup),
    update: section(Update),
    budgets: Type.Optional(Budgets),
    telemetry: Type.Optional(Telemetry),
  },
  closed,
)

/** What a user writes (every key optional). */
export type ConfigInput = Static<typeof ConfigSchema>

/** The validated, defaulted, path-resolved configuration the runtime runs on. */
export interface Config {
  /** The file it came from, or null when running on defaults. */
  file: string | null
  workspaceDir: string
  stateDir: string
  providers: {
    defaultSessionProvider: string
    profiles: Profile[]
    failover: Static<typeof Failover>
    /** Absent in configs built before probes existed: treat as false / 5000. */
    probeOnStart?: boolean
    probeTimeoutMs?: number
  }
  agent: Static<typeof Agent>
  prompts: { system: string }
  controlApi: Static<typeof ControlApi>
  shutdown: Static<typeof Shutdown>
  /** Absent in configs built by hand in tests: heartbeatMs 2000. */
  store?: Static<typeof Store>
  /** Absent in configs built by hand in tests: 10 MB, keep 5. */
  logs?: Static<typeof Logs>
  /** Absent in configs built by hand in tests: the defaults apply. */
  tools?: ToolsConfig
  /** The OS sandbox mode; absent in configs built by hand in tests: "auto". */
  sandbox?: SandboxMode
  mcp?: McpConfig
  /** Absent in configs built by hand in tests: treat as the defaults (evolution.ts `settings`). */
  evolution?: Evolution
  supervisor?: Supervisor
  context: Static<typeof Context>
  /** `dir` resolved against the workspace. */
  memory: Static<typeof Memory>
  orchestration: Static<typeof Orchestration>
  schedules: Schedule[]
  /** The owner's IANA time zone; absent: the system's. */
  timeZone?: string
  /** Absent in configs built by hand in tests: off. */
  heartbeat?: Static<typeof Heartbeat>
  retention: Static<typeof Retention>
  /** Chat front ends (Telegram); absent in configs built by hand in tests: treat as []. */
  channels?: ChannelConfig[]
  /** The `channels` entries of plugins' channels (their settings are the plugin's to check); absent: none. */
  pluginChannels?: PluginChannelConfig[]
  /** Voice messages: transcription and spoken replies (docs/assistant.md); absent: voice is off. */
  voice?: VoiceConfig
  /** Background work limits (agent.spawn, shell background); absent in configs built by hand in tests: the defaults. */
  jobs?: Static<typeof Jobs>
  /** Agent Skills (docs/skills.md); absent in configs built by hand in tests: the defaults. */
  skills?: Static<typeof Skills>
  /** Plugin packages to load (docs/plugins.md); absent in configs built by hand in tests: none. */
  plugins?: string[]
  /** Each plugin's settings by package name, checked by the plugin's own schema when it loads. */
  pluginConfig?: Record<string, unknown>
  /** Scheduled backups (docs/operations.md); absent in configs built by hand in tests: none. */
  backup?: Static<typeof Backup>
  /** Where drost update finds releases; absent: DROST_UPDATE_URL or --base-url. */
  update?: Static<typeof Update>
  /** Spending limits per session, day and month (docs/operations.md); absent: none. */
  budgets?: Budgets
  /** OpenTelemetry traces of turns over OTLP/HTTP (docs/operations.md); absent: none. */
  telemetry?: Telemetry
}
