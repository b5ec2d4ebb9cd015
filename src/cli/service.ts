/**
 * `drost service install|uninstall|status`: run a workspace's gateway as a user service that starts at
 * login and restarts on failure — a systemd user unit on Linux, a launchd agent on macOS. The unit runs
 * this very executable (`start --server -w <workspace>`), so there is nothing else to install.
 */
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs"
import { basename, dirname, join, resolve } from "node:path"
import { load } from "../gateway/load.ts"
import { Flag } from "../util/flag.ts"
import { REFUSED } from "./exit.ts"

export type Platform = "linux" | "darwin"

export interface ServiceOptions {
  workspace: string
  config?: string
  platform?: string
  /** Service name; default drost-<folder>-<hash of the path>. */
  name?: string
  /** Write the file but do not call systemctl/launchctl. */
  enable?: boolean
  /** `status`: print the state as JSON. */
  json?: boolean
}

/** The running executable as a command: the compiled binary itself, or bun plus the entry script. */
export function selfCommand(): string[] {
  const compiled = import.meta.path.startsWith("/$bunfs/") || import.meta.path.includes("~BUN")
  return compiled ? [process.execPath] : [process.execPath, resolve(import.meta.dir, "../index.ts")]
}

export function serviceName(workspace: string, name?: string): string {
  if (name) return name.replace(/[^A-Za-z0-9_.-]/g, "-")
  const slug =
    basename(workspace)
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "") || "workspace"
  return `drost-${slug}-${createHash("sha256").update(workspace).digest("hex").slice(0, 6)}`
}

/** systemd splits ExecStart on spaces; quote what needs it. */
const systemdQuote = (arg: string) =>
  /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `"${arg.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`
const xml = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

export interface UnitInput {
  name: string
  workspace: string
  command: string[]
  /** Seconds the service manager waits after SIGTERM before killing. */
  stopSeconds: number
  path: string
}

export function systemdUnit(input: UnitInput): string {
  return `# Written by \`drost service install\`; remove with \`drost service uninstall -w ${input.workspace}\`.
[Unit]
Description=Drost agent gateway (${input.workspace})
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
WorkingDirectory=${systemdQuote(input.workspace)}
ExecStart=${input.command.map(systemdQuote).join(" ")}
Restart=on-failure
RestartSec=3
# ${REFUSED}: the gateway refused to start (bad config, workspace locked, port busy); retrying cannot help.
RestartPreventExitStatus=${REFUSED}
KillSignal=SIGTERM
TimeoutStopSec=${input.stopSeconds}
Environment=${systemdQuote(`PATH=${input.path}`)}
Environment=NO_COLOR=1

[Install]
WantedBy=default.target
`
}

export function launchdPlist(input: UnitInput & { label: string; log: string }): string {
  const args = input.command.map((arg) => `    <string>${xml(arg)}</string>`).join("\n")
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Written by \`drost service install\`; remove with \`drost service uninstall\`. -->
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${xml(input.label)}</string>
  <key>ProgramArguments</key>
  <array>
${args}
  </array>
  <key>WorkingDirectory</key>
  <string>${xml(input.workspace)}</string>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>5</integer>
  <key>ExitTimeOut</key>
  <integer>${input.stopSeconds}</integer>
  <key>StandardOutPath</key>
  <string>${xml(input.log)}</string>
  <key>StandardErrorPath</key>
  <string>${xml(input.log)}</string>
  <key>EnvironmentVariables</key>
  <dict>
    <key>PATH</key>
    <string>${xml(input.path)}</string>
    <key>NO_COLOR</key>
    <string>1</string>
  </dict>
</dict>
</plist>
`
}

function platformOf(value?: string): Platform {
  const chosen = value ?? process.platform
  if (chosen === "linux" || chosen === "darwin") return chosen
  throw new Error(
    `drost service supports linux (systemd) and darwin (launchd), not "${chosen}"; run \`drost start --server\` under your own supervisor`,
  )
}

const home = () => Flag.get("HOME") ?? "/"

interface Target {
  platform: Platform
  name: string
  file: string
  label: string
  log: string
}

