// Generated from the configuration schema (src/core/config.ts) by configInputFile() in src/tool/sdk-source.ts;
// do not edit. test/tool/deno-check.test.ts fails when it is out of date and prints how to rewrite it.
// biome-ignore-all format: generated (the test compares it byte for byte with the generator)
/** What drost.config.ts may give (generated from the configuration schema; every key is validated at start). */
export type ConfigInput = {
  /** Relative to the config file's folder */
  workspaceDir?: string
  /** Default: <workspaceDir>/.drost */
  stateDir?: string
  providers?: {
    defaultSessionProvider?: string
    profiles?: Array<{
      /** Name used by /provider <id> and failover lists */
      id: string
      /** Wire protocol family of the profile */
      kind: "demo" | "openai" | "anthropic" | "openai-compatible" | "xai" | "plugin"
      /** plugin kind only: "<package>" (its first provider) or "<package>:<provider>" */
      plugin?: string
      model?: string
      baseUrl?: string
      /** Entry in .drost/auth-profiles.json */
      authProfile?: string
      /** Environment variable holding the key */
      apiKeyEnv?: string
      /** openai kind only */
      api?: "responses" | "chat"
      /** Output token limit per model call (anthropic: default by model, else 16384) */
      maxTokens?: number
      /** Hard cap on one model call, start to finish (default 600000: 10 minutes) */
      timeoutMs?: number
      /** Until response headers arrive (default 15000) */
      connectTimeoutMs?: number
      /** Until the first streamed event after the headers (default 120000) */
      firstTokenTimeoutMs?: number
      /** Longest silence between streamed events (default 60000) */
      idleTimeoutMs?: number
      prices?: {
        /** USD per million input tokens */
        input: number
        /** USD per million output tokens */
        output: number
        /** USD per million cached input tokens (default: input price) */
        cached?: number
      }
      /** demo kind only: pause between streamed chunks */
      delayMs?: number
    }>
    failover?: {
      enabled?: boolean
      /** Profile ids tried after the session's provider */
      fallbacks?: string[]
      /** Cooldown for failure classes without their own entry in cooldowns */
      cooldownMs?: number
      cooldowns?: {
        /** 401/403 (default 600000) */
        auth?: number
        /** 429 without retry-after (default cooldownMs); retry-after wins when present */
        rate_limit?: number
        /** 5xx (default 30000) */
        server?: number
        /** connect, first-token or idle timeout (default cooldownMs) */
        timeout?: number
        /** refused or reset before a response (default 30000) */
        network?: number
        /** broken or malformed stream (default 15000) */
        stream?: number
      }
      retry?: {
        /** Extra tries on the same provider after a 429, 5xx, connection failure or broken stream, before failing over (default 2; 0: none) */
        attempts?: number
        /** Backoff before the first retry (default 500); doubles each time, with jitter */
        baseMs?: number
        /** Longest wait before a retry, Retry-After included (default 10000); a longer Retry-After fails over (or fails) at once */
        maxDelayMs?: number
      }
    }
    /** Probe every profile at start; failures mark the gateway degraded */
    probeOnStart?: boolean
    /** Per-profile probe timeout (default 5000) */
    probeTimeoutMs?: number
  }
  agent?: {
    /** Tool calls allowed per turn */
    maxToolCalls?: number
    /** Model calls allowed per turn */
    maxSteps?: number
    toolTimeoutMs?: number
    /** Hard cap on one turn, model calls and tools together (default 1800000: 30 minutes); past it the turn fails and its session's lane is free */
    turnTimeoutMs?: number
    /** Characters of tool output sent to the model */
    toolOutputLimit?: number
  }
  prompts?: {
    system?: string
  }
  controlApi?: {
    enabled?: boolean
    host?: string
    /** 0 picks a free port */
    port?: number
    /** Host names (no scheme or port) the API answers besides loopback and the bound address; other Host headers get 421 (DNS rebinding) */
    allowedHosts?: string[]
    /** Admin token (read + mutate) */
    token?: string
    /** Read-only token */
    readToken?: string
    /** Also serve GET /metrics without a token on 127.0.0.1 at this port (any local process can read it; it holds no secrets) */
    metricsPort?: number
    /** Serve the OpenAI-compatible /v1: chat/completions, responses, models (same tokens) */
    openaiCompatible?: boolean
    /** How long a /v1 turn waits for the results of the client's own tool calls before it is aborted (default 10 minutes) */
    openaiToolWaitMs?: number
    /** Offer the gateway's own tools to MCP clients (/mcp, drost mcp serve) besides run_turn and the sessions, under the model's tool policy, sandbox and approvals */
    mcpTools?: boolean
    /** Larger request bodies get 413 */
    maxBodyBytes?: number
    /** Rate limit for POST/PATCH/DELETE per token; over it: 429 */
    mutationsPerMinute?: number
    /** An SSE client with more unsent bytes than this is cut off with event: overflow */
    sseMaxBacklogBytes?: number
    /** Unsent SSE bytes of all clients together; over it the slowest client is cut off first */
    sseMaxTotalBacklogBytes?: number
  }
  shutdown?: {
    graceMs?: number
  }
  store?: {
    /** How often a gateway writes its heartbeat and looks for turns of gateways that are gone; a gateway silent for 5× this counts as gone and its open turns are interrupted (every gateway on one database must use the same value) */
    heartbeatMs?: number
    /** The store's database: absent, SQLite at <stateDir>/drost.db (the default); postgres://user:password@host:port/database for PostgreSQL, shared by several gateways (docs/scale-out.md). DROST_STORE_URL overrides it */
    url?: string
  }
  logs?: {
    /** Rotate a log file at this size */
    maxBytes?: number
    /** Rotated files kept per log (x.jsonl.1 … .N) */
    keep?: number
  }
  tools?: {
    /** Folders the tools may read (relative to the workspace). The first is where relative paths start. */
    roots?: string[]
    /** Folders the tools may write and the shell may run in (relative to the workspace); [] makes the file tools read-only. */
    mutableRoots?: string[]
    /** More files or folders (relative to the workspace) that no tool may read or write, like the state folder and .env files always are */
    secrets?: string[]
    /** strict: no shell, no web, no git.commit; balanced: everything, shell guarded; permissive: shell path guard off */
    profile?: "strict" | "balanced" | "permissive"
    /** Only these tools (names, "family.*" or "*"); empty = all */
    allow?: string[]
    /** Never these tools (names, "family.*"); wins over allow */
    deny?: string[]
    /** Folder of workspace tools (relative to the workspace) */
    dir?: string
    /** Runtime of workspace tools inside the OS sandbox: "deno" runs each call in `deno run` with only the tool's declared permissions, "none" runs them under Bun. Either way they run in the OS sandbox (see `sandbox`) */
    sandbox?: "none" | "deno"
    /** Per tool (name or pattern such as "mcp-name.*"): what its sandbox gets beyond the default of no secrets and no network. Only the owner grants; a tool cannot grant itself */
    grants?: {
      [key: string]: {
        /** Environment variables passed into its sandbox */
        env?: string[]
        /** Network access from its sandbox */
        network?: boolean
      }
    }
    /** Tools whose calls wait for a person (names or patterns: "shell", "git.*", "evolve", "*") */
    approve?: string[]
    /** An approval not decided in this time is denied */
    approvalTimeoutMs?: number
    /** Path of the deno executable (default: deno on PATH or in the workspace's node_modules/.bin) */
    deno?: string
    shell?: {
      /** Command prefixes allowed (empty = any not denied) */
      allow?: string[]
      /** Command prefixes refused */
      deny?: string[]
      /** Environment variables passed to commands */
      env?: string[]
      timeoutMs?: number
      /** Bytes of output kept */
      outputLimit?: number
    }
    web?: {
      timeoutMs?: number
      maxBytes?: number
      /** Hosts web.fetch may reach although they are loopback, link-local or private: names, IP addresses or CIDR ranges, optionally with :port (localhost:5173, 192.168.1.0/24); every other non-public address is refused */
      allowHosts?: string[]
      search?: {
        /** searxng (self-hosted, no key), brave (Brave Search API) or tavily */
        backend: "searxng" | "brave" | "tavily"
        /** searxng: the instance's base URL (required); brave/tavily: another endpoint than the public API. Its host is reachable even when private */
        url?: string
        /** Auth profile holding the API key (default "<backend>:default") */
        authProfile?: string
        /** Variable read when no auth profile has the key (BRAVE_API_KEY, TAVILY_API_KEY) */
        apiKeyEnv?: string
        /** Most results per call (the model may ask for fewer) */
        limit?: number
      }
    }
    /** Author of git.commit */
    git?: {
      name?: string
      email?: string
    }
  }
  /** "auto": an OS sandbox (bubblewrap / sandbox-exec) around shell, workspace tools, MCP stdio servers and gate commands; "off": none (warned) */
  sandbox?: "auto" | "off"
  evolution?: {
    /** Offer the evolve tool and POST /control/v1/evolution */
    enabled?: boolean
    /** Files and folders (relative to the workspace) a transaction may change; never the state folder. The config file is mutable only when listed here by itself. */
    mutableRoots?: string[]
    validation?: {
      /** Run in the workspace after the built-in gates, e.g. ["bun test"]; any non-zero exit fails the change */
      commands?: Array<string | string[]>
      /** Per command; a command still running is killed (its whole process group) and fails the change */
      timeoutMs?: number
    }
    healthGate?: {
      /** After a restart into changed code: ready + /healthz + a canary turn within this time, else roll back */
      timeoutMs?: number
      /** Run one turn on the demo provider as part of the health gate */
      canary?: boolean
    }
    /** Restore the checkpoint when a gate or the health gate fails (false keeps the change for inspection) */
    rollbackOnFailure?: boolean
  }
  supervisor?: {
    /** Crashes within windowMs after which the supervisor gives up */
    maxCrashes?: number
    windowMs?: number
    /** First restart delay after a crash; doubles per crash in the window */
    backoffMs?: number
    maxBackoffMs?: number
  }
  mcp?: {
    /** Name → server; its tools are registered as <name>.<tool> */
    servers?: {
      [key: string]: {
        /** Executable; "bun" means the runtime itself (works in the compiled binary) */
        command: string
        /** Arguments (default: none) */
        args?: string[]
        /** The child's whole environment besides PATH (HOME is inside its sandbox); ours is never passed */
        env?: {
          [key: string]: string
        }
        /** Working folder (relative to the workspace) */
        cwd?: string
        /** Network access from the server's sandbox (default: off) */
        network?: boolean
      } | {
        /** Streamable HTTP endpoint */
        url: string
        headers?: {
          [key: string]: string
        }
      }
    }
  }
  context?: {
    /** Workspace files added to the system prompt after prompts/system.md, in this order (missing ones are skipped) */
    personaFiles?: string[]
    /** Budget for prompts/system.md (estimated tokens) */
    systemTokens?: number
    /** Budget for all persona files together */
    personaTokens?: number
    /** Budget for runtime facts (date, time zone, workspace, tools) */
    factsTokens?: number
    /** Budget for the memory capsule (recent daily notes) */
    memoryTokens?: number
    /** Context window assumed for every provider (estimated tokens) */
    windowTokens?: number
    /** Kept free in the window for the model's answer */
    reserveTokens?: number
    /** Newest history kept verbatim when older turns are summarised */
    keepRecentTokens?: number
    /** Length asked of a summary */
    summaryTokens?: number
    /** IANA zone for runtime facts and daily notes (default: the system's) */
    timeZone?: string
  }
  memory?: {
    /** Folder of Markdown notes, relative to the workspace */
    dir?: string
    /** Full rescan interval behind the file watcher (0: never) */
    rescanSeconds?: number
  }
  orchestration?: {
    /** queue: run after the current turn; interrupt: abort it and run now; collect: batch messages after a debounce */
    mode?: "queue" | "interrupt" | "collect"
    /** collect: quiet time before the batch runs */
    debounceMs?: number
    /** Waiting turns per session */
    maxQueue?: number
    /** When the queue is full: drop the oldest waiting turn, drop the new message, or refuse it with an error */
    drop?: "oldest" | "newest" | "reject"
    /** Per-channel overrides keyed by channel name (telegram, api, terminal, schedule) */
    channels?: {
      [key: string]: {
        /** queue: run after the current turn; interrupt: abort it and run now; collect: batch messages after a debounce */
        mode?: "queue" | "interrupt" | "collect"
        /** collect: quiet time before the batch runs */
        debounceMs?: number
        /** Waiting turns per session */
        maxQueue?: number
        /** When the queue is full: drop the oldest waiting turn, drop the new message, or refuse it with an error */
        drop?: "oldest" | "newest" | "reject"
      }
    }
  }
  /** Turns run on time (see docs/sessions.md) */
  schedules?: Array<{
    id: string
    /** minute hour day-of-month month day-of-week (names like MON-FRI and JAN work; an optional leading seconds field; or @daily, @weekly, @monthly, @yearly, @hourly) */
    cron?: string
    /** Interval such as 30m, 1h, 1d */
    every?: string
    /** Once, at this time: ISO 8601 like 2026-12-02T09:00 (read in timeZone) or with an offset (2026-12-02T09:00+01:00) */
    at?: string
    /** IANA zone for cron and at (default: the top-level timeZone, else the system's) */
    timeZone?: string
    /** Run in this session id (default: one session per schedule, reused) */
    session?: string
    /** Run every time in a fresh session */
    new?: boolean
    prompt: string
    deliver?: {
      channel: string
      chat: string | number
    }
    /** After downtime: skip missed runs, or run once at start (default once) */
    missed?: "skip" | "once"
    enabled?: boolean
  }>
  /** The owner's IANA time zone (Europe/Berlin): reminders, cron schedules, heartbeat hours, and context.timeZone's default (default: the system's) */
  timeZone?: string
  heartbeat?: {
    /** Run the heartbeat turn */
    enabled?: boolean
    /** How often (30m, 1h, …) */
    every?: string
    /** Only between these times (default: all day) */
    activeHours?: {
      /** HH:MM in the owner's time zone, e.g. 08:00 */
      start: string
      /** HH:MM; before start means overnight (22:00–06:00) */
      end: string
    }
    /** The checklist in the workspace; missing or empty: no turn */
    file?: string
    /** What the model answers when there is nothing to report; that answer is not delivered */
    ok?: string
    /** Where answers go (default: the chat of the most recently active Telegram session) */
    deliver?: {
      channel: string
      chat: string | number
    }
    /** Provider profile of the heartbeat session (default: the default) */
    provider?: string
    /** Model calls allowed per heartbeat turn */
    maxSteps?: number
    /** Tool calls allowed per heartbeat turn */
    maxToolCalls?: number
  }
  retention?: {
    /** Sessions idle longer than this */
    maxAgeDays?: number
    /** Keep only the newest N sessions */
    maxSessions?: number
    /** Keep the newest sessions whose messages fit in this many bytes */
    maxBytes?: number
    /** archive writes JSON under .drost/archive first */
    action?: "archive" | "delete"
    /** Apply automatically this often (0: only by command) */
    intervalMinutes?: number
  }
  /** Chat front ends (see docs/channels.md) */
  channels?: Array<{
    kind: "telegram"
    /** Bot token from @BotFather (prefer tokenEnv or authProfile: config files get shared) */
    token?: string
    /** Environment variable holding the token (default TELEGRAM_BOT_TOKEN) */
    tokenEnv?: string
    /** Entry in .drost/auth-profiles.json whose `token` is the bot token */
    authProfile?: string
    /** Telegram user ids that reach the agent */
    allowedUsers?: number[]
    /** Unknown users get a one-time code the owner approves with `drost telegram approve <code>` */
    pairing?: boolean
    groups?: {
      /** Answer in group chats at all (off by default) */
      enabled?: boolean
      /** Group chat ids (negative numbers) the bot may answer in */
      allowed?: number[]
      /** "allowed": only allowed users are answered in a group; "all": any member of an allowed group */
      members?: "allowed" | "all"
    }
    /** Bot API server (default https://api.telegram.org) */
    apiRoot?: string
    /** Long-poll timeout of getUpdates */
    pollTimeoutSec?: number
    /** A getUpdates open this much longer than its timeout is restarted */
    stallMs?: number
    /** Minimum gap between edits of a streamed reply, per chat */
    editIntervalMs?: number
    /** How long to wait for the rest of an album before its turn starts */
    albumWaitMs?: number
  } | {
    kind: "discord"
    /** Bot token from the Developer Portal (prefer tokenEnv or authProfile: config files get shared) */
    token?: string
    /** Environment variable holding the token (default DISCORD_BOT_TOKEN) */
    tokenEnv?: string
    /** Entry in .drost/auth-profiles.json whose `token` is the bot token */
    authProfile?: string
    /** Discord user ids that reach the agent */
    allowedUsers?: string[]
    /** Unknown users who DM the bot get a one-time code the owner approves */
    pairing?: boolean
    /** Guilds (servers) where the bot answers when mentioned; none by default (DMs only) */
    guilds?: Array<{
      /** A Discord id (Developer Mode → Copy ID) */
      id: string
      /** Channels of the guild the bot answers in (threads follow their channel); empty: all of them */
      channels?: string[]
      /** "allowed": only allowed users are answered in the guild; "all": any member */
      members?: "allowed" | "all"
    }>
    /** REST API base (default https://discord.com/api) */
    apiRoot?: string
    /** Minimum gap between edits of a streamed reply, per channel */
    editIntervalMs?: number
    /** Register Drost's commands as slash commands at start */
    commands?: boolean
  } | {
    kind: "slack"
    /** App-level token (xapp-…) for Socket Mode; prefer appTokenEnv */
    appToken?: string
    /** Environment variable with the app token (default SLACK_APP_TOKEN) */
    appTokenEnv?: string
    /** Bot token (xoxb-…) for the Web API; prefer botTokenEnv */
    botToken?: string
    /** Environment variable with the bot token (default SLACK_BOT_TOKEN) */
    botTokenEnv?: string
    /** Entry in .drost/auth-profiles.json with `appToken` and `botToken` */
    authProfile?: string
    /** Slack user ids (U…) that reach the agent (profile → ⋮ → Copy member ID) */
    allowedUsers?: string[]
    /** Strangers who DM the app get a one-time code the owner approves with `drost slack approve <code>` */
    pairing?: boolean
    channels?: {
      /** Answer @mentions in channels at all (off by default) */
      enabled?: boolean
      /** Channel ids (C…) the bot may answer in (channel details → About → Channel ID) */
      allowed?: string[]
      /** "allowed": only allowed users are answered in a channel; "all": any member of an allowed channel */
      members?: "allowed" | "all"
    }
    /** Web API root (default https://slack.com/api/) */
    apiUrl?: string
    /** Least gap between two posts or updates of one conversation (Slack allows about one a second) */
    editIntervalMs?: number
    /** Socket Mode: the ping timeout, and the wait before reconnecting */
    reconnectMs?: number
  } | {
    /** The name of a listed plugin's channel; the other keys are its settings (the plugin's schema) */
    kind: string
    [key: string]: unknown
  }>
  voice?: {
    transcribe?: {
      /** A provider profile id of kind "openai" or "openai-compatible" */
      profile: string
      /** Transcription model, e.g. gpt-transcribe or whisper-1 */
      model: string
      /** ISO-639-1 code of the spoken language, when known */
      language?: string
      /** Hint text: names and words the audio is likely to contain */
      prompt?: string
      /** Longer voice messages are refused before anything is downloaded */
      maxDurationSec?: number
      /** Larger audio files are refused before anything is downloaded */
      maxBytes?: number
      /** One transcription request, at most */
      timeoutMs?: number
    }
    speak?: {
      /** A provider profile id of kind "openai" or "openai-compatible" */
      profile: string
      /** Text-to-speech model, e.g. gpt-4o-mini-tts */
      model: string
      /** A voice the server offers, e.g. alloy */
      voice: string
      /** voice: a spoken reply to a voice message; always: to every message; never: text only */
      when?: "voice" | "always" | "never"
      /** Audio format asked for (Telegram plays OGG/Opus and MP3 as voice messages) */
      format?: "opus" | "mp3"
      /** How to speak (tone, pace), for models that take it */
      instructions?: string
      /** Longer answers stay text only (OpenAI's limit is 4,096 characters) */
      maxChars?: number
      /** One speech request, at most */
      timeoutMs?: number
    }
  }
  jobs?: {
    /** Background jobs (subagents and shell processes) one session may have running at once */
    maxPerSession?: number
    /** Background jobs running at once across all sessions */
    maxTotal?: number
    /** A subagent's deadline (default 1800000: 30 minutes), and the most agent.spawn's deadlineMs may ask for */
    agentTimeoutMs?: number
    /** A subagent's tool-call budget, and the most agent.spawn's maxToolCalls may ask for */
    agentMaxToolCalls?: number
    /** A background shell process is killed after this long (default 3600000: one hour) */
    shellTimeoutMs?: number
    /** Bytes of a background shell process's output kept in its output file; the rest is counted */
    outputBytes?: number
  }
  skills?: {
    /** More folders holding skills (<folder>/<name>/SKILL.md), relative to the workspace; skills/ is always read */
    paths?: string[]
    /** Skill names that are off: not in the prompt, refused by skill.load */
    disabled?: string[]
    /** Characters of the system prompt the list of skills (name and description each) may use */
    promptBudgetChars?: number
  }
  /** Packages in the workspace's node_modules to load as plugins (their code runs in the gateway; their tools in the tool sandbox) */
  plugins?: string[]
  /** Each plugin's settings by package name, checked with the plugin's own schema when it loads */
  pluginConfig?: {
    [key: string]: unknown
  }
  backup?: {
    /** Write a backup at this interval while the gateway runs (1d, 12h, …); absent: no scheduled backups */
    every?: string
    /** Scheduled backups kept in dir; the oldest beyond this are deleted */
    keep?: number
    /** Where scheduled backups go, relative to the workspace (default: <stateDir>/backups) */
    dir?: string
    /** Include auth-profiles.json, the control token and .env in scheduled backups (written 0600) */
    withSecrets?: boolean
  }
  update?: {
    /** Release folder drost update downloads from (SHA256SUMS, VERSION, drost-<os>-<arch>), e.g. https://github.com/<owner>/<repo>/releases/latest/download/ */
    baseUrl?: string
  }
  budgets?: {
    /** USD one session may spend in total (all its turns) */
    perSession?: number
    /** USD all sessions together may spend per calendar day (in timeZone, or the system's) */
    perDay?: number
    /** USD all sessions together may spend per calendar month */
    perMonth?: number
    /** "refuse": a turn over a limit fails with the reason, shown in the channel; "approve": it waits for a person to allow it (as an approval of the pseudo-tool "budget", tools.approvalTimeoutMs), and is refused when denied or nobody decides */
    action?: "refuse" | "approve"
  }
  telemetry?: {
    /** OTLP/HTTP base URL of the collector, e.g. http://127.0.0.1:4318 (traces go to <base>/v1/traces, JSON) */
    otlpEndpoint: string
    /** Extra request headers (an API key of a hosted collector; prefer a local collector) */
    headers?: {
      [key: string]: string
    }
    /** service.name of the traces */
    serviceName?: string
  }
}
