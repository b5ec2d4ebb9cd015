/**
 * The macOS backend: a Seatbelt profile for `sandbox-exec -p`. Writes are denied everywhere but the
 * spec's writable folders and the call's own temporary folder; reads of the home folder are denied
 * except inside the spec's folders; hidden paths are denied both ways; the network is denied unless
 * granted. In SBPL the last matching rule wins, so the order below is the policy.
 *
 * Limits (docs/security.md): Seatbelt has no pid namespace, so a process that leaves our process
 * group (`setsid`) can outlive the timeout; the rest of the file system stays readable, as on a
 * desktop account; this backend is not exercised by CI (Linux only).
 */
import type { SandboxSpec } from "./spec.ts"

const quote = (path: string) => JSON.stringify(path)

export function seatbeltProfile(spec: SandboxSpec, home: string | null, tmp: string): string {
  const lines = ["(version 1)", "(allow default)"]
  if (!spec.network)
    lines.push(
      "(deny network*)",
      '(allow network* (remote unix-socket (path-literal "/private/var/run/mDNSResponder")))',
    )
  lines.push("(deny file-write*)")
  const writable = [...spec.write, tmp].map((path) => `(subpath ${quote(path)})`)
  lines.push(
    `(allow file-write* ${writable.join(" ")} (literal "/dev/null") (literal "/dev/tty") (regex #"^/dev/fd/"))`,
  )
  if (spec.readOnly.length)
    lines.push(`(deny file-write* ${spec.readOnly.map((path) => `(subpath ${quote(path)})`).join(" ")})`)
  if (home) {
    lines.push(`(deny file-read* (subpath ${quote(home)}))`)
    const visible = [...spec.read, ...spec.write, tmp].map((path) => `(subpath ${quote(path)})`)
    lines.push(`(allow file-read* ${visible.join(" ")})`)
  }
  if (spec.hidden.length) {
    const hidden = spec.hidden.map((path) => `(subpath ${quote(path)})`).join(" ")
    lines.push(`(deny file-read* ${hidden})`, `(deny file-write* ${hidden})`)
  }
  return lines.join("\n")
}

export function seatbeltArgs(spec: SandboxSpec, argv: string[], home: string | null, tmp: string): string[] {
  return ["-p", seatbeltProfile(spec, home, tmp), ...argv]
}
