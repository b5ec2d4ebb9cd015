/**
 * Releases as `bun build.ts --all` writes them (docs/install.md): a folder with `drost-<os>-<arch>`
 * (`.exe` on Windows), `SHA256SUMS` (`<hex>  <name>` per line) and `VERSION` (one line). `drost
 * update` reads that folder from a base URL: `update.baseUrl`, DROST_UPDATE_URL or `--base-url`, e.g.
 * GitHub's `https://github.com/<owner>/<repo>/releases/latest/download/`.
 */
import { DrostError } from "../core/error.ts"
import { sha256 } from "./manifest.ts"

export const DEFAULT_BASE_HINT = "https://github.com/<owner>/<repo>/releases/latest/download/"

export class NoReleaseUrl extends DrostError {
  constructor() {
    super(
      "NoReleaseUrl",
      `no release URL: set update.baseUrl in the config (e.g. ${DEFAULT_BASE_HINT} of the repository you install from), DROST_UPDATE_URL, or pass --base-url`,
    )
  }
}

/** The release file for this machine: `drost-linux-x64`, `drost-darwin-arm64`, `drost-windows-x64.exe`. */
export function assetName(platform: string = process.platform, arch: string = process.arch): string {
  const os = platform === "win32" ? "windows" : platform
  return `drost-${os}-${arch}${os === "windows" ? ".exe" : ""}`
}

const folder = (base: string) => (base.endsWith("/") ? base : `${base}/`)

async function get(base: string, name: string, timeoutMs: number): Promise<Response> {
  const url = new URL(name, folder(base)).toString()
  const response = await fetch(url, { redirect: "follow", signal: AbortSignal.timeout(timeoutMs) }).catch(
    (error: Error) => {
      throw new DrostError("Download", `cannot download ${url}: ${error.message}`)
    },
  )
  if (!response.ok) throw new DrostError("Download", `${url} answered ${response.status}`)
  return response
}

/** The release's version (its VERSION file). */
export async function latestVersion(base: string, timeoutMs = 30_000): Promise<string> {
  const text = (await (await get(base, "VERSION", timeoutMs)).text()).trim()
  if (!/^v?\d+\.\d+\.\d+\S*$/.test(text))
    throw new DrostError("Download", `the release's VERSION is not a version: "${text.slice(0, 40)}"`)
  return text.replace(/^v/, "")
}

/** True when `latest` is newer than `current`. */
export const newer = (latest: string, current: string) => Bun.semver.order(latest, current) > 0

/** Download this machine's executable and check it against SHA256SUMS; throws on any mismatch. */
export async function download(base: string, name = assetName(), timeoutMs = 600_000): Promise<Uint8Array> {
  const sums = await (await get(base, "SHA256SUMS", 30_000)).text()
  const line = sums
    .split("\n")
    .map((each) => each.trim().match(/^([0-9a-f]{64})\s+\*?(.+)$/i))
    .find((match) => match?.[2] === name)
  if (!line) throw new DrostError("Checksum", `SHA256SUMS of the release has no line for ${name}; nothing was changed`)
  const bytes = new Uint8Array(await (await get(base, name, timeoutMs)).arrayBuffer())
  const actual = sha256(bytes)
  if (actual !== line[1]!.toLowerCase())
    throw new DrostError(
      "Checksum",
      `${name} does not match SHA256SUMS (expected ${line[1]!.slice(0, 16)}…, got ${actual.slice(0, 16)}…); nothing was changed`,
    )
  return bytes
}
