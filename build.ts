#!/usr/bin/env bun
/**
 * Builds the single `drost` executable with `bun build --compile`.
 *
 *   bun build.ts                    dist/drost for this machine, then a smoke run of it
 *   bun build.ts --all              plus every release target as dist/drost-<os>-<arch>[.exe], SHA256SUMS, VERSION
 *   bun build.ts --target linux-arm64 [--outfile path]   one cross-compiled target (no smoke run)
 *   bun build.ts --no-smoke         skip the smoke run
 *
 * Bytecode needs ESM (`--bytecode` alone writes a broken binary and still exits 0), and the result is
 * never stripped (strip removes the embedded payload). Cross-compile runtimes come from the npm registry.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative, resolve } from "node:path"
import { parseArgs } from "node:util"

const ROOT = import.meta.dir
const MAIN = "src/index.ts"

/**
 * Extra entrypoints compiled into the executable. A file that is loaded at runtime by path (a Worker
 * script) must be an entrypoint of the compile, or the binary cannot find it. Listed here and only
 * here; entries whose file does not exist yet are skipped. None today: the workspace tool host is
 * this same executable started with a hidden argument (src/index.ts routes it before the CLI loads).
 */
export const EXTRA_ENTRYPOINTS: string[] = []

/** Release targets: `--all` builds every one of them. */
export const TARGETS = {
  "linux-x64": "bun-linux-x64",
  "linux-arm64": "bun-linux-arm64",
  "darwin-arm64": "bun-darwin-arm64",
  "darwin-x64": "bun-darwin-x64",
  "windows-x64": "bun-windows-x64",
} as const satisfies Record<string, Bun.Build.CompileTarget>
export type TargetName = keyof typeof TARGETS

function hostTarget(): TargetName | null {
  const os = process.platform === "win32" ? "windows" : process.platform
  const name = `${os}-${process.arch}`
  return name in TARGETS ? (name as TargetName) : null
}

async function gitCommit(): Promise<string> {
  const proc = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "ignore",
  })
  const commit = proc.exitCode === 0 ? proc.stdout.toString().trim() : ""
  if (!commit) return "unknown"
  const dirty = Bun.spawnSync(["git", "status", "--porcelain", "--untracked-files=no"], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "ignore",
  })
  return dirty.exitCode === 0 && dirty.stdout.toString().trim() ? `${commit}-dirty` : commit
}

export interface BuildOptions {
  target?: TargetName
  outfile: string
  version: string
  commit: string
}

/**
 * ink (`drost tui`) imports react-devtools-core, an optional peer that is not installed, only when
 * DEV=true; the bundler resolves every import at build time, so the binary gets an inert stand-in.
 */
const noReactDevtools: import("bun").BunPlugin = {
  name: "no-react-devtools",
  setup(build) {
    build.onResolve({ filter: /^react-devtools-core$/ }, () => ({ path: "react-devtools-core", namespace: "stub" }))
    build.onLoad({ filter: /.*/, namespace: "stub" }, () => ({
      contents: "export default { initialize() {}, connectToDevTools() {} }",
      loader: "js",
    }))
  },
}

export async function compile(options: BuildOptions): Promise<{ outfile: string; bytes: number; ms: number }> {
  const started = performance.now()
  const entrypoints = [MAIN, ...EXTRA_ENTRYPOINTS.filter((file) => existsSync(join(ROOT, file)))].map((file) =>
    join(ROOT, file),
  )
  mkdirSync(resolve(options.outfile, ".."), { recursive: true })
  const result = await Bun.build({
    entrypoints,
    compile: {
      ...(options.target ? { target: TARGETS[options.target] } : {}),
      outfile: options.outfile,
      // Behaviour must not depend on stray files in the folder the user runs the binary from: secrets
      // come from the real environment or the auth profiles; `.env` is read by the config loader.
      autoloadDotenv: false,
      autoloadBunfig: false,
    },
    minify: true,
    bytecode: true,
    format: "esm",
    // Code loaded with import() (the gateway behind `drost start`'s supervisor, SDKs, channels, the
    // wizard) goes into chunks read only when imported: the supervisor and short commands skip it.
    splitting: true,
    sourcemap: "none",
    throw: false,
    define: { DROST_VERSION: JSON.stringify(options.version), DROST_COMMIT: JSON.stringify(options.commit) },
    plugins: [noReactDevtools],
  })
  if (!result.success) {
    for (const log of result.logs) console.error(log)
    throw new Error(`build failed for ${options.target ?? "host"}`)
  }
  const bytes = Bun.file(options.outfile).size
  if (bytes < 1_000_000)
    throw new Error(`${options.outfile} is only ${bytes} bytes; the compile did not embed the runtime`)
  return { outfile: options.outfile, bytes, ms: Math.round(performance.now() - started) }
}

