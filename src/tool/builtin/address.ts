/**
 * IP address classification for `web.fetch`: is an address on the public internet, or is it one of
 * the gateway's own machine, its network or a special-purpose range (loopback, private, link-local
 * cloud metadata, CGNAT, multicast, …)? web-guard.ts applies it, with the owner's allowHosts.
 *
 * Written here rather than with ipaddr.js or node:net's BlockList: the inputs are only ever the
 * canonical text the WHATWG URL parser or the resolver produce (the URL parser has already turned
 * `127.1`, `0x7f000001`, `2130706433` and `0177.0.0.1` into `127.0.0.1`), the table below is the IANA
 * special-purpose registries in twenty lines, and we need what BlockList cannot say: which range
 * (for the refusal text) and the IPv4 address embedded in mapped, compatible, NAT64 and 6to4 IPv6
 * addresses, classified as IPv4.
 */

/** Why an address is not fetched, or "public". */
export type AddressKind =
  | "public"
  | "loopback"
  | "unspecified"
  | "private"
  | "link-local"
  | "shared (CGNAT)"
  | "multicast"
  | "reserved"

/** 4 bytes (IPv4) or 16 (IPv6). */
export type Bytes = Uint8Array

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

function parseV4(text: string): Bytes | null {
  const match = V4.exec(text)
  if (!match) return null
  const parts = match.slice(1).map(Number)
  return parts.every((part) => part <= 255) ? Uint8Array.from(parts) : null
}

function parseV6(text: string): Bytes | null {
  const address = text.replace(/%.*$/, "") // a zone id ("fe80::1%eth0") does not change the range
  const halves = address.split("::")
  if (halves.length > 2) return null
  const groups = (half: string) => (half === "" ? [] : half.split(":"))
  const head = groups(halves[0] ?? "")
  const tail = halves.length === 2 ? groups(halves[1] ?? "") : []
  const words: number[] = []
  const push = (list: string[], last: boolean) => {
    for (const [index, group] of list.entries()) {
      if (last && index === list.length - 1 && group.includes(".")) {
        const v4 = parseV4(group)
        if (!v4) return false
        words.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0))
      } else if (/^[0-9a-f]{1,4}$/i.test(group)) words.push(Number.parseInt(group, 16))
      else return false
    }
    return true
  }
  if (!push(head, halves.length === 1)) return null
  const before = words.length
  if (!push(tail, true)) return null
  const missing = 8 - words.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null
  words.splice(before, 0, ...new Array<number>(missing).fill(0))
  return Uint8Array.from(words.flatMap((word) => [word >> 8, word & 0xff]))
}

/** The address's bytes, or null when `text` is not an IP address (then it is a host name). */
export function parseIp(text: string): Bytes | null {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text
  return bare.includes(":") ? parseV6(bare) : parseV4(bare)
}

/** Whether the first `bits` bits of `address` equal those of `prefix` (same family only). */
export function inPrefix(address: Bytes, prefix: Bytes, bits: number): boolean {
  if (address.length !== prefix.length) return false
  for (let bit = 0; bit < bits; bit += 8) {
    const mask = bits - bit >= 8 ? 0xff : (0xff << (8 - (bits - bit))) & 0xff
    if (((address[bit / 8] ?? 0) & mask) !== ((prefix[bit / 8] ?? 0) & mask)) return false
  }
  return true
}

type Range = [prefix: string, bits: number, kind: Exclude<AddressKind, "public">]

/** IANA IPv4 special-purpose registry, as far as it matters for an outgoing request. */
const V4_RANGES: Range[] = [
  ["0.0.0.0", 8, "unspecified"], // "this network"; 0.0.0.0 reaches the local machine on Linux
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "shared (CGNAT)"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local"], // cloud metadata services (169.254.169.254) live here
  ["172.16.0.0", 12, "private"],
  ["192.0.0.0", 24, "reserved"], // IETF protocol assignments
  ["192.0.2.0", 24, "reserved"], // documentation
  ["192.88.99.0", 24, "reserved"], // 6to4 relay anycast
  ["192.168.0.0", 16, "private"],
  ["198.18.0.0", 15, "reserved"], // benchmarking, often used inside networks
  ["198.51.100.0", 24, "reserved"],
  ["203.0.113.0", 24, "reserved"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved"], // including the broadcast address
]

/** IPv6 ranges checked before "is it global unicast (2000::/3) at all". */
const V6_RANGES: Range[] = [
  ["::1", 128, "loopback"],
  ["::", 128, "unspecified"],
  ["64:ff9b:1::", 48, "private"], // local-use NAT64 (RFC 8215)
  ["100::", 64, "reserved"], // discard-only
  ["2001::", 23, "reserved"], // IETF protocol assignments: Teredo, benchmarking, ORCHID
  ["2001:db8::", 32, "reserved"], // documentation
  ["fc00::", 7, "private"], // unique local
  ["fec0::", 10, "private"], // deprecated site-local
  ["fe80::", 10, "link-local"],
  ["ff00::", 8, "multicast"],
]

const compile = (ranges: Range[]) =>
  ranges.map(([prefix, bits, kind]) => ({ prefix: parseIp(prefix) as Bytes, bits, kind }))
const V4_TABLE = compile(V4_RANGES)
const V6_TABLE = compile(V6_RANGES)
const GLOBAL_UNICAST = parseIp("2000::") as Bytes

/** IPv6 prefixes whose address carries an IPv4 address that the packets actually go to. */
const EMBEDDING: { prefix: Bytes; bits: number; at: number }[] = [
  { prefix: parseIp("::ffff:0:0") as Bytes, bits: 96, at: 12 }, // IPv4-mapped
  { prefix: parseIp("::") as Bytes, bits: 96, at: 12 }, // IPv4-compatible (deprecated)
  { prefix: parseIp("64:ff9b::") as Bytes, bits: 96, at: 12 }, // NAT64 well-known prefix
  { prefix: parseIp("2002::") as Bytes, bits: 16, at: 2 }, // 6to4
]

/** The IPv4 address an IPv6 address stands for (mapped, compatible, NAT64, 6to4), if any. */
export function embeddedV4(address: Bytes): Bytes | null {
  if (address.length !== 16) return null
  if (inPrefix(address, parseIp("::") as Bytes, 127)) return null // :: and ::1 are IPv6's own
  const embedding = EMBEDDING.find(({ prefix, bits }) => inPrefix(address, prefix, bits))
  return embedding ? address.subarray(embedding.at, embedding.at + 4) : null
}

export function classify(address: Bytes): AddressKind {
  if (address.length === 4)
    return V4_TABLE.find((range) => inPrefix(address, range.prefix, range.bits))?.kind ?? "public"
  const v4 = embeddedV4(address)
  if (v4) return classify(v4)
  const range = V6_TABLE.find((candidate) => inPrefix(address, candidate.prefix, candidate.bits))
  if (range) return range.kind
  return inPrefix(address, GLOBAL_UNICAST, 3) ? "public" : "reserved"
}

/** Address text for messages and URLs: IPv6 in brackets. */
export const bracket = (ip: string) => (ip.includes(":") ? `[${ip}]` : ip)
