/** Tools, providers, schedules and background jobs, evolution history and health: read from the API. */
import { html } from "htm/preact"
import { useEffect, useState } from "preact/hooks"
import { duration, Failure, Json, Panel, time, useLoad } from "./ui.js"

export function Tools({ client, feed }) {
  const tools = useLoad(() => client.get("/tools"), [], feed, ["tool.workspace.reloaded", "tool.mcp."])
  const status = useLoad(() => client.get("/status"), [], null)
  const sandbox = status.data?.sandbox
  return html`<${Panel} title="Tools">
    <${Failure} error=${tools.error} />
    ${
      sandbox
        ? html`<p>Sandbox: <strong>${sandbox.kind ?? "none"}</strong> ${sandbox.reason ? html`<span class="muted">${sandbox.reason}</span>` : null}
          ${sandbox.off?.length ? html`<br /><span class="muted">Off without a sandbox: ${sandbox.off.join(", ")}</span>` : null}</p>`
        : null
    }
    <h3>Rejected (${tools.data?.rejected.length ?? 0})</h3>
    ${(tools.data?.rejected ?? []).map((r) => html`<div class="rejected"><strong>${r.file ?? r.name ?? "tool"}</strong>: ${r.reason}</div>`)}
    <h3>Loaded (${tools.data?.tools.length ?? 0})</h3>
    <table class="grid">
      <thead><tr><th>Name</th><th>Source</th><th>Description</th><th>Arguments</th></tr></thead>
      <tbody>
        ${(tools.data?.tools ?? []).map(
          (
            tool,
          ) => html`<tr><td><code>${tool.name}</code></td><td>${tool.source}${tool.file ? html`<br /><span class="muted">${tool.file}</span>` : null}</td>
            <td>${tool.description}</td><td><${Json} value=${tool.parameters} label="Schema" /></td></tr>`,
        )}
      </tbody>
    </table>
  </${Panel}>`
}

export function Providers({ client, feed, role }) {
  const providers = useLoad(() => client.get("/providers"), [], feed, ["provider.error", "provider.attempt.failed"])
  const [probing, setProbing] = useState(false)
  const [error, setError] = useState(null)
  const probe = () => {
    setProbing(true)
    client
      .send("POST", "/providers/probe", {})
      .then(providers.reload, setError)
      .finally(() => setProbing(false))
  }
  const failover = providers.data?.failover
  return html`<${Panel} title="Providers" actions=${role === "admin" ? html`<button onClick=${probe} disabled=${probing}>${probing ? "Probing…" : "Probe all"}</button>` : null}>
    <${Failure} error=${error ?? providers.error} />
    ${failover ? html`<p class="muted">Failover ${failover.enabled ? `on → ${failover.fallbacks.join(", ") || "no fallbacks"}` : "off"} · cooldown ${duration(failover.cooldownMs)}</p>` : null}
    <table class="grid">
      <thead><tr><th>Profile</th><th>Kind</th><th>Model</th><th>Status</th><th>Details</th></tr></thead>
      <tbody>
        ${(providers.data?.providers ?? []).map(
          (
            p,
          ) => html`<tr><td>${p.id}${p.default ? html` <span class="badge">default</span>` : null}</td><td>${p.kind}</td><td>${p.model ?? "—"}</td>
            <td><span class=${`badge ${p.available ? "ok" : "bad"}`}>${p.available ? "available" : "unavailable"}</span></td><td><${Json} value=${p} /></td></tr>`,
        )}
      </tbody>
    </table>
  </${Panel}>`
}

export function Work({ client, feed, role }) {
  const schedules = useLoad(() => client.get("/schedules"), [], feed, ["schedule."])
  const jobs = useLoad(() => client.get("/jobs"), [], feed, ["job."])
  const [error, setError] = useState(null)
  const cancel = (id) => client.send("DELETE", `/jobs/${id}`).then(jobs.reload, setError)
  return html`<${Panel} title="Schedules and jobs">
    <${Failure} error=${error ?? schedules.error ?? jobs.error} />
    <h3>Schedules</h3>
    ${(schedules.data?.schedules ?? []).length ? null : html`<p class="muted">No schedules.</p>`}
    <table class="grid">
      <thead><tr><th>Id</th><th>When</th><th>State</th><th>Prompt</th><th>Next</th><th>Details</th></tr></thead>
      <tbody>
        ${(schedules.data?.schedules ?? []).map(
          (
            s,
          ) => html`<tr><td><code>${s.id}</code><br /><span class="muted">${s.source}</span></td><td>${s.cron ?? s.every ?? s.at ?? "—"}</td>
            <td>${s.state}</td><td>${s.prompt}</td><td>${time(s.nextRunAt ?? s.next ?? null)}</td><td><${Json} value=${s} /></td></tr>`,
        )}
      </tbody>
    </table>
    <h3>Background jobs ${jobs.data ? html`<span class="muted">(${jobs.data.running} running of at most ${jobs.data.maxTotal})</span>` : null}</h3>
    ${(jobs.data?.jobs ?? []).length ? null : html`<p class="muted">No background jobs.</p>`}
    <table class="grid">
      <thead><tr><th>Job</th><th>Kind</th><th>Status</th><th>Title</th><th>Started</th><th></th></tr></thead>
      <tbody>
        ${(jobs.data?.jobs ?? []).map(
          (
            job,
          ) => html`<tr><td><code>${job.id}</code></td><td>${job.kind}</td><td>${job.status}</td><td>${job.title}</td><td>${time(job.createdAt)}</td>
            <td>${role === "admin" && job.status === "running" ? html`<button onClick=${() => cancel(job.id)}>Cancel</button>` : html`<${Json} value=${job} />`}</td></tr>`,
        )}
      </tbody>
    </table>
  </${Panel}>`
}

