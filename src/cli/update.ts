/**
 * `drost update [--check]` (docs/operations.md#update): download the latest release for this machine,
 * check it against SHA256SUMS, swap the executable atomically (the old one stays as `<exe>.previous`),
 * run the health gate on the new one and roll back when it fails. A gateway running on the workspace
 * is then asked to restart: under `drost start` its supervisor starts the new executable, and a new
 * gateway that does not come up healthy rolls the executable back (the supervisor's next start runs
 * the old one again).
 */
import { realpathSync } from "node:fs"
import { defineCommand } from "citty"
import type { Config } from "../core/config.ts"
import { DrostError } from "../core/error.ts"
import { executable, self } from "../evolve/self.ts"
import { load } from "../gateway/load.ts"
import { gateBinary } from "../ops/gate.ts"
import { download, latestVersion, NoReleaseUrl, newer } from "../ops/release.ts"
import { previousOf, rollBack, swapIn } from "../ops/swap.ts"
import { Flag } from "../util/flag.ts"
import { VERSION } from "../util/version.ts"
import { attachArgs } from "./attach.ts"
import { lockHolder, locate, type Running, where } from "./reach.ts"

/** Exit code of `--check` when this is the latest release. */
export const UP_TO_DATE = 3

const say = (line: string) => process.stdout.write(`${line}\n`)

/** After a restart request: the new gateway's version once it runs healthy, or null at the deadline. */
async function restarted(running: Running, config: Config, deadline: number): Promise<string | null> {
  const old = running.pid
  while (Date.now() < deadline) {
    await Bun.sleep(200)
    const pid = lockHolder(config.stateDir)
    if (pid === null || pid === old) continue
    const status = await running.call("/status").catch(() => null)
    if (status) return (status as { version: string }).version
  }
  // Restarted in place (not supervised): the same pid answers again.
  const status = await running.call("/status").catch(() => null)
  return status ? (status as { version: string }).version : null
}

export const updateCommand = defineCommand({
  meta: { name: "update", description: "Update the drost executable to the latest release (rolled back if unhealthy)" },
  args: {
    check: {
      type: "boolean",
      description: `Only print the current and the latest version (exit 0: an update exists, ${UP_TO_DATE}: up to date)`,
    },
    "base-url": {
      type: "string",
      description: "Release folder (default: update.baseUrl, DROST_UPDATE_URL)",
    },
    ...attachArgs,
  },
  async run({ args }) {
    const target = where(args)
    const config = await load({ root: target.workspace, file: target.config }).catch(() => null)
    const base = args["base-url"] ?? config?.update?.baseUrl ?? Flag.get("DROST_UPDATE_URL")
    if (!base) throw new NoReleaseUrl()
    const latest = await latestVersion(base)
    const available = newer(latest, VERSION)
    if (args.check) {
      say(`drost ${VERSION} · latest ${latest} · ${available ? "update available: drost update" : "up to date"}`)
      process.exit(available ? 0 : UP_TO_DATE)
    }
    if (!available) return say(`drost ${VERSION} is the latest release (${latest})`)
    if (self().length > 1)
      throw new DrostError(
        "NotCompiled",
        "drost update replaces the compiled executable; this drost runs from source (update the checkout instead)",
      )
    if (process.platform === "win32")
      throw new DrostError(
        "Unsupported",
        "Windows does not let a running executable be replaced: stop drost, download the release's drost-windows-x64.exe and put it in place",
      )
    const exe = realpathSync(executable())
    const bytes = await download(base)
    const { settings } = await import("../evolve/service.ts")
    const gate = settings(config ?? ({} as Config)).healthGate
    swapIn(exe, bytes)
    const problem = await gateBinary(exe, gate)
    if (problem) {
      rollBack(exe)
      process.stderr.write(`drost: the new executable's health gate: ${problem}\n`)
      throw new DrostError(
        "UpdateFailed",
        `drost ${latest} failed the health gate (${problem.split("\n")[0]}); rolled back to ${VERSION}, ${exe} is the previous executable again`,
      )
    }
    say(`updated drost ${VERSION} → ${latest} (${exe}; the previous one is ${previousOf(exe)})`)
    const running = config ? await locate(target, config).catch(() => null) : null
    if (!running || !config) return
    await running.call("/runtime/restart", { method: "POST", json: {} })
    const deadline = Date.now() + gate.timeoutMs + config.shutdown.graceMs
    const version = await restarted(running, config, deadline)
    if (version === latest) return say(`the gateway restarted on drost ${latest}`)
    if (version === VERSION)
      return say(
        `the gateway restarted in place on drost ${VERSION} (it does not run under drost start's supervisor): stop and start it to run ${latest}`,
      )
    rollBack(exe)
    throw new DrostError(
      "UpdateFailed",
      `the gateway did not come back healthy on drost ${latest}; rolled back to ${VERSION} (its supervisor starts the previous executable)`,
    )
  },
})
