/**
 * The `tools` and `mcp` sections of the configuration (see docs/tools.md). Kept beside config.ts so the
 * tool vocabulary reads in one place; config.ts mounts them.
 */
import { type Static, Type } from "./schema.ts"

const closed = { additionalProperties: false } as const

/** HOME and TMPDIR are not among them: every sandboxed process gets its own, inside the sandbox. */
export const DEFAULT_SHELL_ENV = ["PATH", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TERM", "TZ"]
export const DEFAULT_SHELL_DENY = [
  "sudo",
  "su",
  "doas",
  "shutdown",
  "reboot",
  "halt",
  "poweroff",
  "mkfs",
  "dd",
  "chown",
  "passwd",
  "crontab",
  "ssh",
  "scp",
]

/** What the owner grants one tool's (or MCP server's) sandbox; the default is nothing. */
export const ToolGrant = Type.Object(
  {
    env: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description: "Environment variables passed into its sandbox",
    }),
    network: Type.Boolean({ default: false, description: "Network access from its sandbox" }),
  },
  closed,
)
export type ToolGrant = Static<typeof ToolGrant>

/**
 * The OS sandbox around everything the model can make run (shell, workspace tools, Deno, MCP stdio
 * servers, evolution's gate commands). "auto": bubblewrap on Linux, sandbox-exec on macOS, and the
 * tools that need one are off where neither works. "off": run them unconfined (the owner's choice,
 * shown as a warning by doctor and the start banner).
 */
export const SandboxMode = Type.Union([Type.Literal("auto"), Type.Literal("off")], {
  default: "auto",
  description:
    '"auto": an OS sandbox (bubblewrap / sandbox-exec) around shell, workspace tools, MCP stdio servers and gate commands; "off": none (warned)',
})
export type SandboxMode = Static<typeof SandboxMode>

/** `tools.web.search`: the backend of the web.search tool (absent: no web.search). See docs/assistant.md. */
export const WebSearchConfig = Type.Object(
  {
    backend: Type.Union([Type.Literal("searxng"), Type.Literal("brave"), Type.Literal("tavily")], {
      description: "searxng (self-hosted, no key), brave (Brave Search API) or tavily",
    }),
    url: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "searxng: the instance's base URL (required); brave/tavily: another endpoint than the public API. Its host is reachable even when private",
      }),
    ),
    authProfile: Type.Optional(
      Type.String({ minLength: 1, description: 'Auth profile holding the API key (default "<backend>:default")' }),
    ),
    apiKeyEnv: Type.Optional(
      Type.String({
        minLength: 1,
        description: "Variable read when no auth profile has the key (BRAVE_API_KEY, TAVILY_API_KEY)",
      }),
    ),
    limit: Type.Integer({
      minimum: 1,
      maximum: 20,
      default: 5,
      description: "Most results per call (the model may ask for fewer)",
    }),
  },
  closed,
)
export type WebSearchConfig = Static<typeof WebSearchConfig>

