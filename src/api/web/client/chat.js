/**
 * Chat with one session: its history (tool calls folded, with arguments, output and timing; images),
 * and a composer whose turn streams over POST /sessions/:id/turn with Accept: text/event-stream.
 * Approvals this session's turn waits for are shown inline (admin token: approve or deny here).
 */
import { html } from "htm/preact"
import { useEffect, useRef, useState } from "preact/hooks"
import { readSse } from "./api.js"
import { outcomeNote } from "./outcome.js"
import { Approval } from "./approvals.js"
import { duration, Failure, pretty, time, useLoad } from "./ui.js"

function imageSource(part) {
  if (part.data.startsWith("data:")) return part.data
  if (/^https?:/i.test(part.data)) return null // never fetched from the page: no request leaves this origin
  return `data:${part.mediaType};base64,${part.data}`
}

function Image({ part }) {
  const source = imageSource(part)
  if (!source) return html`<p class="muted">Image at ${part.data} (not loaded: remote)</p>`
  return html`<img class="chat-image" src=${source} alt=${`Image (${part.mediaType})`} />`
}

/** Timing of a call, from the event feed (tool.call.completed carries durationMs). */
function timingOf(feed, callId) {
  for (const event of feed.events())
    if (event.type === "tool.call.completed" && event.data.callId === callId) return event.data.durationMs
  return null
}

export function ToolCall({ call }) {
  const state =
    call.output !== undefined ? (call.isError ? "error" : "ok") : call.waiting ? "waiting for approval" : "running"
  return html`<details class=${`tool tool-${state.split(" ")[0]}`} data-call=${call.id}>
    <summary>
      <span class="tool-name">${call.name}</span>
      <span class="badge">${state}</span>
      ${call.durationMs !== null && call.durationMs !== undefined ? html`<span class="muted">${duration(call.durationMs)}</span>` : null}
    </summary>
    <div class="tool-body">
      <h4>Arguments</h4>
      <pre class="tool-args">${pretty(call.args)}</pre>
      <h4>Output</h4>
      <pre class="tool-output">${call.output === undefined ? "…" : call.output}</pre>
    </div>
  </details>`
}

function Message({ message, results, feed }) {
  const parts = message.parts.filter((part) => part.type !== "tool-result" || !results.has(part.callId))
  if (!parts.length) return null
  return html`<article class=${`msg msg-${message.role}`} aria-label=${`From ${message.role}`}>
    <div class="msg-meta">${message.role} · ${time(message.createdAt)}</div>
    ${parts.map((part) => {
      if (part.type === "text") return html`<div class="msg-text">${part.text}</div>`
      if (part.type === "image") return html`<${Image} part=${part} />`
      if (part.type === "reasoning")
        return html`<details class="reasoning"><summary>Reasoning</summary><pre>${part.text}</pre></details>`
      if (part.type === "tool-call") {
        const result = results.get(part.id)
        return html`<${ToolCall}
          call=${{ id: part.id, name: part.name, args: part.args, output: result?.output, isError: result?.isError, durationMs: timingOf(feed, part.id) }}
        />`
      }
      if (part.type === "tool-result") return html`<pre class="tool-output">${part.output}</pre>`
      return null
    })}
  </article>`
}

function Live({ live, waiting }) {
  return html`<article class="msg msg-user" aria-label="From user (sending)">
      <div class="msg-meta">user · now</div>
      <div class="msg-text">${live.input}</div>
      ${live.images.map((image) => html`<${Image} part=${{ type: "image", ...image }} />`)}
    </article>
    <article class="msg msg-assistant live" aria-live="polite" aria-busy="true" data-deltas=${live.deltas}>
    <div class="msg-meta">assistant · streaming</div>
    ${live.items.map((item) =>
      item.kind === "text"
        ? html`<div class="msg-text">${item.text}</div>`
        : html`<${ToolCall} call=${{ ...item, waiting: waiting.has(item.id) }} />`,
    )}
  </article>`
}

const readImage = (file) =>
  new Promise((resolve, reject) => {
    const reader = new FileReader()
    reader.onload = () => resolve({ mediaType: file.type || "image/png", data: String(reader.result).split(",")[1] })
    reader.onerror = () => reject(reader.error)
    reader.readAsDataURL(file)
  })

