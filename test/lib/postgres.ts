/**
 * A real PostgreSQL server for tests: Debian's `postgresql` binaries (under /usr/lib/postgresql/<n>/bin),
 * a fresh cluster in a temporary folder (`initdb -A trust`; in /dev/shm where it exists), listening on
 * 127.0.0.1 at a free port with its socket in that folder, stopped with `pg_ctl stop -m immediate` and
 * removed after (at the latest when the test process exits; a SIGKILLed test run leaves it). As root the
 * server runs as the `postgres` user (PostgreSQL refuses to run as root): `su postgres -s /bin/sh -c …`.
 *
 * One server per test file (`startPostgres()` in beforeAll), a fresh database per test
 * (`server.database(template?)`: CREATE DATABASE, 15-50 ms). The cluster trades durability for speed
 * (fsync off): it lives for one test file.
 *
 * `postgresMissing()` says why no server can be started here (null when one can); a test file skips with
 * that reason outside CI and fails in CI (`CI=true`), where .ci/ensure-deps installs the package.
 */
import { afterAll, beforeAll } from "bun:test"
import { spawnSync } from "bun"
import { accessSync, chownSync, constants, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** The folder holding initdb, pg_ctl and postgres (the newest version installed), or null. */
export function postgresBin(): string | null {
  const root = "/usr/lib/postgresql"
  if (!existsSync(root)) return null
  const versions = readdirSync(root)
    .filter((name) => /^\d+$/.test(name) && existsSync(join(root, name, "bin", "pg_ctl")))
    .sort((a, b) => Number(b) - Number(a))
  return versions.length ? join(root, versions[0]!, "bin") : null
}

const root = () => process.getuid?.() === 0

/** Why PostgreSQL cannot be started here, or null when it can. */
export function postgresMissing(): string | null {
  if (!postgresBin()) return "PostgreSQL is not installed (apt-get install postgresql: .ci/ensure-deps does it as root)"
  if (root() && spawnSync(["id", "-u", "postgres"]).exitCode !== 0)
    return "running as root but there is no postgres user to run the server as (the Debian package creates it)"
  return null
}

/**
 * For a test file: the skip reason outside CI, null when PostgreSQL is there; throws in CI when it is
 * missing, so CI never passes with the PostgreSQL tests silently skipped.
 */
export function postgresSkip(): string | null {
  const missing = postgresMissing()
  if (missing && process.env.CI === "true") throw new Error(`PostgreSQL tests cannot run in CI: ${missing}`)
  return missing
}

export interface PostgresServer {
  host: string
  port: number
  /** postgres://postgres@127.0.0.1:<port>/<database> */
  url(database?: string): string
  /**
   * A new database (CREATE DATABASE), empty or a copy of `template` (a database nobody is connected
   * to: migrate one once, copy it per test); returns its URL.
   */
  database(template?: string): Promise<string>
  stop(): Promise<void>
}

function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } })
  const port = server.port
  server.stop(true)
  return port
}

/** Run a command as the server's user (postgres when we are root). */
function run(argv: string[]): { ok: boolean; output: string } {
  const quoted = argv.map((arg) => `'${arg.replaceAll("'", `'\\''`)}'`).join(" ")
  const command = root() ? ["su", "postgres", "-s", "/bin/sh", "-c", quoted] : ["/bin/sh", "-c", quoted]
  const result = spawnSync(command, { stdout: "pipe", stderr: "pipe" })
  return { ok: result.exitCode === 0, output: `${result.stdout.toString()}${result.stderr.toString()}`.trim() }
}

/** Clusters of this process (their folders), stopped and removed at exit if a test file did not. */
const running = new Set<string>()
function discard(dir: string) {
  const bin = postgresBin()
  if (bin && existsSync(join(dir, "data", "postmaster.pid")))
    run([join(bin, "pg_ctl"), "-D", join(dir, "data"), "stop", "-m", "immediate"])
  rmSync(dir, { recursive: true, force: true })
  running.delete(dir)
}
process.on("exit", () => {
  // A test file that crashed, or whose start outlived its hook's timeout: never leave a server behind.
  for (const dir of running) discard(dir)
})

/** /dev/shm when it is a folder everyone may write to (Linux), else null. */
function memoryDir(): string | null {
  try {
    accessSync("/dev/shm", constants.W_OK | constants.X_OK)
    return (statSync("/dev/shm").mode & 0o1777) === 0o1777 ? "/dev/shm" : null
  } catch {
    return null
  }
}

/**
 * One server for the test file (or describe block) that calls this: started before its tests, stopped
 * after them. Read `.server` inside tests and hooks.
 */
export function postgresPerFile(): { readonly server: PostgresServer } {
  let started: PostgresServer | undefined
  beforeAll(async () => {
    started = await startPostgres()
  }, 60_000)
  afterAll(async () => {
    await started?.stop()
  }, 30_000)
  return {
    get server() {
      if (!started) throw new Error("PostgreSQL is not started: read .server inside a test or hook")
      return started
    },
  }
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBin()
  const missing = postgresMissing()
  if (!bin || missing) throw new Error(missing ?? "PostgreSQL is not installed")
  // In memory where there is a tmpfs (/dev/shm): the cluster is thrown away after the file, and on a
  // disk shared with other work CREATE DATABASE took 300-400 ms instead of 15-30. Directly under the
  // temp folder, not the tests' private 0700 root: the server's user must be able to reach it.
  const dir = mkdtempSync(join(memoryDir() ?? tmpdir(), "drost-pg-"))
  running.add(dir)
  if (root()) {
    const uid = Number(spawnSync(["id", "-u", "postgres"]).stdout.toString().trim())
    const gid = Number(spawnSync(["id", "-g", "postgres"]).stdout.toString().trim())
    chownSync(dir, uid, gid)
  }
  const data = join(dir, "data")
  const init = run([join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
  if (!init.ok) {
    discard(dir)
    throw new Error(`initdb failed: ${init.output}`)
  }
  const host = "127.0.0.1"
  let port = 0
  let last = ""
  for (let attempt = 0; attempt < 5; attempt++) {
    port = freePort()
    const options = `-p ${port} -k ${dir} -h ${host} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c dynamic_shared_memory_type=mmap`
    const start = run([join(bin, "pg_ctl"), "-D", data, "-o", options, "-l", join(dir, "log"), "-w", "start"])
    if (start.ok) {
      last = ""
      break
    }
    last = start.output
  }
  if (last) {
    discard(dir)
    throw new Error(`pg_ctl start failed: ${last}`)
  }
  const url = (database = "postgres") => `postgres://postgres@${host}:${port}/${database}`
  const admin = new Bun.SQL(url(), { max: 1 })
  let databases = 0
  return {
    host,
    port,
    url,
    async database(template) {
      const name = `t${++databases}_${process.pid}`
      const from = template ? ` TEMPLATE "${template.replaceAll('"', '""')}"` : ""
      await admin.unsafe(`CREATE DATABASE ${name}${from}`)
      return url(name)
    },
    async stop() {
      await admin.close()
      discard(dir)
    },
  }
}
