/**
 * Drost's own offline demo provider (src/providers/demo.ts), served through the plugin interface: tsc
 * checks that the real provider is a `ModelProvider` as it is, and plugins.test.ts installs this as a
 * package and runs a session on it, its tool call included.
 */
import type { Profile } from "../../src/core/config.ts"
import { createDemoProvider } from "../../src/providers/demo.ts"
import { definePlugin } from "../../src/sdk/mod.ts"

export default definePlugin({
  name: "drost-demo",
  version: "0.1.0",
  providers: [{ name: "demo", create: ({ profile }) => createDemoProvider({ ...(profile as Profile), kind: "demo" }) }],
})
