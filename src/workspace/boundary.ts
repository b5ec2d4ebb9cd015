/**
 * The trust boundary of a workspace, as paths. Two kinds of places are special whatever the roots say:
 *
 * - secret: the state folder (database, tokens, auth profiles, the evolution repository, logs), `.env`
 *   files, credential-looking files and whatever `tools.secrets` lists. No tool reads or writes them.
 * - loaded code: the config, the workspace tools, `src/`, `prompts/`, `node_modules/`, `skills/` (and the
 *   config's `skills.paths`: a skill's instructions and scripts steer the model as much as a tool). What the
 *   runtime loads and runs decides what the model can do, so the model changes these only through
 *   `evolve` (checkpoint, gates, rollback). Every other route is refused with a message naming it.
 *
 * File tools check a path against this (`classify`); sandboxes hide the secret paths and mount the
 * loaded code read-only (view.ts).
 */
import { basename, isAbsolute, relative, resolve, sep } from "node:path"

/** Config file names the gateway loads from the workspace root (gateway/load.ts keeps the same list). */
export const CONFIG_NAMES = [
  "drost.config.ts",
  "drost.config.mts",
  "drost.config.js",
  "drost.config.mjs",
  "drost.config.json",
]

/** Names that hold credentials wherever they are. */
export const CREDENTIAL = /^(\.env(\..*)?|credentials\.json|auth-profiles\.json|control-token|.*\.pem|.*\.key)$/

/** Loaded-code folders besides the tools folder, relative to the workspace. */
export const CODE_DIRS = ["src", "prompts", "node_modules", "skills"]

export interface Boundary {
  workspace: string
  stateDir: string
  /** Absolute paths nothing may read or write. */
  secret: string[]
  /** Absolute paths that change only through evolve. */
  code: string[]
}

export interface BoundaryInput {
  workspaceDir: string
  stateDir: string
  /** The config file in use (may sit outside the workspace root). */
  file?: string | null
  tools?: { dir?: string; secrets?: string[] }
  prompts?: { system?: string }
  /** More skill folders (`skills.paths`), loaded code like `skills/`. */
  skills?: { paths?: string[] }
  /** Where a config can hold secrets inline (then the config itself is secret). */
  controlApi?: { token?: string; readToken?: string }
  channels?: { token?: string; appToken?: string; botToken?: string }[]
  mcp?: { servers?: Record<string, { env?: Record<string, string>; headers?: Record<string, string> }> }
}

/**
 * Whether the config holds secrets inline (a Control API token, a bot token, an MCP server's env or
 * headers). Such a config is secret as a whole: no tool reads it, not even evolution.
 */
export function inlineSecrets(input: BoundaryInput): string[] {
  const found: string[] = []
  if (input.controlApi?.token) found.push("controlApi.token")
  if (input.controlApi?.readToken) found.push("controlApi.readToken")
  input.channels?.forEach((channel, index) => {
    if (channel.token) found.push(`channels[${index}].token`)
    // Slack's two tokens (app-level and bot).
    if (channel.appToken) found.push(`channels[${index}].appToken`)
    if (channel.botToken) found.push(`channels[${index}].botToken`)
  })
  for (const [name, server] of Object.entries(input.mcp?.servers ?? {})) {
    if (Object.keys(server.env ?? {}).length) found.push(`mcp.servers.${name}.env`)
    if (Object.keys(server.headers ?? {}).length) found.push(`mcp.servers.${name}.headers`)
  }
  return found
}

export type Protection = { kind: "secret"; path: string } | { kind: "code"; path: string }

function within(root: string, path: string): boolean {
  const rel = relative(root, path)
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel))
}

export function boundaryOf(input: BoundaryInput): Boundary {
  const at = (path: string) => resolve(input.workspaceDir, path)
  const configs = [...CONFIG_NAMES.map(at), ...(input.file ? [resolve(input.file)] : [])]
  const inline = inlineSecrets(input).length > 0
  const secret = [
    resolve(input.stateDir),
    at(".env"),
    at(".env.local"),
    ...(input.tools?.secrets ?? []).map(at),
    ...(inline ? configs : []),
  ]
  const code = [
    ...(inline ? [] : configs),
    at(input.tools?.dir ?? "tools"),
    ...CODE_DIRS.map(at),
    ...(input.prompts?.system ? [at(input.prompts.system)] : []),
    ...(input.skills?.paths ?? []).map(at),
  ]
  const unique = (list: string[]) => list.filter((path, index) => list.indexOf(path) === index)
  return {
    workspace: resolve(input.workspaceDir),
    stateDir: resolve(input.stateDir),
    secret: unique(secret),
    code: unique(code),
  }
}

/** Whether an absolute, canonical path is secret or loaded code (secret wins), else null. */
export function classify(boundary: Boundary, path: string): Protection | null {
  const secret = boundary.secret.find((root) => within(root, path))
  if (secret || CREDENTIAL.test(basename(path))) return { kind: "secret", path: secret ?? path }
  const code = boundary.code.find((root) => within(root, path))
  if (code) return { kind: "code", path: code }
  return null
}

/** Whether `path` contains a secret or loaded-code path (listing or searching it must skip those). */
export function covers(path: string, boundary: Boundary): string[] {
  return [...boundary.secret, ...boundary.code].filter((root) => within(path, root) && root !== path)
}

/** The refusal a tool returns, naming what to do instead. */
export function refusal(protection: Protection, shown: string, action: "read" | "write"): string {
  if (protection.kind === "secret" && CONFIG_NAMES.includes(basename(protection.path)))
    return `"${shown}" is the config, which holds secrets inline (tokens, MCP env or headers); no tool may ${action} it. The owner can move them to environment variables or .drost/auth-profiles.json`
  if (protection.kind === "secret")
    return `"${shown}" is part of the runtime's private state or a credential file; no tool may ${action} it`
  return `"${shown}" is loaded code (config, tools, src, prompts, node_modules, skills): change it with the evolve tool, which checkpoints, validates and can roll back; ${action === "write" ? "writing it directly is refused" : "it is refused here"}`
}
