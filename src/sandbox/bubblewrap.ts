/**
 * The Linux backend: a bubblewrap command line for a spec. The sandbox root is an empty tmpfs with
 * the system folders bound read-only, a private /tmp (HOME lives there), its own /proc and /dev, and
 * the spec's folders bound on top in order (read, write, then read-only and hidden paths inside them).
 * Every namespace is unshared (the network too unless granted); `--die-with-parent` and the pid
 * namespace mean that killing bwrap kills every process the command started, `setsid` or not.
 */
import { existsSync, lstatSync, statSync } from "node:fs"
import { type SandboxSpec, SYSTEM_DIRS, SYSTEM_SECRETS } from "./spec.ts"

export const SANDBOX_HOME = "/tmp/home"
export const SANDBOX_TMP = "/tmp"

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

function present(path: string): boolean {
  try {
    lstatSync(path)
    return true
  } catch {
    return false
  }
}

/** Hide a path: a folder becomes an empty tmpfs, a file reads as /dev/null. */
function hide(path: string): string[] {
  if (!present(path)) return []
  return isDir(path) ? ["--tmpfs", path] : ["--ro-bind", "/dev/null", path]
}

export function bubblewrapArgs(spec: SandboxSpec, argv: string[]): string[] {
  const args = ["--die-with-parent", "--new-session", "--unshare-all"]
  if (spec.network) args.push("--share-net")
  for (const dir of SYSTEM_DIRS) if (existsSync(dir)) args.push("--ro-bind", dir, dir)
  for (const secret of SYSTEM_SECRETS) args.push(...hide(secret))
  // DNS and TLS roots live under /etc (bound above); /run/systemd/resolve is where some resolv.conf point.
  if (spec.network && existsSync("/run/systemd/resolve"))
    args.push("--ro-bind", "/run/systemd/resolve", "/run/systemd/resolve")
  args.push("--proc", "/proc", "--dev", "/dev", "--tmpfs", SANDBOX_TMP, "--dir", SANDBOX_HOME)
  for (const path of spec.read) if (present(path)) args.push("--ro-bind", path, path)
  for (const path of spec.write) if (present(path)) args.push("--bind", path, path)
  for (const path of spec.readOnly) if (present(path)) args.push("--ro-bind", path, path)
  for (const path of spec.hidden) args.push(...hide(path))
  args.push("--chdir", spec.cwd, "--", ...argv)
  return args
}

/** The environment inside: the spec's, with HOME and TMPDIR pointing into the sandbox's own /tmp. */
export function bubblewrapEnv(spec: SandboxSpec): Record<string, string> {
  return { ...spec.env, HOME: SANDBOX_HOME, TMPDIR: SANDBOX_TMP }
}