export const ToolsConfig = Type.Object(
  {
    roots: Type.Array(Type.String({ minLength: 1 }), {
      default: ["."],
      description: "Folders the tools may read (relative to the workspace). The first is where relative paths start.",
    }),
    mutableRoots: Type.Array(Type.String({ minLength: 1 }), {
      default: ["."],
      description:
        "Folders the tools may write and the shell may run in (relative to the workspace); [] makes the file tools read-only.",
    }),
    secrets: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description:
        "More files or folders (relative to the workspace) that no tool may read or write, like the state folder and .env files always are",
    }),
    profile: Type.Union([Type.Literal("strict"), Type.Literal("balanced"), Type.Literal("permissive")], {
      default: "balanced",
      description:
        "strict: no shell, no web, no git.commit; balanced: everything, shell guarded; permissive: shell path guard off",
    }),
    allow: Type.Array(Type.String(), {
      default: [],
      description: 'Only these tools (names, "family.*" or "*"); empty = all',
    }),
    deny: Type.Array(Type.String(), {
      default: [],
      description: 'Never these tools (names, "family.*"); wins over allow',
    }),
    dir: Type.String({ default: "tools", description: "Folder of workspace tools (relative to the workspace)" }),
    sandbox: Type.Union([Type.Literal("none"), Type.Literal("deno")], {
      default: "none",
      description:
        'Runtime of workspace tools inside the OS sandbox: "deno" runs each call in `deno run` with only the tool\'s declared permissions, "none" runs them under Bun. Either way they run in the OS sandbox (see `sandbox`)',
    }),
    grants: Type.Record(Type.String({ minLength: 1 }), ToolGrant, {
      default: {},
      description:
        'Per tool (name or pattern such as "mcp-name.*"): what its sandbox gets beyond the default of no secrets and no network. Only the owner grants; a tool cannot grant itself',
    }),
    approve: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description: 'Tools whose calls wait for a person (names or patterns: "shell", "git.*", "evolve", "*")',
    }),
    approvalTimeoutMs: Type.Integer({
      minimum: 1000,
      default: 600_000,
      description: "An approval not decided in this time is denied",
    }),
    deno: Type.Optional(
      Type.String({
        description: "Path of the deno executable (default: deno on PATH or in the workspace's node_modules/.bin)",
      }),
    ),
    shell: Type.Object(
      {
        allow: Type.Array(Type.String(), {
          default: [],
          description: "Command prefixes allowed (empty = any not denied)",
        }),
        deny: Type.Array(Type.String(), { default: DEFAULT_SHELL_DENY, description: "Command prefixes refused" }),
        env: Type.Array(Type.String(), {
          default: DEFAULT_SHELL_ENV,
          description: "Environment variables passed to commands",
        }),
        timeoutMs: Type.Integer({ minimum: 100, default: 30_000 }),
        outputLimit: Type.Integer({ minimum: 256, default: 64_000, description: "Bytes of output kept" }),
      },
      { ...closed, default: {} },
    ),
    web: Type.Object(
      {
        timeoutMs: Type.Integer({ minimum: 100, default: 15_000 }),
        maxBytes: Type.Integer({ minimum: 1024, default: 2_000_000 }),
        allowHosts: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description:
            "Hosts web.fetch may reach although they are loopback, link-local or private: names, IP addresses or CIDR ranges, optionally with :port (localhost:5173, 192.168.1.0/24); every other non-public address is refused",
        }),
        search: Type.Optional(WebSearchConfig),
      },
      { ...closed, default: {} },
    ),
    git: Type.Object(
      { name: Type.String({ default: "drost" }), email: Type.String({ default: "drost@localhost" }) },
      { ...closed, default: {}, description: "Author of git.commit" },
    ),
  },
  { ...closed, default: {} },
)
export type ToolsConfig = Static<typeof ToolsConfig>

const McpStdio = Type.Object(
  {
    command: Type.String({
      minLength: 1,
      description: 'Executable; "bun" means the runtime itself (works in the compiled binary)',
    }),
    args: Type.Optional(Type.Array(Type.String(), { description: "Arguments (default: none)" })),
    env: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        description: "The child's whole environment besides PATH (HOME is inside its sandbox); ours is never passed",
      }),
    ),
    cwd: Type.Optional(Type.String({ description: "Working folder (relative to the workspace)" })),
    network: Type.Optional(Type.Boolean({ description: "Network access from the server's sandbox (default: off)" })),
  },
  closed,
)
const McpHttp = Type.Object(
  {
    url: Type.String({ minLength: 1, description: "Streamable HTTP endpoint" }),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  closed,
)
export const McpServer = Type.Union([McpStdio, McpHttp])
export type McpServer = Static<typeof McpServer>

export const McpConfig = Type.Object(
  {
    servers: Type.Record(Type.String({ pattern: "^[A-Za-z0-9_-]{1,32}$" }), McpServer, {
      default: {},
      description: "Name → server; its tools are registered as <name>.<tool>",
    }),
  },
  { ...closed, default: {} },
)
export type McpConfig = Static<typeof McpConfig>
