/**
 * SSE subscribers on raw TCP sockets, for the tests and benches of slow and many clients (issue 14,
 * items 2 and 9). `fetch` cannot stop reading a body without also stopping the socket's buffering in
 * user space, so a client that "never reads" is a socket paused right after the response head, and a
 * reader is a socket that keeps only what it needs to check order (the `id:` of each frame).
 */
import { connect, type Socket } from "node:net"

export interface StalledSubscriber {
  socket: Socket
  /** Everything read so far: the head, then the chunked body (only once resumed). */
  received: string
  closed: boolean
}

/** Subscribes to `url` + `path` (e.g. `/control/v1/events?type=x`), reads the response head, then stops reading. */
export function stalledSubscriber(url: string, token: string, path = "/control/v1/events"): Promise<StalledSubscriber> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname)
    const entry: StalledSubscriber = { socket, received: "", closed: false }
    socket.setEncoding("utf8")
    socket.once("error", reject)
    socket.on("close", () => {
      entry.closed = true
    })
    socket.on("data", (chunk: string) => {
      const first = entry.received === ""
      entry.received += chunk
      if (first) {
        socket.pause()
        resolve(entry)
      }
    })
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${token}\r\n\r\n`)
  })
}

/** Resumes a stalled subscriber and reads until the response ends (its last chunk) or the socket closes. */
export async function drainSubscriber(entry: StalledSubscriber): Promise<string> {
  const ended = () => entry.closed || entry.received.endsWith("\r\n0\r\n\r\n")
  await new Promise<void>((resolve) => {
    if (ended()) return resolve()
    const check = () => {
      if (!ended()) return
      entry.socket.off("data", check)
      entry.socket.off("close", check)
      resolve()
    }
    entry.socket.on("data", check)
    entry.socket.on("close", check)
    entry.socket.resume()
  })
  entry.socket.destroy()
  return entry.received
}

/** The body of a chunked HTTP/1.1 response (as far as it arrived), without the head and chunk sizes. */
export function dechunk(raw: string): string {
  let at = raw.indexOf("\r\n\r\n") + 4
  let body = ""
  while (at > 3 && at < raw.length) {
    const eol = raw.indexOf("\r\n", at)
    if (eol < 0) break
    const size = Number.parseInt(raw.slice(at, eol), 16)
    if (!size) break
    body += raw.slice(eol + 2, eol + 2 + size)
    at = eol + 2 + size + 2
  }
  return body
}

/** A subscriber that reads everything and records the id of each frame (to check order and gaps). */
export interface ReadingSubscriber {
  ids: number[]
  overflowed: boolean
  /** Bytes of body received. */
  bytes: number
  close(): void
  closed: boolean
}

/**
 * A reading subscriber on a raw socket: cheaper than `fetch` per client, so a bench process can hold
 * thousands of them without becoming the bottleneck it measures. Parses only frame starts.
 */
export function readingSubscriber(url: string, token: string, path = "/control/v1/events"): Promise<ReadingSubscriber> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname)
    let head = true
    let carry = ""
    const entry: ReadingSubscriber = {
      ids: [],
      overflowed: false,
      bytes: 0,
      closed: false,
      close: () => socket.destroy(),
    }
    socket.setEncoding("utf8")
    socket.once("error", reject)
    socket.on("close", () => {
      entry.closed = true
    })
    socket.on("data", (chunk: string) => {
      entry.bytes += chunk.length
      let text = carry + chunk
      if (head) {
        const end = text.indexOf("\r\n\r\n")
        if (end < 0) {
          carry = text
          return
        }
        head = false
        text = text.slice(end + 4)
        resolve(entry)
      }
      // A frame starts with "id: N" or "event: overflow" right after a newline; the body begins with a
      // chunk-size line, so a match at 0 is never a frame start. What is kept for the next chunk always
      // includes the newline before a line that is still incomplete.
      let at = text.indexOf("id: ")
      let partial = -1
      while (at >= 0) {
        const eol = text.indexOf("\n", at)
        if (eol < 0) {
          partial = at
          break
        }
        if (at > 0 && text[at - 1] === "\n") entry.ids.push(Number(text.slice(at + 4, eol)))
        at = text.indexOf("id: ", eol)
      }
      if (text.includes("\nevent: overflow")) entry.overflowed = true
      const newline = text.lastIndexOf("\n")
      carry = partial > 0 ? text.slice(partial - 1) : newline >= 0 ? text.slice(newline) : ""
    })
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${token}\r\n\r\n`)
  })
}
