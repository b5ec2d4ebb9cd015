/** Tool calls waiting for a person (`tools.approve`): approve once, for the session, or deny. */
import { html } from "htm/preact"
import { useState } from "preact/hooks"
import { Failure, Panel, pretty, time, useLoad } from "./ui.js"

export function Approval({ client, role, pending, onDone }) {
  const [error, setError] = useState(null)
  const decide = (decision) =>
    client.send("POST", `/approvals/${pending.id}`, { decision }).then(onDone).catch(setError)
  return html`<div class="approval" role="group" aria-label=${`Approval for ${pending.tool}`}>
    <p><strong>${pending.tool}</strong> waits for approval <span class="muted">(session ${pending.sessionId}, expires ${time(pending.expiresAt)})</span></p>
    <pre>${pretty(pending.args)}</pre>
    ${
      role === "admin"
        ? html`<div class="actions">
          <button class="primary" onClick=${() => decide("approve")}>Approve</button>
          <button onClick=${() => decide("session")}>Allow for this session</button>
          <button class="danger" onClick=${() => decide("deny")}>Deny</button>
        </div>`
        : html`<p class="muted">Read-only: the admin token decides.</p>`
    }
    <${Failure} error=${error} />
  </div>`
}

export function Approvals({ client, feed, role }) {
  const list = useLoad(() => client.get("/approvals"), [], feed, ["approval."])
  const approvals = list.data?.approvals ?? []
  return html`<${Panel} title="Approvals">
    <${Failure} error=${list.error} />
    ${approvals.length ? null : html`<p class="muted">No tool call is waiting.</p>`}
    ${approvals.map((pending) => html`<${Approval} key=${pending.id} client=${client} role=${role} pending=${pending} onDone=${list.reload} />`)}
  </${Panel}>`
}