async function waitReady(proc: Bun.Subprocess<"ignore", "pipe", "pipe">, timeoutMs: number): Promise<string> {
  const decoder = new TextDecoder()
  let out = ""
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs)
  for await (const chunk of proc.stdout) {
    out += decoder.decode(chunk)
    const line = out.split("\n").find((candidate) => candidate.startsWith('{"ready":true'))
    if (line) {
      clearTimeout(timer)
      return (JSON.parse(line) as { url: string }).url
    }
  }
  clearTimeout(timer)
  throw new Error(`the binary exited before it was ready:\n${out}\n${await new Response(proc.stderr).text()}`)
}

/** Runs the fresh binary the way a user would: version, start in an empty folder, /healthz, stop. */
export async function smoke(binary: string, version: string): Promise<{ startMs: number }> {
  const printed = Bun.spawnSync([binary, "--version"], { stdout: "pipe", stderr: "pipe" })
  if (printed.exitCode !== 0 || printed.stdout.toString().trim() !== version)
    throw new Error(
      `smoke: \`${binary} --version\` printed "${printed.stdout.toString().trim()}" (exit ${printed.exitCode}), expected "${version}"`,
    )
  const folder = mkdtempSync(join(tmpdir(), "drost-smoke-"))
  try {
    const started = performance.now()
    const proc = Bun.spawn([binary, "start", "--port", "0"], {
      cwd: folder,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      env: { PATH: "/usr/bin:/bin", HOME: folder },
    })
    const url = await waitReady(proc, 15_000)
    const health = await fetch(`${url}/healthz`)
    const startMs = Math.round(performance.now() - started)
    if (health.status !== 200) throw new Error(`smoke: /healthz answered ${health.status}: ${await health.text()}`)
    proc.kill("SIGTERM")
    const code = await proc.exited
    if (code !== 0) throw new Error(`smoke: the gateway exited with ${code} after SIGTERM`)
    return { startMs }
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

async function sha256(file: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256")
  hasher.update(await Bun.file(file).arrayBuffer())
  return hasher.digest("hex")
}

async function cli(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      all: { type: "boolean", default: false },
      target: { type: "string" },
      outfile: { type: "string" },
      "no-smoke": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  })
  if (values.help) {
    console.log(
      `usage: bun build.ts [--all | --target <${Object.keys(TARGETS).join("|")}>] [--outfile <path>] [--no-smoke]`,
    )
    return
  }
  const version = ((await Bun.file(join(ROOT, "package.json")).json()) as { version: string }).version
  const commit = await gitCommit()
  const dist = join(ROOT, "dist")
  const host = hostTarget()

  if (values.target && !(values.target in TARGETS))
    throw new Error(`unknown target "${values.target}"; one of ${Object.keys(TARGETS).join(", ")}`)
  const chosen = values.target as TargetName | undefined
  const outfile = resolve(
    values.outfile ??
      (chosen ? join(dist, `drost-${chosen}${chosen.startsWith("windows") ? ".exe" : ""}`) : join(dist, "drost")),
  )
  const first = await compile({ target: chosen, outfile, version, commit })
  console.log(
    `built ${relative(process.cwd(), first.outfile)} · ${mib(first.bytes)} · ${first.ms} ms · drost ${version} (${commit})`,
  )

  const runsHere = !chosen || chosen === host
  if (!values["no-smoke"] && runsHere) {
    const result = await smoke(first.outfile, version)
    console.log(`smoke ok: --version, start in an empty folder, /healthz 200 after ${result.startMs} ms, clean stop`)
  }

  if (values.all) {
    const sums: string[] = []
    for (const name of Object.keys(TARGETS) as TargetName[]) {
      const file = join(dist, `drost-${name}${name.startsWith("windows") ? ".exe" : ""}`)
      const built = await compile({ target: name, outfile: file, version, commit })
      sums.push(`${await sha256(built.outfile)}  ${relative(dist, built.outfile)}`)
      console.log(`built ${relative(process.cwd(), built.outfile)} · ${mib(built.bytes)} · ${built.ms} ms`)
    }
    writeFileSync(join(dist, "SHA256SUMS"), `${sums.join("\n")}\n`)
    // drost update reads the release's version from this file (docs/operations.md#update).
    writeFileSync(join(dist, "VERSION"), `${version}\n`)
    console.log(`wrote ${relative(process.cwd(), join(dist, "SHA256SUMS"))} and VERSION`)
  }
}

if (import.meta.main) {
  await cli(process.argv.slice(2)).catch((error: unknown) => {
    console.error(`build: ${error instanceof Error ? error.message : String(error)}`)
    process.exit(1)
  })
}
