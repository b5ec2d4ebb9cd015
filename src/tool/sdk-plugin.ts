/**
 * Registers the virtual module `drost` (alias `@drost/core`) in the current thread, so workspace tools
 * and `drost.config.ts` import the SDK with no install, also inside the compiled binary. Bun plugins
 * are per thread and per process: the tool host (host.ts) calls this itself.
 */
import { plugin } from "bun"
import * as sdk from "../sdk/mod.ts"

export const SDK_MODULES = ["drost", "@drost/core"]

let registered = false

export function registerSdkModule() {
  if (registered) return
  registered = true
  plugin({
    name: "drost-sdk",
    setup(build) {
      for (const name of SDK_MODULES)
        build.module(name, () => ({ exports: { ...sdk, default: sdk }, loader: "object" }))
    },
  })
}
