/**
 * What a sandboxed process may see and do. The spec is built by whoever knows the workspace (the
 * workspace view, a tool host, a gate) and handed to a backend (bubblewrap, Seatbelt) that turns it
 * into a command line. Everything not listed is out of reach: the rest of the file system, the
 * network, our environment.
 */

export interface SandboxSpec {
  /** Working folder inside the sandbox (absolute; must be inside `read` or `write`). */
  cwd: string
  /** Folders and files visible read-only, besides the system folders. */
  read: string[]
  /** Folders visible and writable. */
  write: string[]
  /** Paths inside `read`/`write` that stay read-only (loaded code, the config). Missing ones are skipped. */
  readOnly: string[]
  /** Paths inside `read`/`write` that are hidden (the state folder, credential files). */
  hidden: string[]
  /** The child's whole environment; HOME and TMPDIR are set to folders inside the sandbox. */
  env: Record<string, string>
  /** Network access; off unless the owner granted it. */
  network: boolean
}

/** Which OS mechanism confines the process; "off" when the owner turned it off. */
export type SandboxKind = "bubblewrap" | "seatbelt" | "off"

export interface SandboxStatus {
  /** The mechanism in use, or null when none works here (then the tools that need one are off). */
  kind: SandboxKind | null
  /** Why there is none, or a warning for "off". */
  reason: string | null
  /** Executable in use (bwrap, sandbox-exec). */
  executable: string | null
}

/**
 * System folders a sandbox mounts read-only so that ordinary programs run. Home folders, /tmp, /run,
 * /var and /mnt are not among them: they hold other people's and other programs' data.
 */
export const SYSTEM_DIRS = [
  "/usr",
  "/bin",
  "/sbin",
  "/lib",
  "/lib32",
  "/lib64",
  "/libx32",
  "/etc",
  "/opt",
  "/nix/store",
]

/** Files under /etc that are secret even read-only (hashes, host keys, sudo rules). */
export const SYSTEM_SECRETS = [
  "/etc/shadow",
  "/etc/shadow-",
  "/etc/gshadow",
  "/etc/gshadow-",
  "/etc/sudoers",
  "/etc/sudoers.d",
  "/etc/ssh",
  "/etc/ssl/private",
]
