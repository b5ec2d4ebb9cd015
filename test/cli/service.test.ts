import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { ENTRY, runCli, spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

// Each test spawns real processes (CLI runs, a gateway); a loaded CI machine needs more than 5 s.
setDefaultTimeout(30_000)

/**
 * A private HOME plus stand-ins for systemctl and launchctl on PATH that log their arguments, so no real
 * service manager is touched. `state` is what `systemctl --user is-active` prints.
 */
function sandbox(state = "inactive") {
  const root = mkdtempSync(join(process.env.DROST_TEST_ROOT ?? "/tmp", "svc-"))
  const bin = join(root, "bin")
  mkdirSync(bin)
  const log = join(root, "calls.log")
  for (const tool of ["systemctl", "launchctl"]) {
    const file = join(bin, tool)
    writeFileSync(
      file,
      `#!/bin/sh\necho "${tool} $*" >> "${log}"\nif [ "$2" = "is-active" ]; then echo ${state}; [ "${state}" = active ]; exit $?; fi\nexit 0\n`,
    )
    chmodSync(file, 0o755)
  }
  const env = { HOME: join(root, "home"), XDG_CONFIG_HOME: "", PATH: `${bin}:${process.env.PATH}` }
  return { root, env, calls: () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []) }
}

describe("drost service", () => {
  test("linux: install writes a systemd user unit that runs this executable with restart on failure, then enables it", async () => {
    await using ws = await workspace({
      config: { providers: { profiles: [{ id: "demo", kind: "demo" }] }, shutdown: { graceMs: 20_000 } },
    })
    const box = sandbox()
    const result = await runCli(["service", "install", "--platform", "linux", "--name", "drost-test"], {
      cwd: ws.path,
      env: box.env,
    })
    expect(result.code).toBe(0)
    const file = join(box.env.HOME, ".config/systemd/user/drost-test.service")
    const unit = readFileSync(file, "utf8")
    expect(unit).toContain(`ExecStart=${process.execPath} ${ENTRY} start --server --workspace ${ws.path}`)
    expect(unit).toContain(`WorkingDirectory=${ws.path}`)
    expect(unit).toContain("Restart=on-failure")
    expect(unit).toContain("RestartPreventExitStatus=78")
    expect(unit).toContain("TimeoutStopSec=25")
    expect(unit).toContain("WantedBy=default.target")
    expect(box.calls()).toEqual(["systemctl --user daemon-reload", "systemctl --user enable --now drost-test.service"])
    expect(result.stdout).toContain("loginctl enable-linger")

    const stopped = await runCli(["service", "status", "--platform", "linux", "--name", "drost-test"], {
      cwd: ws.path,
      env: box.env,
    })
    expect(stopped.code).toBe(3)
    expect(stopped.stdout).toContain("installed")
    expect(stopped.stdout).toContain("systemd: inactive")
    const json = await runCli(["service", "status", "--platform", "linux", "--name", "drost-test", "--json"], {
      cwd: ws.path,
      env: box.env,
    })
    expect(json.code).toBe(3)
    expect(JSON.parse(json.stdout)).toMatchObject({
      name: "drost-test",
      installed: true,
      file,
      platform: "linux",
      active: false,
      manager: "inactive",
    })

    const removed = await runCli(["service", "uninstall", "--platform", "linux", "--name", "drost-test"], {
      cwd: ws.path,
      env: box.env,
    })
    expect(removed.code).toBe(0)
    expect(existsSync(file)).toBe(false)
    expect(box.calls()).toContain("systemctl --user disable --now drost-test.service")
    const gone = await runCli(["service", "status", "--platform", "linux", "--name", "drost-test"], {
      cwd: ws.path,
      env: box.env,
    })
    expect(gone.code).toBe(4)
    expect(gone.stdout).toContain("not installed")
    const goneJson = await runCli(["service", "status", "--platform", "linux", "--name", "drost-test", "--json"], {
      cwd: ws.path,
      env: box.env,
    })
    expect(goneJson.code).toBe(4)
    expect(JSON.parse(goneJson.stdout)).toMatchObject({ installed: false, active: false })
  })

  test("linux status of a running service reports systemd active and the gateway's /healthz", async () => {
    await using ws = await workspace({
      config: { providers: { profiles: [{ id: "demo", kind: "demo" }] }, controlApi: { port: 0 } },
    })
    await using gw = await spawnGateway(ws.path)
    // The unit must point at the same port the gateway serves.
    ws.write(
      "drost.config.json",
      JSON.stringify({
        providers: { profiles: [{ id: "demo", kind: "demo" }] },
        controlApi: { port: Number(new URL(gw.url).port) },
      }),
    )
    const box = sandbox("active")
    expect(
      (await runCli(["service", "install", "--platform", "linux", "--no-enable"], { cwd: ws.path, env: box.env })).code,
    ).toBe(0)
    expect(box.calls()).toEqual([])
    const result = await runCli(["service", "status", "--platform", "linux"], { cwd: ws.path, env: box.env })
    expect(result.code).toBe(0)
    expect(result.stdout).toContain("systemd: active; /healthz 200")
  })

  test("darwin: install writes a launchd agent (KeepAlive on failure, logs) and loads it with launchctl", async () => {
    await using ws = await workspace({ config: { providers: { profiles: [{ id: "demo", kind: "demo" }] } } })
    const box = sandbox()
    const result = await runCli(["service", "install", "--platform", "darwin", "--name", "drost-mac"], {
      cwd: ws.path,
      env: box.env,
    })
    expect(result.code).toBe(0)
    const file = join(box.env.HOME, "Library/LaunchAgents/dev.drost.mac.plist")
    const plist = readFileSync(file, "utf8")
    expect(plist).toContain("<string>dev.drost.mac</string>")
    expect(plist).toContain(
      `<string>${process.execPath}</string>\n    <string>${ENTRY}</string>\n    <string>start</string>\n    <string>--server</string>`,
    )
    expect(plist).toMatch(/<key>KeepAlive<\/key>\s*<dict>\s*<key>SuccessfulExit<\/key>\s*<false\/>/)
    expect(plist).toContain("<key>RunAtLoad</key>\n  <true/>")
    expect(plist).toContain(join(box.env.HOME, "Library/Logs/drost/drost-mac.log"))
    expect(box.calls()[0]).toMatch(/^launchctl bootstrap gui\/\d+ .*dev\.drost\.mac\.plist$/)
  })

  test("refuses to install a workspace whose config does not load", async () => {
    await using ws = await workspace({ config: { providers: { profiles: [] } } })
    const box = sandbox()
    const result = await runCli(["service", "install", "--platform", "linux"], { cwd: ws.path, env: box.env })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("invalid configuration")
    expect(box.calls()).toEqual([])
  })
})
