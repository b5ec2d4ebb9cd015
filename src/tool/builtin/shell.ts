/**
 * `shell`: runs one command line with bash (or sh) in a mutable root, inside the OS sandbox. The
 * sandbox is the boundary: the command sees the system read-only, the read roots read-only, the
 * mutable roots writable except loaded code, nothing of the state folder, `.env` files or the rest of
 * the disk; no network unless `tools.grants.shell` says so; the environment is the configured
 * allow-list (HOME and TMPDIR inside the sandbox) plus granted variables. Killing the sandbox at the
 * timeout kills every process the command started, `setsid` included.
 *
 * The allow and deny lists pick programs by the mount table (no spelling reaches a denied program);
 * the guard on the command line still refuses what it can see early, with a clearer message.
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Type } from "../../core/schema.ts"
import type { Sandbox, Wrapped } from "../../sandbox/sandbox.ts"
import type { ProgramRules } from "../../sandbox/spec.ts"
import { Flag } from "../../util/flag.ts"
import type { Boundary } from "../../workspace/boundary.ts"
import { missingCode, sweep, viewSpec } from "../../workspace/view.ts"
import { grantedEnv, type ToolGrant } from "../grants.ts"
import type { RegisteredTool } from "../registry.ts"
import { Roots } from "../../workspace/roots.ts"
import { guard, type ShellRules } from "./shell-guard.ts"

export interface ShellOptions extends ShellRules {
  /** Names of environment variables passed through to the child. */
  env: string[]
  timeoutMs: number
  /** Bytes of stdout + stderr kept. */
  outputLimit: number
  /** Check the paths a command line names (off only in the "permissive" profile). */
  guardPaths: boolean
}

/** A command started with `background: true`, prepared (and wrapped by the sandbox) by the shell tool. */
export interface BackgroundCommand {
  sessionId: string
  command: string
  cwd: string
  wrapped: Wrapped
  /** Runs once the process has exited (removes loaded code the command may have created). */
  after(): string[]
}

/** Runs background commands as jobs (src/agent/jobs.ts); throws with the reason when over a limit. */
export interface BackgroundShell {
  start(command: BackgroundCommand): Promise<{ id: string }>
}

export interface ShellDeps {
  roots: Roots
  boundary: Boundary
  sandbox: Sandbox
  options: ShellOptions
  grant: ToolGrant
  /** Absent where no job service runs (`drost tool` without a gateway): `background` is refused. */
  background?: BackgroundShell
}

const SHELL = ["/bin/bash", "/usr/bin/bash", "/bin/sh"].find((path) => existsSync(path)) ?? "sh"

const REFUSED = `#!/bin/sh
echo "\${0##*/}: refused by the owner's tools.shell.deny; use another way or ask the user" >&2
exit 126
`

/** The stub bound over denied programs, written once into the state folder (hidden from the sandbox). */
function stubIn(stateDir: string): string {
  const dir = join(stateDir, "sandbox")
  const file = join(dir, "refused.sh")
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true })
    writeFileSync(file, REFUSED)
    chmodSync(file, 0o755)
  }
  return file
}

/** Single program names of the lists; multi-word entries ("git push") stay with the guard. */
function programRules(rules: ShellRules, stateDir: string): ProgramRules | undefined {
  const single = (list: string[]) => list.map((entry) => entry.trim()).filter((entry) => /^[\w.+-]+$/.test(entry))
  const deny = single(rules.deny)
  const only = rules.allow.length
    ? rules.allow.map((entry) => entry.trim().split(/\s+/)[0]!).filter(Boolean)
    : undefined
  if (!deny.length && !only) return undefined
  return { only, deny, stub: deny.length ? stubIn(stateDir) : undefined }
}

export function shellTool(deps: () => ShellDeps): RegisteredTool {
  return {
    name: "shell",
    source: "builtin",
    confined: true,
    description:
      "Run a shell command (bash) in the workspace, inside a sandbox, and return its exit code and output (stdout and stderr interleaved as produced). The workspace's files are visible (loaded code and the config read-only), the rest of the disk is not; no network unless the owner granted it; no $VAR expansion or $(…) substitution. Long-running commands are killed at the timeout. With background: true the command runs on as a job: the call returns its id at once, its output goes to a file (read it with shell.output), the session gets a notice when it exits, shell.kill stops it.",
    parameters: Type.Object(
      {
        command: Type.String({ minLength: 1, description: "The command line" }),
        cwd: Type.Optional(
          Type.String({ description: "Working folder relative to the workspace root (default: the root)" }),
        ),
        timeoutMs: Type.Optional(
          Type.Integer({
            minimum: 100,
            description: "Kill the command after this many ms (at most the configured limit)",
          }),
        ),
        background: Type.Optional(
          Type.Boolean({
            description:
              "Run it as a background job (servers, long builds): returns the job id at once; killed after jobs.shellTimeoutMs",
          }),
        ),
      },
      { additionalProperties: false },
    ),
    async execute(args, ctx) {
      const {
        command,
        cwd: where = ".",
        timeoutMs,
        background: detach,
      } = args as { command: string; cwd?: string; timeoutMs?: number; background?: boolean }
      const { roots, boundary, sandbox, options, grant, background } = deps()
      const cwd = Roots.write(roots, where)
      guard(command, cwd, options.guardPaths ? roots.read : null, options)
      const env: Record<string, string> = {}
      for (const name of options.env) {
        const value = Flag.get(name)
        if (value !== undefined) env[name] = value
      }
      Object.assign(env, grantedEnv(grant))
      const spec = {
        ...viewSpec({ boundary, read: roots.read, write: roots.write }, cwd, env, grant.network),
        programs: programRules(options, boundary.stateDir),
      }
      const limit = Math.min(timeoutMs ?? options.timeoutMs, options.timeoutMs)
      const missing = missingCode(boundary)
      if (detach) {
        if (!background) throw new Error("background commands need a running gateway (they run as its jobs)")
        // Same sandbox, same spec as a call that waits: only the waiting differs.
        const wrapped = await sandbox.command(spec, [SHELL, "-c", command])
        const job = await background.start({
          sessionId: ctx.sessionId,
          command,
          cwd,
          wrapped,
          after: () => sweep(boundary, missing),
        })
        return `started background job ${job.id}: its output goes to a file (shell.output ${job.id}); this session gets a notice when it exits; shell.kill ${job.id} stops it`
      }
      const run = await sandbox.run(spec, [SHELL, "-c", command], {
        timeoutMs: limit,
        signal: ctx.signal,
        outputLimit: options.outputLimit,
      })
      const removed = sweep(boundary, missing)
      const dropped = run.dropped ? `\n… [${run.dropped} more bytes of output dropped]` : ""
      const swept = removed.length
        ? `\n[removed ${removed.join(", ")}: loaded code (config, tools, src, prompts, node_modules, skills) changes only through the evolve tool]`
        : ""
      const why = run.killed === "aborted" ? "aborted" : `timed out after ${limit} ms`
      const status = run.killed ? `killed: ${why}; the command and its children were killed` : `exit code ${run.code}`
      const text = `${status}\n${run.output}${dropped}${swept}`
      if (run.killed) throw new Error(text)
      return text
    },
  }
}
