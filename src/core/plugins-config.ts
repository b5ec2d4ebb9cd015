/**
 * The configuration of plugins (docs/plugins.md): which packages of the workspace's node_modules
 * to load, and each one's settings, which the plugin's own schema checks when it loads. Kept beside
 * config.ts, which mounts them.
 */
import { Type } from "./schema.ts"

/** An npm package name, scoped or not (what `npm install` accepts as a name). */
export const PACKAGE_NAME = "^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$"

export const Plugins = Type.Array(Type.String({ pattern: PACKAGE_NAME, maxLength: 214 }), {
  default: [],
  description:
    "Packages in the workspace's node_modules to load as plugins (their code runs in the gateway; their tools in the tool sandbox)",
})

export const PluginConfig = Type.Record(Type.String({ pattern: PACKAGE_NAME }), Type.Unknown(), {
  default: {},
  description: "Each plugin's settings by package name, checked with the plugin's own schema when it loads",
})
