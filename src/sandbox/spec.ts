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
  /** Which programs of the system's bin folders exist inside (the shell's allow and deny lists). */
  programs?: ProgramRules
}

/**
 * Program rules enforced by the mount table, so no spelling, wrapper or quoting gets around them:
 * with `only`, the bin folders hold nothing but those programs (and the shell); each `deny`ed name is
 * replaced by a stub that refuses to run. A program the command writes itself is not a system
 * program and is not covered: the rules pick programs, the sandbox confines them all.
 */
export interface ProgramRules {
  only?: string[]
  deny?: string[]
  /** The stub bound over denied programs (an executable that prints why and exits 126). */
  stub?: string
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

/** Folders of the system whose programs the program rules filter. */
export const BIN_DIRS = ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/bin", "/sbin"]

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