function target(options: ServiceOptions): Target {
  const platform = platformOf(options.platform)
  const workspace = resolve(options.workspace)
  const name = serviceName(workspace, options.name)
  if (platform === "linux") {
    const config = Flag.get("XDG_CONFIG_HOME") ?? join(home(), ".config")
    return {
      platform,
      name,
      file: join(config, "systemd", "user", `${name}.service`),
      label: name,
      log: "journalctl --user -u " + name,
    }
  }
  const label = `dev.drost.${name.replace(/^drost-/, "")}`
  return {
    platform,
    name,
    file: join(home(), "Library", "LaunchAgents", `${label}.plist`),
    label,
    log: join(home(), "Library", "Logs", "drost", `${name}.log`),
  }
}

/** Runs a service manager command; a missing program or a failure comes back as text, never a throw. */
function manager(cmd: string[]): { ok: boolean; out: string } {
  try {
    const proc = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" })
    return { ok: proc.exitCode === 0, out: `${proc.stdout.toString()}${proc.stderr.toString()}`.trim() }
  } catch (error) {
    return { ok: false, out: `${cmd[0]} is not available (${(error as Error).message})` }
  }
}

const uid = () => (typeof process.getuid === "function" ? process.getuid() : 0)

/**
 * systemctl --user talks to the user's service manager over the user bus, which exists only for a
 * login session (or a user with lingering on) and is found through XDG_RUNTIME_DIR. Containers,
 * `su`/`sudo -u` shells and cron have neither: say so and what to do, instead of only systemd's line.
 */
export function userBusHint(output: string): string | null {
  if (!/failed to connect to (the )?bus|DBUS_SESSION_BUS_ADDRESS|XDG_RUNTIME_DIR|no medium found/i.test(output))
    return null
  const runtime = Flag.get("XDG_RUNTIME_DIR")
  const user = Flag.get("USER") ?? "$USER"
  const expected = `/run/user/${uid()}`
  return [
    "There is no systemd user session to talk to: systemctl --user needs the user bus, which exists only",
    `for a login session or a user with lingering on, and is found through XDG_RUNTIME_DIR (${runtime ? `set to ${runtime}, but no bus answers there` : "not set in this shell"}).`,
    `- On a server: sudo loginctl enable-linger ${user}, then log in again (or export XDG_RUNTIME_DIR=${expected})`,
    "  and run the systemctl commands below.",
    "- In a container or without systemd: run `drost start --server` under the container's own supervisor",
    "  (it exits 78 for a start you must fix, so do not restart on that code).",
  ].join("\n")
}

export async function install(options: ServiceOptions): Promise<number> {
  const workspace = resolve(options.workspace)
  // Refuse to install something that cannot start: the config must load.
  const config = await load({ root: workspace, file: options.config })
  const where = target(options)
  const command = [
    ...selfCommand(),
    "start",
    "--server",
    "--workspace",
    workspace,
    ...(options.config ? ["--config", resolve(workspace, options.config)] : []),
  ]
  const input: UnitInput = {
    name: where.name,
    workspace,
    command,
    stopSeconds: Math.ceil(config.shutdown.graceMs / 1000) + 5,
    path: Flag.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin",
  }
  mkdirSync(dirname(where.file), { recursive: true })
  if (where.platform === "darwin") mkdirSync(dirname(where.log), { recursive: true })
  writeFileSync(
    where.file,
    where.platform === "linux" ? systemdUnit(input) : launchdPlist({ ...input, label: where.label, log: where.log }),
  )
  process.stdout.write(`wrote ${where.file}\n`)
  if (options.enable === false) {
    process.stdout.write(
      where.platform === "linux"
        ? `not enabled (--no-enable). Enable with: systemctl --user daemon-reload && systemctl --user enable --now ${where.name}.service\n`
        : `not loaded (--no-enable). Load with: launchctl bootstrap gui/${uid()} ${where.file}\n`,
    )
    return 0
  }
  const steps =
    where.platform === "linux"
      ? [
          ["systemctl", "--user", "daemon-reload"],
          ["systemctl", "--user", "enable", "--now", `${where.name}.service`],
        ]
      : [["launchctl", "bootstrap", `gui/${uid()}`, where.file]]
  for (const step of steps) {
    const result = manager(step)
    if (!result.ok) {
      const hint = where.platform === "linux" ? userBusHint(result.out) : null
      process.stderr.write(
        `drost service: \`${step.join(" ")}\` failed: ${result.out}\n${hint ? `${hint}\n` : ""}The unit is written (${where.file}); once that is fixed, run: ${steps.map((cmd) => cmd.join(" ")).join(" && ")}\n`,
      )
      return 1
    }
  }
  process.stdout.write(
    where.platform === "linux"
      ? `enabled and started ${where.name}.service; logs: journalctl --user -u ${where.name} -f\nTo keep it running after you log out: loginctl enable-linger ${Flag.get("USER") ?? "$USER"}\n`
      : `loaded ${where.label}; logs: ${where.log}\n`,
  )
  return 0
}

