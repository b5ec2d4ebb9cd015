/**
 * The Linux backend: a bubblewrap command line for a spec. The sandbox root is an empty tmpfs with
 * the system folders bound read-only, a private /tmp (HOME lives there), its own /proc and /dev, and
 * the spec's folders bound on top in order (read, write, then read-only and hidden paths inside them).
 * Every namespace is unshared (the network too unless granted); `--die-with-parent` and the pid
 * namespace mean that killing bwrap kills every process the command started, `setsid` or not.
 */
import { existsSync, lstatSync, readlinkSync, realpathSync, statSync } from "node:fs"
import { BIN_DIRS, type ProgramRules, type SandboxSpec, SYSTEM_DIRS, SYSTEM_SECRETS } from "./spec.ts"
import { present } from "../util/present.ts"

export const SANDBOX_HOME = "/tmp/home"
export const SANDBOX_TMP = "/tmp"

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

/** Where a mount for `path` goes: the path, or a link's resolved target; null when nothing is to be done. */
function target(path: string, visible: string[]): string | null {
  if (!present(path)) return null
  if (!lstatSync(path).isSymbolicLink()) return path
  let real: string
  try {
    real = realpathSync(path)
  } catch {
    return null // a dangling link: nothing to protect behind it
  }
  // Only a target the sandbox shows anyway: a link never widens the view (`skills -> /home/you` stays
  // dangling inside). A linked node_modules elsewhere is visible when its folder is in the roots.
  return visible.some((root) => real === root || real.startsWith(`${root}/`)) ? real : null
}

/** Hide a path: a folder becomes an empty tmpfs, a file reads as /dev/null. */
function hide(path: string): string[] {
  if (!present(path)) return []
  return isDir(path) ? ["--tmpfs", path] : ["--ro-bind", "/dev/null", path]
}

function realDir(path: string): boolean {
  try {
    return lstatSync(path).isDirectory()
  } catch {
    return false
  }
}

/** The shells a command line needs to be interpreted at all; an allow list always keeps them. */
const SHELLS = ["bash", "sh", "dash"]

/** Mounts that leave only the allowed programs in the bin folders and stub out the denied ones. */
export function programArgs(rules: ProgramRules): string[] {
  const args: string[] = []
  const stubbed = new Set<string>()
  const names = (list: string[] | undefined) => (list ?? []).filter((name) => /^[\w.+-]+$/.test(name))
  for (const dir of BIN_DIRS) {
    if (!realDir(dir)) continue // a symlink to usr/bin on merged-/usr systems: covered through its target
    if (rules.only) {
      args.push("--tmpfs", dir)
      for (const name of [...SHELLS, ...names(rules.only)])
        if (existsSync(`${dir}/${name}`)) args.push("--ro-bind", `${dir}/${name}`, `${dir}/${name}`)
    }
    // A denied name that is a symlink (shutdown → systemctl) is stubbed at its target: mounts follow links.
    if (rules.stub)
      for (const name of names(rules.deny)) {
        const path = `${dir}/${name}`
        if (!existsSync(path)) continue
        const target = realpathSync(path)
        if (!stubbed.has(target)) args.push("--ro-bind", rules.stub, target)
        stubbed.add(target)
      }
  }
  return args
}

export function bubblewrapArgs(spec: SandboxSpec, argv: string[]): string[] {
  const args = ["--die-with-parent", "--new-session", "--unshare-all"]
  if (spec.network) args.push("--share-net")
  // A merged-/usr system's /bin is a symlink to usr/bin: recreate the link, so that it shows the bin
  // folder as filtered below (a bind would mount the host's whole /usr/bin there).
  for (const dir of SYSTEM_DIRS) {
    if (!existsSync(dir)) continue
    if (lstatSync(dir).isSymbolicLink()) args.push("--symlink", readlinkSync(dir), dir)
    else args.push("--ro-bind", dir, dir)
  }
  for (const secret of SYSTEM_SECRETS) args.push(...hide(secret))
  if (spec.programs) args.push(...programArgs(spec.programs))
  // DNS and TLS roots live under /etc (bound above); /run/systemd/resolve is where some resolv.conf point.
  if (spec.network && existsSync("/run/systemd/resolve"))
    args.push("--ro-bind", "/run/systemd/resolve", "/run/systemd/resolve")
  args.push("--proc", "/proc", "--dev", "/dev", "--tmpfs", SANDBOX_TMP, "--dir", SANDBOX_HOME)
  for (const path of spec.read) if (present(path)) args.push("--ro-bind", path, path)
  for (const path of spec.write) if (present(path)) args.push("--bind", path, path)
  // bwrap resolves a mount destination that is a symlink against the host's root and fails, so a
  // read-only or hidden path that is a link is handled at its target (the link itself, if its folder is
  // writable, is put back after the call by the caller: workspace/view.ts).
  const visible = [...spec.read, ...spec.write]
  for (const path of spec.readOnly) {
    const at = target(path, visible)
    if (at) args.push("--ro-bind", at, at)
  }
  for (const path of spec.hidden) {
    const at = target(path, visible)
    if (at) args.push(...hide(at))
  }
  args.push("--chdir", spec.cwd, "--", ...argv)
  return args
}

/** The environment inside: the spec's, with HOME and TMPDIR pointing into the sandbox's own /tmp. */
export function bubblewrapEnv(spec: SandboxSpec): Record<string, string> {
  return { ...spec.env, HOME: SANDBOX_HOME, TMPDIR: SANDBOX_TMP }
}
