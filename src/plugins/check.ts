/**
 * What a plugin's default export must look like, and its settings checked with its own schema. A
 * plugin loads whole or not at all: the first problem found is the reason it is skipped, named so the
 * owner can fix the package or the config.
 */
import { Kind } from "@sinclair/typebox"
import { type TSchema, Value } from "../core/schema.ts"
import type { PluginDefinition } from "../sdk/plugin.ts"
import { shapeProblem } from "../tool/protocol.ts"
import { problems as schemaProblems } from "../tool/validate.ts"

const PROVIDER_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/
/** The same words the command dispatcher recognises (gateway/commands.ts: `/[a-z]+`). */
const COMMAND_NAME = /^[a-z]{1,32}$/
const CHANNEL_NAME = /^[a-z][a-z0-9-]{0,31}$/
/** Session channels and command words of the gateway's own: a plugin channel is another kind. */
const RESERVED_CHANNELS = new Set([
  ...["telegram", "discord", "slack", "web", "api", "terminal", "agent", "system", "pairing"],
  ...["schedule", "heartbeat", "openai", "canary", "mcp"],
])
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
const ROUTE_PATH = /^\/[A-Za-z0-9._~\-/:]*$/

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value)

function list(definition: Record<string, unknown>, key: string): { items: Record<string, unknown>[] } | string {
  const value = definition[key]
  if (value === undefined) return { items: [] }
  if (!Array.isArray(value)) return `${key} must be an array`
  const bad = value.findIndex((item) => !isObject(item))
  if (bad >= 0) return `${key}[${bad}] must be an object`
  return { items: value as Record<string, unknown>[] }
}

function duplicate(names: string[]): string | undefined {
  return names.find((name, index) => names.indexOf(name) !== index)
}

/** Null when `value` is a usable plugin for the package `name`; else the reason. */
export function pluginProblem(value: unknown, name: string, reservedCommands: Set<string>): string | null {
  if (value === undefined)
    return "the package has no default export (write `export default definePlugin({ name, version, … })`)"
  if (!isObject(value)) return `the default export is ${value === null ? "null" : typeof value}, not a plugin object`
  if (value.name !== name)
    return `it declares the name ${JSON.stringify(value.name)}, but is installed and listed as "${name}" (they must match)`
  if (typeof value.version !== "string" || !value.version) return "version must be a non-empty string"
  if (value.config !== undefined && !isObject(value.config)) return "config must be a JSON Schema object (TypeBox)"

  const tools = list(value, "tools")
  if (typeof tools === "string") return tools
  for (const [index, tool] of tools.items.entries()) {
    const problem = shapeProblem(tool)
    if (problem) return `tools[${index}]: ${problem}`
  }
  const toolClash = duplicate(tools.items.map((tool) => tool.name as string))
  if (toolClash) return `two tools are named "${toolClash}"`

  const providers = list(value, "providers")
  if (typeof providers === "string") return providers
  for (const [index, provider] of providers.items.entries()) {
    if (typeof provider.name !== "string" || !PROVIDER_NAME.test(provider.name))
      return `providers[${index}].name must be lowercase letters, digits and - (got ${JSON.stringify(provider.name)})`
    if (typeof provider.create !== "function") return `providers[${index}].create must be a function`
  }
  const providerClash = duplicate(providers.items.map((provider) => provider.name as string))
  if (providerClash) return `two providers are named "${providerClash}"`

  const commands = list(value, "commands")
  if (typeof commands === "string") return commands
  for (const [index, command] of commands.items.entries()) {
    if (typeof command.name !== "string" || !COMMAND_NAME.test(command.name))
      return `commands[${index}].name must be lowercase letters only (got ${JSON.stringify(command.name)})`
    if (reservedCommands.has(command.name))
      return `command /${command.name} is already taken (built in or another plugin)`
    if (typeof command.help !== "string") return `commands[${index}].help must be a string`
    if (command.usage !== undefined && typeof command.usage !== "string")
      return `commands[${index}].usage must be a string`
    if (typeof command.run !== "function") return `commands[${index}].run must be a function`
  }
  const commandClash = duplicate(commands.items.map((command) => command.name as string))
  if (commandClash) return `two commands are named "${commandClash}"`

  const routes = list(value, "routes")
  if (typeof routes === "string") return routes
  for (const [index, route] of routes.items.entries()) {
    if (typeof route.method !== "string" || !METHODS.includes(route.method))
      return `routes[${index}].method must be one of ${METHODS.join(", ")}`
    if (typeof route.path !== "string" || !ROUTE_PATH.test(route.path))
      return `routes[${index}].path must start with / (got ${JSON.stringify(route.path)})`
    if (typeof route.handler !== "function") return `routes[${index}].handler must be a function`
  }
  const routeClash = duplicate(routes.items.map((route) => `${route.method} ${route.path}`))
  if (routeClash) return `two routes are ${routeClash}`

  const channels = list(value, "channels")
  if (typeof channels === "string") return channels
  for (const [index, channel] of channels.items.entries()) {
    if (typeof channel.name !== "string" || !CHANNEL_NAME.test(channel.name))
      return `channels[${index}].name must be lowercase letters, digits and - (got ${JSON.stringify(channel.name)})`
    if (RESERVED_CHANNELS.has(channel.name)) return `channels[${index}].name "${channel.name}" is taken by Drost itself`
    if (typeof channel.start !== "function") return `channels[${index}].start must be a function`
    if (channel.config !== undefined && !isObject(channel.config))
      return `channels[${index}].config must be a JSON Schema object (TypeBox)`
    if (channel.check !== undefined && typeof channel.check !== "function")
      return `channels[${index}].check must be a function`
  }
  const channelClash = duplicate(channels.items.map((channel) => channel.name as string))
  if (channelClash) return `two channels are named "${channelClash}"`
  return null
}

