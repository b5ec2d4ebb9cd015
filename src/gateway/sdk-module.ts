/**
 * Registers the virtual module `drost` (alias `@drost/core`) so `drost.config.ts` and workspace tools
 * can import the SDK with no install. The implementation lives with the tool loader (tool host
 * processes register it again for themselves); this re-export keeps the gateway's import stable.
 */
export { registerSdkModule } from "../tool/sdk-plugin.ts"
