/**
 * The SSRF guard of `web.fetch`: which addresses a URL would connect to (the URL's IP literal, or every
 * address its host name resolves to) and whether each may be reached. Public addresses may; loopback,
 * private, link-local, CGNAT, multicast and reserved ones only when the owner's `tools.web.allowHosts`
 * admits them. web.ts then connects to exactly the addresses vetted here, so a name that resolves
 * differently a moment later (DNS rebinding) changes nothing.
 */
import { lookup } from "node:dns/promises"
import { type Bytes, bracket, classify, inPrefix, parseIp } from "./address.ts"

/** One `allowHosts` entry: a host name, or an address range (a single IP is a full-length prefix). */
export type AllowEntry = { text: string; port?: number } & ({ name: string } | { net: { prefix: Bytes; bits: number } })

export interface AllowList {
  entries: AllowEntry[]
  /** Entries that are neither a name, an IP nor a CIDR range (named in refusals so the owner sees them). */
  invalid: string[]
}

/** A request web.fetch will not make, with the reason and what the owner can do. */
export class Refused extends Error {
  override name = "Refused"
}

const NAME = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/
const normalName = (host: string) => host.toLowerCase().replace(/\.$/, "")

/** IPv4-mapped IPv6 (::ffff:a.b.c.d) is the IPv4 host itself for matching purposes. */
function unmap(address: Bytes): Bytes {
  const mapped = address.length === 16 && address.subarray(0, 12).every((byte, i) => byte === (i >= 10 ? 0xff : 0))
  return mapped ? address.subarray(12) : address
}

function parseEntry(raw: string): AllowEntry | null {
  const text = raw.trim()
  let host = text.toLowerCase()
  let port: number | undefined
  if (host.includes("://")) {
    // Forgiving: "http://localhost:3000/" means host localhost, port 3000.
    try {
      const url = new URL(host)
      host = url.hostname
      port = url.port ? Number(url.port) : undefined
    } catch {
      return null
    }
  } else {
    const withPort = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(host)
    if (withPort) {
      host = withPort[1] ?? ""
      port = Number(withPort[2])
      if (port < 1 || port > 65535) return null
    }
  }
  const [address, bits, extra] = host.split("/")
  if (extra !== undefined || address === undefined) return null
  const ip = parseIp(address)
  if (ip) {
    const width = ip.length * 8
    const length = bits === undefined ? width : /^\d{1,3}$/.test(bits) ? Number(bits) : -1
    if (length < 0 || length > width) return null
    return { text, port, net: { prefix: ip.length === 16 && length === 128 ? unmap(ip) : ip, bits: length } }
  }
  if (bits !== undefined || !NAME.test(normalName(host))) return null
  return { text, port, name: normalName(host) }
}

export function allowList(raw: string[]): AllowList {
  const entries: AllowEntry[] = []
  const invalid: string[] = []
  for (const text of raw) {
    const entry = parseEntry(text)
    if (entry) entries.push(entry)
    else invalid.push(text)
  }
  return { entries, invalid }
}

/** The port a URL connects to. */
export const portOf = (url: URL) => Number(url.port || (url.protocol === "https:" ? 443 : 80))

function admits(list: AllowList, url: URL, address: Bytes): boolean {
  const port = portOf(url)
  const name = normalName(url.hostname)
  return list.entries.some((entry) => {
    if (entry.port !== undefined && entry.port !== port) return false
    if ("name" in entry) return entry.name === name
    const candidate = entry.net.prefix.length === 4 ? unmap(address) : address
    return inPrefix(candidate, entry.net.prefix, entry.net.bits)
  })
}

export type Resolver = (name: string) => Promise<string[]>

const resolveAll: Resolver = async (name) =>
  (await lookup(name, { all: true, verbatim: true })).map((result) => result.address)

const WHY: Record<string, string> = {
  loopback: "a loopback address (this machine: the gateway's Control API and every local service)",
  unspecified: "an unspecified address (it reaches this machine)",
  private: "a private-network address",
  "link-local": "a link-local address (cloud metadata services such as 169.254.169.254 live there)",
  "shared (CGNAT)": "a carrier-grade NAT address (the provider's internal network)",
  multicast: "a multicast address",
  reserved: "a reserved special-purpose address",
}

/**
 * The addresses `url` may be fetched from, in the resolver's order; throws `Refused` when any address
 * it would connect to is not public and not admitted by `allowHosts`, `Error` when the name does not
 * resolve.
 */
export async function vet(url: URL, list: AllowList, resolve: Resolver = resolveAll): Promise<string[]> {
  const literal = parseIp(url.hostname)
  const host = url.hostname.replace(/^\[|\]$/g, "")
  let addresses: string[]
  if (literal) addresses = [host]
  else {
    addresses = await resolve(url.hostname).catch((error: Error & { code?: string }) => {
      throw new Error(`cannot resolve ${url.hostname}: ${error.code ?? error.message}`)
    })
    if (addresses.length === 0) throw new Error(`cannot resolve ${url.hostname}: no addresses`)
  }
  for (const address of addresses) {
    const bytes = parseIp(address)
    const kind = bytes ? classify(bytes) : "reserved"
    if (kind === "public" || (bytes && admits(list, url, bytes))) continue
    const what = literal ? `${bracket(host)} is ${WHY[kind]}` : `${url.hostname} resolves to ${address}, ${WHY[kind]}`
    const exact = `${literal ? bracket(host) : normalName(url.hostname)}${url.port ? `:${url.port}` : ""}`
    const ignored = list.invalid.length
      ? ` (allowHosts entries ignored, neither a host name, an IP nor a CIDR range: ${list.invalid.map((entry) => JSON.stringify(entry)).join(", ")})`
      : ""
    throw new Refused(
      `refused ${url.origin}${url.pathname}: ${what}. web.fetch reaches only public addresses unless the owner allows the host${ignored}. ` +
        `To allow it, the owner adds "${exact}" to tools.web.allowHosts in the config (a host name, IP address or CIDR range, optionally with :port; see docs/tools.md).`,
    )
  }
  return addresses
}