function Diff({ client, role, item }) {
  const [diff, setDiff] = useState(null)
  const [error, setError] = useState(null)
  if (!item.after) return html`<p class="muted">Nothing was kept, so there is no diff.</p>`
  if (role !== "admin") return html`<p class="muted">The admin token can show this change's diff.</p>`
  const show = () => client.get(`/evolution/${item.id}/diff`).then(setDiff, setError)
  const colour = (line) =>
    line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : line.startsWith("@@") ? "hunk" : ""
  return html`<div>
    ${
      diff === null
        ? html`<button onClick=${show}>Show diff</button>`
        : diff.files.map(
            (file) =>
              html`<pre class="diff" aria-label=${`Diff of ${file.path}`}>${file.patch
                .split("\n")
                .map((line) => html`<span class=${colour(line)}>${`${line}\n`}</span>`)}</pre>`,
          )
    }
    <${Failure} error=${error} />
  </div>`
}

export function Evolution({ client, feed, role }) {
  const list = useLoad(() => client.get("/evolution?limit=100"), [], feed, ["evolution."])
  const items = list.data?.items ?? []
  return html`<${Panel} title="Evolution">
    <${Failure} error=${list.error} />
    ${items.length ? null : html`<p class="muted">No self-changes yet.</p>`}
    ${items.map(
      (item) => html`<details class="evolution" key=${item.id}>
        <summary><strong>${item.status}</strong> ${item.reason} <span class="muted">${time(item.startedAt)} · by ${item.by}</span></summary>
        <p>${item.verdict ?? ""}</p>
        <table class="grid"><thead><tr><th>File</th><th>Change</th><th>+</th><th>−</th></tr></thead>
          <tbody>${item.files.map((f) => html`<tr><td><code>${f.path}</code></td><td>${f.status}</td><td>${f.added}</td><td>${f.removed}</td></tr>`)}</tbody>
        </table>
        <h4>Steps and gates</h4>
        ${item.steps.map(
          (step) => html`<details class=${`step ${step.ok ? "ok" : "bad"}`}>
            <summary>${step.ok ? "✓" : "✗"} ${step.name} <span class="muted">${duration(step.durationMs)}</span></summary>
            <pre>${step.output || "(no output)"}</pre>
          </details>`,
        )}
        <${Diff} client=${client} role=${role} item=${item} />
      </details>`,
    )}
  </${Panel}>`
}

export function Health({ client, feed }) {
  const status = useLoad(() => client.get("/status"), [], feed, [
    "gateway.",
    "session.turn.started",
    "session.turn.completed",
  ])
  const ready = useLoad(() => client.get("/readyz").catch((error) => error.body ?? { ready: false }), [], null)
  useEffect(() => {
    const timer = setInterval(() => {
      status.reload()
      ready.reload()
    }, 10_000)
    return () => clearInterval(timer)
  }, [])
  const s = status.data
  return html`<${Panel} title="Health">
    <${Failure} error=${status.error} />
    ${
      s
        ? html`<dl class="facts">
          <dt>State</dt><dd><span class=${`badge ${s.state === "running" ? "ok" : "bad"}`}>${s.state}</span> ${s.reasons?.join("; ")}</dd>
          <dt>Ready</dt><dd>${ready.data ? String(ready.data.ready ?? ready.data.state ?? "") : "…"}</dd>
          <dt>Version</dt><dd>${s.version} (${s.commit})</dd>
          <dt>Up since</dt><dd>${time(s.startedAt)} (${duration(s.uptimeMs)})</dd>
          <dt>Workspace</dt><dd><code>${s.workspace}</code></dd>
          <dt>Sessions</dt><dd>${s.sessions} · ${s.runningTurns} running turns · ${s.queues.length} busy</dd>
          <dt>Providers</dt><dd>${s.providers.map((p) => html`<span class=${`badge ${p.available ? "ok" : "bad"}`}>${p.id}</span> `)}</dd>
          <dt>Sandbox</dt><dd>${s.sandbox?.kind ?? "none"}</dd>
          <dt>Plugins</dt><dd>${s.plugins.length ? s.plugins.map((p) => `${p.name} ${p.state}`).join(", ") : "none"}</dd>
          <dt>MCP</dt><dd>${s.mcp.length ? s.mcp.map((m) => `${m.server} ${m.state}`).join(", ") : "none"}</dd>
        </dl>
        <${Json} value=${s} label="Full status" />`
        : html`<p class="muted">Loading…</p>`
    }
  </${Panel}>`
}
