/**
 * Registers the virtual module `drost` (alias `@drost/core`) so `drost.config.ts` and workspace tools
 * can import the SDK with no install, also from inside the compiled binary. Plugins are per thread:
 * tool workers call this again.
 */
import { plugin } from "bun"
import * as sdk from "../sdk/mod.ts"

let registered = false

export function registerSdkModule() {
  if (registered) return
  registered = true
  plugin({
    name: "drost-sdk",
    setup(build) {
      for (const name of ["drost", "@drost/core"]) build.module(name, () => ({ exports: { ...sdk, default: sdk }, loader: "object" }))
    },
  })
}
