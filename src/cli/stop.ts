/**
 * `drost stop`: stops the workspace's gateway the way SIGTERM does (running turns finish within the
 * shutdown grace, the store closes); under `drost start` its supervisor then ends too (a clean exit 0
 * is not restarted, not even by the service unit's Restart=on-failure). The pid comes from the lock
 * file, so this works on the gateway's own machine only. Waits until the process is gone.
 */
import { defineCommand } from "citty"
import { DrostError } from "../core/error.ts"
import { alive } from "../util/process.ts"
import { integer, workspaceArgs } from "./args.ts"
import { lockHolder, NoGateway, stateDirOf, where } from "./reach.ts"

export const stopCommand = defineCommand({
  meta: { name: "stop", description: "Stop the running gateway (turns finish first; sessions are kept)" },
  args: {
    ...workspaceArgs,
    timeout: { type: "string", description: "Seconds to wait for it to end (default: shutdown grace + 10)" },
    json: { type: "boolean", description: "Print the outcome as JSON" },
  },
  async run({ args }) {
    const target = where(args)
    const seconds = integer(args.timeout, "--timeout", { min: 1 })
    // A broken config must not keep a running gateway from being stopped.
    const { stateDir, config } = await stateDirOf(target)
    const pid = lockHolder(stateDir)
    if (pid === null) throw new NoGateway(target.workspace, " (nothing to stop)")
    const wait = seconds ?? Math.ceil((config?.shutdown.graceMs ?? 10_000) / 1000) + 10
    try {
      process.kill(pid, "SIGTERM")
    } catch (error) {
      throw new DrostError("Stop", `cannot signal the gateway (pid ${pid}): ${(error as Error).message}`)
    }
    const deadline = Date.now() + wait * 1000
    while (alive(pid) && Date.now() < deadline) await Bun.sleep(100)
    if (alive(pid))
      throw new DrostError("Stop", `the gateway (pid ${pid}) is still stopping after ${wait} s; see drost logs`)
    if (args.json) process.stdout.write(`${JSON.stringify({ stopped: true, pid })}\n`)
    else process.stdout.write(`stopped the gateway (pid ${pid})\n`)
  },
})
