/**
 * The Control API from the page: every request carries the token the person signed in with, and goes
 * to this origin only. Event streams are read with fetch (EventSource cannot send a bearer token).
 */

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`)
    this.status = status
    this.body = body
  }
}

const url = (path) =>
  path.startsWith("/control/") || ["/healthz", "/livez", "/readyz"].includes(path) ? path : `/control/v1${path}`

export function createClient(token) {
  async function raw(path, { method = "GET", json, headers = {}, signal, accept = "application/json" } = {}) {
    const init = { method, signal, headers: { authorization: `Bearer ${token}`, accept, ...headers } }
    if (json !== undefined) {
      init.body = JSON.stringify(json)
      init.headers["content-type"] = "application/json"
    }
    const response = await fetch(url(path), init)
    if (!response.ok) {
      const body = await response.json().catch(() => null)
      throw new ApiError(response.status, body)
    }
    return response
  }
  const call = async (path, options) => {
    const response = await raw(path, options)
    return response.status === 204 ? null : response.json()
  }
  return {
    token,
    raw,
    get: (path, options) => call(path, options),
    send: (method, path, json) => call(path, { method, json }),
    /** admin or read: which buttons the page shows (the API refuses changes to the read token anyway). */
    role: async () => (await call("/whoami")).role,
  }
}

/** Server-sent events from a fetch response: `{ event, id, data }` with `data` parsed as JSON. */
export async function* readSse(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ""
  try {
    while (true) {
      const { value, done } = await reader.read()
      if (done) return
      buffer += value.replace(/\r\n?/g, "\n")
      let end = buffer.indexOf("\n\n")
      while (end >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        end = buffer.indexOf("\n\n")
        const frame = parseFrame(block)
        if (frame) yield frame
      }
    }
  } finally {
    reader.cancel().catch(() => {})
  }
}

function parseFrame(block) {
  let event = "message"
  let id = null
  const data = []
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue
    const colon = line.indexOf(":")
    const field = colon < 0 ? line : line.slice(0, colon)
    let value = colon < 0 ? "" : line.slice(colon + 1)
    if (value.startsWith(" ")) value = value.slice(1)
    if (field === "event") event = value
    else if (field === "id") id = value
    else if (field === "data") data.push(value)
  }
  if (!data.length) return null
  try {
    return { event, id, data: JSON.parse(data.join("\n")) }
  } catch {
    return { event, id, data: data.join("\n") }
  }
}