/** Plain JSON Schema: fill the `default` of absent object properties, nested objects included. */
function withDefaults(schema: Record<string, unknown>, value: unknown): unknown {
  const properties = schema.properties as Record<string, Record<string, unknown>> | undefined
  if (!properties || !isObject(value)) return value
  for (const [key, inner] of Object.entries(properties)) {
    if (!isObject(inner)) continue
    if (value[key] === undefined && inner.default !== undefined) value[key] = structuredClone(inner.default)
    else if (value[key] !== undefined) value[key] = withDefaults(inner, value[key])
  }
  return value
}

/**
 * The plugin's settings from `pluginConfig["<name>"]`, defaults filled in (TypeBox schemas), checked
 * with the plugin's schema. Problems name the key as the owner writes it in the config.
 */
export function pluginSettings(
  plugin: PluginDefinition,
  given: unknown,
): { ok: true; value: unknown } | { ok: false; problems: string[] } {
  return checkSettings(plugin.config, given, `pluginConfig[${JSON.stringify(plugin.name)}]`)
}

/**
 * The settings of one instance of a plugin's channel (a `channels` entry, `at` its path) against the
 * channel's own schema, or the plugin's when the channel declares none.
 */
export function channelSettings(
  plugin: PluginDefinition,
  channel: { config?: unknown },
  given: Record<string, unknown>,
  at: string,
): { ok: true; value: unknown } | { ok: false; problems: string[] } {
  const schema = (channel.config ?? plugin.config) as PluginDefinition["config"]
  return checkSettings(schema, schema || Object.keys(given).length ? given : undefined, at)
}

function checkSettings(
  declared: PluginDefinition["config"],
  given: unknown,
  at: string,
): { ok: true; value: unknown } | { ok: false; problems: string[] } {
  const schema = declared as Record<string, unknown> | undefined
  if (!schema)
    return given === undefined
      ? { ok: true, value: undefined }
      : { ok: false, problems: [`${at}: the plugin takes no settings (it declares no config schema)`] }
  const value =
    Kind in schema
      ? Value.Default(schema as unknown as TSchema, structuredClone(given ?? {}))
      : withDefaults(schema, structuredClone(given ?? {}))
  let found: string[]
  try {
    found = schemaProblems(schema, value)
  } catch (error) {
    return { ok: false, problems: [`its config schema is not a valid JSON Schema: ${(error as Error).message}`] }
  }
  if (found.length === 0) return { ok: true, value }
  return {
    ok: false,
    problems: found.map((line) =>
      line.startsWith("arguments") ? `${at}${line.slice("arguments".length)}` : `${at}.${line}`,
    ),
  }
}
