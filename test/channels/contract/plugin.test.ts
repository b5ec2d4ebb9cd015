/**
 * A channel that comes as a plugin passes the channel contract suite: the example plugin
 * examples/plugin-channel-loop, installed by copy into the workspace's node_modules, speaks to "Loop",
 * a loopback chat platform (loop-platform.ts), and the gateway hosts it like a built-in channel.
 */
import { test } from "bun:test"
import { loop, pairingByCli } from "./loop-adapter.ts"
import { contractSuite } from "./suite.ts"

contractSuite(loop)

test(
  "a plugin channel's stranger approved with `drost pairing approve` is told so, answered, and may use commands",
  () => pairingByCli(),
  30_000,
)
