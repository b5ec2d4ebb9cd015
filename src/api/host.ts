/**
 * Which `Host` a request may name. A web page the user opens can make the browser talk to the loopback
 * API through its own domain name (DNS rebinding): the browser then sends `Host: attacker.example`.
 * So only loopback names (`localhost`, `127.x.x.x`, `[::1]`, any port), the address the API is bound
 * to (`controlApi.host`) and the names listed in `controlApi.allowedHosts` are served; any
 * other name gets 421, and a `Host` that is not a host name at all gets 400. Both before any route,
 * auth or body, with the API's JSON error.
 *
 * A request without `Host` only reaches us over HTTP/1.0 (Bun's parser answers a HTTP/1.1 request
 * without one 400 itself, as RFC 9112 §3.2 requires). Old health checkers send those; no browser
 * does, so DNS rebinding cannot produce one: it is served as if it named 127.0.0.1.
 */
import { problem } from "./errors.ts"

/** The name part of a Host header, lower case, IPv6 without brackets; null when it is not `name[:port]`. */
export function hostName(header: string): string | null {
  const value = header.trim().toLowerCase()
  const match =
    value.match(/^\[([0-9a-f:.]+)\](?::(\d{1,5}))?$/) ??
    value.match(/^([a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?)(?::(\d{1,5}))?$/)
  if (!match) return null
  if (match[2] !== undefined && Number(match[2]) > 65535) return null
  return match[1]!
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and localhost. */
export function isLoopbackName(name: string): boolean {
  return (
    name === "localhost" ||
    name === "::1" ||
    name === "::ffff:127.0.0.1" ||
    /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(name)
  )
}

/** Normalise a configured entry the way `hostName` normalises a header: lower case, no brackets. */
const normal = (entry: string) =>
  entry
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, "")

export interface HostPolicy {
  /** Extra names (controlApi.allowedHosts) and the bound address, normalised. */
  names: Set<string>
}

export function hostPolicy(bind: string, allowed: readonly string[] = []): HostPolicy {
  // The bound address itself, wildcards too: `http://0.0.0.0:7420` is what the start banner and the
  // supervisor's health gate use then, and an address literal is never a rebinding page's name.
  const names = new Set([...allowed, bind].map(normal))
  return { names }
}

/** null when the request may go on; else the answer (400 malformed, 421 a name we do not serve). */
export function refuseHost(request: Request, policy: HostPolicy): Response | null {
  const header = request.headers.get("host")
  if (header === null) return null
  const name = hostName(header)
  if (name === null)
    return problem(
      400,
      "InvalidHost",
      `the Host header ${JSON.stringify(header.slice(0, 100))} is not a host name; send Host: 127.0.0.1:<port> (or the name you connect to)`,
    )
  if (isLoopbackName(name) || policy.names.has(name)) return null
  return problem(
    421,
    "MisdirectedRequest",
    `this gateway does not serve the host "${name}"; connect through 127.0.0.1 or localhost, or add the name to controlApi.allowedHosts`,
    { host: name },
  )
}