export async function uninstall(options: ServiceOptions): Promise<number> {
  const where = target(options)
  if (!existsSync(where.file)) {
    process.stdout.write(`not installed (no ${where.file})\n`)
    return 0
  }
  if (options.enable !== false) {
    const result =
      where.platform === "linux"
        ? manager(["systemctl", "--user", "disable", "--now", `${where.name}.service`])
        : manager(["launchctl", "bootout", `gui/${uid()}/${where.label}`])
    if (!result.ok)
      process.stderr.write(`warning: stopping the service failed (${result.out}); removing the file anyway\n`)
  }
  rmSync(where.file)
  if (where.platform === "linux" && options.enable !== false) manager(["systemctl", "--user", "daemon-reload"])
  process.stdout.write(`removed ${where.file}\n`)
  return 0
}

/** Exit codes as in LSB init scripts: 0 running, 3 installed but not running, 4 not installed. */
export async function status(options: ServiceOptions): Promise<number> {
  const where = target(options)
  if (!existsSync(where.file)) {
    process.stdout.write(
      options.json
        ? `${JSON.stringify({ name: where.name, installed: false, file: where.file, platform: where.platform, active: false })}\n`
        : `${where.name}: not installed (no ${where.file}); install with \`drost service install\`\n`,
    )
    return 4
  }
  const state =
    where.platform === "linux"
      ? manager(["systemctl", "--user", "is-active", `${where.name}.service`])
      : manager(["launchctl", "print", `gui/${uid()}/${where.label}`])
  const active =
    where.platform === "linux"
      ? state.ok && state.out.split("\n")[0] === "active"
      : state.ok && /state = running/.test(state.out)
  const busHint = where.platform === "linux" && !state.ok ? userBusHint(state.out) : null
  const summary =
    where.platform === "linux"
      ? busHint
        ? "no user session bus (see below)"
        : state.out.split("\n")[0] || "unknown"
      : active
        ? "running"
        : state.out.split("\n")[0] || "not loaded"
  let health = ""
  /** What the gateway's /healthz answered (null: nothing answers, or the port is chosen at start). */
  let healthz: { status: number | null; reason: string | null } = { status: null, reason: null }
  try {
    const config = await load({ root: resolve(options.workspace), file: options.config })
    if (config.controlApi.enabled && config.controlApi.port !== 0) {
      const response = await fetch(`http://${config.controlApi.host}:${config.controlApi.port}/healthz`, {
        signal: AbortSignal.timeout(2000),
      }).catch(() => null)
      health = response
        ? `; /healthz ${response.status}`
        : `; nothing answers on ${config.controlApi.host}:${config.controlApi.port}`
      healthz = response
        ? { status: response.status, reason: null }
        : { status: null, reason: `nothing answers on ${config.controlApi.host}:${config.controlApi.port}` }
    }
  } catch {
    health = "; config does not load (drost doctor)"
    healthz = { status: null, reason: "config does not load (drost doctor)" }
  }
  if (options.json)
    process.stdout.write(
      `${JSON.stringify({ name: where.name, installed: true, file: where.file, platform: where.platform, active, manager: summary, healthz, log: where.log, hint: busHint })}\n`,
    )
  else
    process.stdout.write(
      `${where.name}: installed (${where.file}); ${where.platform === "linux" ? "systemd" : "launchd"}: ${summary}${health}\nlogs: ${where.log}\n${busHint ? `${busHint}\n` : ""}`,
    )
  return active ? 0 : 3
}