export function Chat({ client, feed, role, sessionId, navigate }) {
  const sessions = useLoad(() => client.get("/sessions?limit=200"), [], feed, ["session.created", "session.deleted"])
  const detail = useLoad(
    () => (sessionId ? client.get(`/sessions/${sessionId}?limit=200&turns=0`) : Promise.resolve(null)),
    [sessionId],
    feed,
    [],
  )
  const approvals = useLoad(
    () => (sessionId ? client.get(`/approvals?session=${encodeURIComponent(sessionId)}`) : Promise.resolve(null)),
    [sessionId],
    feed,
    ["approval."],
  )
  const [text, setText] = useState("")
  const [images, setImages] = useState([])
  const [live, setLive] = useState(null)
  const [error, setError] = useState(null)
  const [answer, setAnswer] = useState(null)
  const end = useRef(null)
  const streaming = useRef(null)

  // History changes made elsewhere (another client, a channel, a schedule) while no turn streams here.
  useEffect(
    () =>
      feed.subscribe((event) => {
        if (event.type === "session.message" && event.data.sessionId === sessionId && !streaming.current)
          detail.reload()
      }),
    [sessionId],
  )
  useEffect(() => end.current?.scrollIntoView({ block: "end" }), [detail.data, live, approvals.data])

  async function send(event) {
    event.preventDefault()
    const input = text.trim()
    if (!input) return
    // Slash commands go to the command registry, at once, even while a turn streams (docs/channels.md).
    if (input.startsWith("/") && (await command(input))) return
    if (streaming.current) return
    setError(null)
    let id = sessionId
    try {
      if (!id) {
        id = (await client.send("POST", "/sessions", { title: input.slice(0, 60) })).id
        navigate(`#/chat/${id}`)
      }
      const controller = new AbortController()
      streaming.current = controller
      const state = { items: [], deltas: 0, input, images }
      setLive({ ...state })
      setText("")
      const body = { input, ...(images.length ? { images } : {}) }
      setImages([])
      const response = await client.raw(`/sessions/${id}/turn`, {
        method: "POST",
        json: body,
        accept: "text/event-stream",
        signal: controller.signal,
      })
      for await (const frame of readSse(response)) {
        const data = frame.data
        if (frame.event === "session.turn.delta") {
          state.deltas++
          const last = state.items[state.items.length - 1]
          if (last?.kind === "text") last.text += data.text
          else state.items.push({ kind: "text", text: data.text })
        } else if (frame.event === "tool.call.started") {
          state.items.push({ kind: "tool", id: data.callId, name: data.name, args: data.args })
        } else if (frame.event === "tool.call.completed") {
          const call = state.items.find((item) => item.kind === "tool" && item.id === data.callId)
          if (call) Object.assign(call, { output: data.output, isError: data.isError, durationMs: data.durationMs })
        } else if (frame.event === "turn.failed" || frame.event === "turn.interrupted") {
          setError(new Error(outcomeNote(frame.event.slice(5), data)))
        }
        setLive({ ...state, items: [...state.items] })
      }
    } catch (caught) {
      if (caught?.name !== "AbortError") setError(caught)
    } finally {
      streaming.current = null
      setLive(null)
      detail.reload()
      sessions.reload()
    }
  }

  /** Runs `line` as a command; false when it is none (then it is sent as a message). */
  async function command(line) {
    setError(null)
    try {
      const reply = await client.send("POST", "/commands", { line, sessionId: sessionId ?? null, channel: "web" })
      setText("")
      setAnswer(reply.text)
      if (reply.sessionId && reply.sessionId !== sessionId) navigate(`#/chat/${reply.sessionId}`)
      return true
    } catch (caught) {
      if (caught?.status === 400 && caught.body?.error === "NotACommand") return false
      setError(caught)
      return true
    }
  }

  async function attach(event) {
    // Taken before the await: the event's currentTarget is null once the handler has yielded.
    const input = event.currentTarget
    const files = [...input.files]
    input.value = ""
    const read = await Promise.all(files.map(readImage))
    setImages((previous) => [...previous, ...read])
  }

  async function abort() {
    streaming.current?.abort()
    if (sessionId) await client.send("POST", `/sessions/${sessionId}/abort`).catch(setError)
  }

  const messages = detail.data?.messages ?? []
  const results = new Map()
  for (const message of messages)
    for (const part of message.parts) if (part.type === "tool-result") results.set(part.callId, part)
  const list = sessions.data?.sessions ?? []

  return html`<div class="chat">
    <div class="chat-bar">
      <label for="chat-session">Session</label>
      <select id="chat-session" value=${sessionId ?? ""} onChange=${(e) => navigate(e.currentTarget.value ? `#/chat/${e.currentTarget.value}` : "#/chat")}>
        <option value="">New session</option>
        ${list.map((s) => html`<option value=${s.id}>${s.title || s.id}</option>`)}
      </select>
      ${detail.data ? html`<span class="muted">${detail.data.session.provider} · ${detail.data.session.messageCount} messages</span>` : null}
    </div>
    <div class="chat-log" role="log" aria-label="Conversation">
      ${messages.map((message) => html`<${Message} key=${message.id} message=${message} results=${results} feed=${feed} />`)}
      ${live ? html`<${Live} live=${live} waiting=${new Set((approvals.data?.approvals ?? []).map((a) => a.callId))} />` : null}
      ${(approvals.data?.approvals ?? []).map((pending) => html`<${Approval} key=${pending.id} client=${client} role=${role} pending=${pending} onDone=${approvals.reload} />`)}
      <div ref=${end}></div>
    </div>
    ${answer ? html`<pre class="command-answer" role="status" aria-label="Command answer">${answer}</pre>` : null}
    <${Failure} error=${error ?? detail.error} />
    ${
      role === "admin"
        ? html`<form class="composer" onSubmit=${send}>
          <label for="chat-input" class="sr-only">Message</label>
          <textarea
            id="chat-input"
            rows="3"
            placeholder="Message (Enter sends, Shift+Enter for a new line)"
            value=${text}
            onInput=${(e) => setText(e.currentTarget.value)}
            onKeyDown=${(e) => {
              if (e.key === "Enter" && !e.shiftKey) send(e)
            }}
          ></textarea>
          <div class="composer-actions">
            <label class="button">Attach image<input type="file" accept="image/*" multiple class="sr-only" onChange=${attach} /></label>
            ${images.length ? html`<span class="muted">${images.length} image(s) attached</span>` : null}
            ${live ? html`<button type="button" onClick=${abort}>Stop</button>` : null}
            <button type="submit" class="primary" disabled=${!!live && !text.trim().startsWith("/")}>Send</button>
          </div>
        </form>`
        : html`<p class="muted">Read-only: sign in with the admin token to send messages.</p>`
    }
  </div>`
}
