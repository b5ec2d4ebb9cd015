#!/usr/bin/env bun
import { HOST_ARG } from "./tool/protocol.ts"

// The gateway starts its workspace tool hosts as this same executable with a hidden first argument
// (src/tool/host.ts): routed before the CLI loads, so the compiled binary needs no second entry point.
if (process.argv[2] === HOST_ARG) await (await import("./tool/host.ts")).serve()
else await (await import("./cli/main.ts")).run(process.argv.slice(2))
