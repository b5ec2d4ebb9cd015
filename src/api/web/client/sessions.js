/**
 * Sessions: search by title, rename, switch provider, export, delete; which ones run or queue turns
 * right now (GET /queues, refreshed by the turn events).
 */
import { html } from "htm/preact"
import { useState } from "preact/hooks"
import { Failure, Panel, time, tokens, useLoad } from "./ui.js"

function download(name, value) {
  const link = document.createElement("a")
  link.href = URL.createObjectURL(new Blob([JSON.stringify(value, null, 2)], { type: "application/json" }))
  link.download = name
  link.click()
  setTimeout(() => URL.revokeObjectURL(link.href), 1000)
}

function Row({ client, session, queue, providers, role, onChange, setError }) {
  const [editing, setEditing] = useState(false)
  const [title, setTitle] = useState(session.title)
  const [confirming, setConfirming] = useState(false)
  const act = (promise) => promise.then(onChange).catch(setError)
  const rename = (event) => {
    event.preventDefault()
    setEditing(false)
    act(client.send("PATCH", `/sessions/${session.id}`, { title }))
  }
  const state = queue
    ? queue.running
      ? `running${queue.waiting ? ` · ${queue.waiting} waiting` : ""}`
      : `${queue.waiting} waiting`
    : "idle"
  return html`<tr data-session=${session.id}>
    <td>
      ${
        editing
          ? html`<form onSubmit=${rename} class="inline">
            <label class="sr-only" for=${`title-${session.id}`}>New title</label>
            <input id=${`title-${session.id}`} value=${title} onInput=${(e) => setTitle(e.currentTarget.value)} />
            <button type="submit">Save</button>
            <button type="button" onClick=${() => setEditing(false)}>Cancel</button>
          </form>`
          : html`<a href=${`#/chat/${session.id}`}>${session.title || session.id}</a>`
      }
    </td>
    <td>
      ${
        role === "admin"
          ? html`<label class="sr-only" for=${`provider-${session.id}`}>Provider of ${session.title}</label>
            <select id=${`provider-${session.id}`} value=${session.pendingProvider ?? session.provider}
              onChange=${(e) => act(client.send("PATCH", `/sessions/${session.id}`, { provider: e.currentTarget.value }))}>
              ${providers.map((p) => html`<option value=${p.id}>${p.id}</option>`)}
            </select>`
          : session.provider
      }
      ${session.pendingProvider ? html` <span class="muted">(from next turn)</span>` : null}
    </td>
    <td>${session.channel ?? "—"}</td>
    <td>${session.messageCount}</td>
    <td>${tokens(session.usage)}</td>
    <td>${time(session.updatedAt)}</td>
    <td><span class=${`badge state-${queue ? "busy" : "idle"}`}>${state}</span></td>
    <td class="actions">
      ${role === "admin" ? html`<button onClick=${() => setEditing(true)} aria-label=${`Rename ${session.title || session.id}`}>Rename</button>` : null}
      <button onClick=${() => client.get(`/sessions/${session.id}/export`).then((v) => download(`${session.id}.json`, v), setError)}>Export</button>
      ${
        role !== "admin"
          ? null
          : confirming
            ? html`<button class="danger" onClick=${() => act(client.send("DELETE", `/sessions/${session.id}`))}>Confirm delete</button>`
            : html`<button onClick=${() => setConfirming(true)}>Delete</button>`
      }
    </td>
  </tr>`
}

export function Sessions({ client, feed, role }) {
  const [query, setQuery] = useState("")
  const [limit, setLimit] = useState(50)
  const [error, setError] = useState(null)
  const q = query.trim()
  const page = useLoad(
    () => client.get(`/sessions?limit=${limit}${q ? `&q=${encodeURIComponent(q)}` : ""}`),
    [q, limit],
    feed,
    ["session.created", "session.deleted", "session.provider", "session.turn.completed"],
  )
  const queues = useLoad(() => client.get("/queues"), [], feed, ["session.turn.", "turn."])
  const providers = useLoad(() => client.get("/providers"), [], null)
  const byId = new Map((queues.data?.queues ?? []).map((queue) => [queue.sessionId, queue]))
  const rows = page.data?.sessions ?? []
  return html`<${Panel} title="Sessions">
    <div class="toolbar">
      <label for="session-search">Search titles</label>
      <input id="session-search" type="search" value=${query} onInput=${(e) => setQuery(e.currentTarget.value)} />
      <span class="muted">${page.data ? `${page.data.total} sessions · ${byId.size} busy` : "loading…"}</span>
    </div>
    <${Failure} error=${error ?? page.error} />
    <table class="grid">
      <thead><tr><th>Title</th><th>Provider</th><th>Channel</th><th>Messages</th><th>Tokens</th><th>Updated</th><th>Turns</th><th>Actions</th></tr></thead>
      <tbody>
        ${rows.map(
          (session) => html`<${Row} key=${session.id} client=${client} session=${session} queue=${byId.get(session.id)}
            providers=${providers.data?.providers ?? []} role=${role} onChange=${page.reload} setError=${setError} />`,
        )}
      </tbody>
    </table>
    ${page.data?.nextOffset !== null && page.data?.nextOffset !== undefined ? html`<button onClick=${() => setLimit(limit + 50)}>Show more</button>` : null}
  </${Panel}>`
}
