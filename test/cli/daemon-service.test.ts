/**
 * `drost service install` where there is no user bus (issue 15 item 13): a container or a shell
 * without a login session, where systemctl --user answers "Failed to connect to bus". The unit is
 * written, and the failure says why and what to do (lingering, XDG_RUNTIME_DIR, or a supervisor of
 * one's own). A stand-in systemctl on PATH prints exactly what systemd's does there.
 */
import { expect, test } from "bun:test"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { runCli } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

function busless() {
  const root = mkdtempSync(join(process.env.DROST_TEST_ROOT ?? "/tmp", "svc-"))
  const bin = join(root, "bin")
  mkdirSync(bin)
  // systemd 25x, no DBUS_SESSION_BUS_ADDRESS and no XDG_RUNTIME_DIR (e.g. `docker exec`, `su user`).
  writeFileSync(
    join(bin, "systemctl"),
    "#!/bin/sh\necho 'Failed to connect to bus: $DBUS_SESSION_BUS_ADDRESS and $XDG_RUNTIME_DIR not defined (consider using --machine=<user>@.host --user to connect to bus of other user)' >&2\nexit 1\n",
  )
  chmodSync(join(bin, "systemctl"), 0o755)
  return {
    env: {
      HOME: join(root, "home"),
      XDG_CONFIG_HOME: "",
      XDG_RUNTIME_DIR: "",
      USER: "drostuser",
      PATH: `${bin}:${process.env.PATH}`,
    },
    [Symbol.dispose]: () => rmSync(root, { recursive: true, force: true }),
  }
}

test("install without a user bus: the unit is written, the failure says why and what to do", async () => {
  await using ws = await workspace({ config: { providers: { profiles: [{ id: "demo", kind: "demo" }] } } })
  using box = busless()
  const run = await runCli(["service", "install", "--platform", "linux", "--name", "drost-bus"], {
    cwd: ws.path,
    env: box.env,
  })
  expect(run.code).toBe(1)
  expect(existsSync(join(box.env.HOME, ".config/systemd/user/drost-bus.service"))).toBe(true)
  expect(run.stderr).toContain("Failed to connect to bus")
  expect(run.stderr).toContain("no systemd user session")
  expect(run.stderr).toContain("sudo loginctl enable-linger drostuser")
  expect(run.stderr).toContain(`export XDG_RUNTIME_DIR=/run/user/${process.getuid!()}`)
  expect(run.stderr).toContain("XDG_RUNTIME_DIR (not set in this shell)")
  expect(run.stderr).toContain("drost start --server")
  expect(run.stderr).toContain("systemctl --user daemon-reload && systemctl --user enable --now drost-bus.service")
  expect(run.stderr).not.toMatch(/^\s+at /m)

  const status = await runCli(["service", "status", "--platform", "linux", "--name", "drost-bus"], {
    cwd: ws.path,
    env: box.env,
  })
  expect(status.code).toBe(3)
  expect(status.stdout).toContain("no user session bus")
  expect(status.stdout).toContain("loginctl enable-linger")
})
