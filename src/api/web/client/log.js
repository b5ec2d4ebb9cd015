/** The live event log: every bus event from the shared feed, filtered by type and session. */
import { html } from "htm/preact"
import { useEffect, useState } from "preact/hooks"
import { typeMatches } from "./feed.js"
import { Panel } from "./ui.js"

function summary(data) {
  if (!data || typeof data !== "object") return String(data ?? "")
  const text = JSON.stringify(data)
  return text.length > 160 ? `${text.slice(0, 160)}…` : text
}

export function EventLog({ feed }) {
  const [, setTick] = useState(0)
  const [types, setTypes] = useState("")
  const [session, setSession] = useState("")
  const [paused, setPaused] = useState(false)
  const [state, setState] = useState(feed.state())
  useEffect(() => feed.subscribe(() => !paused && setTick((n) => n + 1)), [paused])
  useEffect(() => feed.onState(setState), [])
  const shown = feed
    .events()
    .filter((event) => typeMatches(event.type, types.trim()))
    .filter((event) => !session.trim() || event.data?.sessionId === session.trim())
    .slice(-300)
    .reverse()
  return html`<${Panel} title="Events">
    <div class="toolbar">
      <label for="event-types">Types</label>
      <input id="event-types" placeholder="e.g. session.* tool.call" value=${types} onInput=${(e) => setTypes(e.currentTarget.value)} />
      <label for="event-session">Session</label>
      <input id="event-session" placeholder="ses_…" value=${session} onInput=${(e) => setSession(e.currentTarget.value)} />
      <button onClick=${() => setPaused(!paused)} aria-pressed=${paused}>${paused ? "Resume" : "Pause"}</button>
      <span class=${`badge feed-${state}`} role="status">${state} · last id ${feed.lastId() ?? "—"}</span>
    </div>
    <ol class="events" aria-label="Event log" reversed>
      ${shown.map(
        (event) => html`<li key=${event.id} data-type=${event.type}>
          <details>
            <summary><span class="muted">#${event.id} ${new Date(event.time).toLocaleTimeString()}</span> <strong>${event.type}</strong> ${summary(event.data)}</summary>
            <pre>${JSON.stringify(event, null, 2)}</pre>
          </details>
        </li>`,
      )}
    </ol>
  </${Panel}>`
}
