/**
 * Usage over time per provider (from GET /usage?since=…: cumulative totals at each bucket boundary,
 * differenced), tokens per session (the sessions' own usage) and latency percentiles per provider
 * (from the `provider.response` events the feed holds). Charts are uPlot; each has its data as a table.
 */
import { html } from "htm/preact"
import { useEffect, useRef, useState } from "preact/hooks"
import uPlot from "uplot"
import { Failure, Panel, useLoad } from "./ui.js"

const RANGES = {
  hour: { label: "Last hour", step: 5 * 60_000, buckets: 12 },
  day: { label: "Last 24 hours", step: 60 * 60_000, buckets: 24 },
  week: { label: "Last 7 days", step: 24 * 60 * 60_000, buckets: 7 },
  month: { label: "Last 30 days", step: 24 * 60 * 60_000, buckets: 30 },
}
const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04"]

/** Per bucket and provider: tokens (input + output) of the turns created in that bucket. */
async function series(client, range) {
  const { step, buckets } = RANGES[range]
  const now = Date.now()
  const starts = Array.from({ length: buckets }, (_, i) => now - (buckets - i) * step)
  const cumulative = await Promise.all(starts.map((since) => client.get(`/usage?since=${Math.floor(since)}`)))
  const providers = [...new Set(cumulative.flatMap((usage) => usage.providers.map((row) => row.provider)))].sort()
  const total = (usage, provider) => {
    const row = usage.providers.find((one) => one.provider === provider)
    return row ? row.input + row.output : 0
  }
  const values = providers.map((provider) =>
    starts.map((_, i) => total(cumulative[i], provider) - (i + 1 < buckets ? total(cumulative[i + 1], provider) : 0)),
  )
  return { x: starts.map((ms) => ms / 1000), providers, values, totals: cumulative[0].totals }
}

/**
 * USD per bucket and provider, and per session: from the sessions active in the range, the cost of
 * each of their turns (GET /sessions/:id reports it at the profiles' `prices`, per provider).
 */
async function costs(client, range) {
  const { step, buckets } = RANGES[range]
  const from = Date.now() - buckets * step
  const list = await client.get(`/sessions?limit=50&updatedAfter=${Math.floor(from)}`)
  const details = await Promise.all(list.sessions.map((s) => client.get(`/sessions/${s.id}?limit=1&turns=500`)))
  const byProvider = new Map()
  const perSession = []
  let priced = false
  for (const detail of details) {
    if (!detail.cost) continue
    const created = new Map(detail.turns.map((turn) => [turn.id, turn.createdAt]))
    let total = 0
    for (const turn of detail.cost.turns) {
      const at = created.get(turn.turnId)
      if (at === undefined || at < from) continue
      const bucket = Math.min(buckets - 1, Math.floor((at - from) / step))
      for (const row of turn.providers) {
        if (row.cost === null) continue
        priced = true
        const values = byProvider.get(row.provider) ?? Array(buckets).fill(0)
        values[bucket] += row.cost
        byProvider.set(row.provider, values)
        total += row.cost
      }
    }
    if (total > 0) perSession.push({ title: detail.session.title || detail.session.id, total })
  }
  const providers = [...byProvider.keys()].sort()
  return {
    priced,
    x: Array.from({ length: buckets }, (_, i) => (from + i * step) / 1000),
    providers,
    values: providers.map((provider) => byProvider.get(provider)),
    perSession: perSession.sort((a, b) => b.total - a.total).slice(0, 10),
  }
}

const usd = (value) => `$${value < 0.01 ? value.toFixed(6) : value.toFixed(2)}`

function Chart({ label, options, data }) {
  const box = useRef(null)
  useEffect(() => {
    if (!box.current) return
    const width = Math.max(320, box.current.clientWidth || 640)
    const plot = new uPlot({ width, height: 240, ...options }, data, box.current)
    return () => plot.destroy()
  }, [JSON.stringify(data), JSON.stringify(options.series?.map((s) => s.label))])
  return html`<figure class="chart" role="img" aria-label=${label}><div ref=${box}></div><figcaption>${label}</figcaption></figure>`
}

function percentile(sorted, p) {
  if (!sorted.length) return null
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

export function Usage({ client, feed }) {
  const [range, setRange] = useState("day")
  const usage = useLoad(() => series(client, range), [range], feed, ["session.turn.completed", "session.turn.failed"])
  const sessions = useLoad(() => client.get("/sessions?limit=200"), [], feed, ["session.turn.completed"])
  const cost = useLoad(() => costs(client, range), [range], feed, ["session.turn.completed", "session.turn.failed"])
  const [, setTick] = useState(0)
  useEffect(() => feed.subscribe((event) => event.type === "provider.response" && setTick((n) => n + 1)), [])
  const spent = cost.data

  const data = usage.data
  const top = (sessions.data?.sessions ?? [])
    .map((s) => ({ title: s.title || s.id, total: s.usage.input + s.usage.output }))
    .filter((s) => s.total > 0)
    .sort((a, b) => b.total - a.total)
    .slice(0, 10)
  const latency = new Map()
  for (const event of feed.events())
    if (event.type === "provider.response") {
      const list = latency.get(event.data.provider) ?? []
      list.push(event.data.latencyMs)
      latency.set(event.data.provider, list)
    }

  return html`<${Panel} title="Usage"
    actions=${html`<label for="usage-range">Range</label>
      <select id="usage-range" value=${range} onChange=${(e) => setRange(e.currentTarget.value)}>
        ${Object.entries(RANGES).map(([key, r]) => html`<option value=${key}>${r.label}</option>`)}
      </select>`}>
    <${Failure} error=${usage.error} />
    ${
      data
        ? html`<p class="muted">${data.totals.turns} turns · ${data.totals.input} input, ${data.totals.output} output, ${data.totals.cached} cached tokens in this range</p>
          <${Chart}
            label="Tokens per provider over time"
            data=${[data.x, ...data.values]}
            options=${{
              scales: { x: { time: true } },
              series: [
                {},
                ...data.providers.map((p, i) => ({
                  label: p,
                  stroke: COLORS[i % COLORS.length],
                  width: 2,
                  points: { show: true },
                })),
              ],
            }}
          />
          <details><summary>Data: tokens per provider</summary>
            <table class="grid"><thead><tr><th>Bucket start</th>${data.providers.map((p) => html`<th>${p}</th>`)}</tr></thead>
              <tbody>${data.x.map((x, i) => html`<tr><td>${new Date(x * 1000).toLocaleString()}</td>${data.values.map((v) => html`<td>${v[i]}</td>`)}</tr>`)}</tbody>
            </table>
          </details>`
        : html`<p class="muted">Loading…</p>`
    }
    <h3>Tokens per session (top 10)</h3>
    ${
      top.length
        ? html`<${Chart}
            label="Tokens per session"
            data=${[top.map((_, i) => i), top.map((s) => s.total)]}
            options=${{
              scales: { x: { time: false, range: (_, min, max) => [min - 0.5, max + 0.5] } },
              axes: [{ values: (_, ticks) => ticks.map((t) => top[t]?.title.slice(0, 16) ?? "") }, {}],
              series: [
                {},
                { label: "tokens", fill: "#2563eb88", stroke: "#2563eb", paths: uPlot.paths.bars({ size: [0.6, 60] }) },
              ],
            }}
          />
          <details><summary>Data: tokens per session</summary>
            <table class="grid"><tbody>${top.map((s) => html`<tr><td>${s.title}</td><td>${s.total}</td></tr>`)}</tbody></table>
          </details>`
        : html`<p class="muted">No session has used tokens yet.</p>`
    }
    <h3>Cost</h3>
    <${Failure} error=${cost.error} />
    ${
      !spent
        ? html`<p class="muted">Loading…</p>`
        : !spent.priced
          ? html`<p class="muted">No cost in this range: set <code>prices</code> on the provider profiles to see it.</p>`
          : html`<${Chart}
              label="Cost per provider over time (USD)"
              data=${[spent.x, ...spent.values]}
              options=${{
                scales: { x: { time: true } },
                series: [
                  {},
                  ...spent.providers.map((p, i) => ({
                    label: p,
                    stroke: COLORS[i % COLORS.length],
                    width: 2,
                    points: { show: true },
                  })),
                ],
              }}
            />
            <table class="grid" aria-label="Cost per session">
              <thead><tr><th>Session</th><th>USD</th></tr></thead>
              <tbody>${spent.perSession.map((s) => html`<tr><td>${s.title}</td><td>${usd(s.total)}</td></tr>`)}</tbody>
            </table>`
    }
    <h3>Latency per provider</h3>
    <table class="grid" aria-label="Latency percentiles per provider">
      <thead><tr><th>Provider</th><th>Responses</th><th>p50</th><th>p90</th><th>p99</th></tr></thead>
      <tbody>
        ${[...latency].map(([provider, list]) => {
          const sorted = [...list].sort((a, b) => a - b)
          return html`<tr><td>${provider}</td><td>${sorted.length}</td>${[50, 90, 99].map((p) => html`<td>${percentile(sorted, p)} ms</td>`)}</tr>`
        })}
      </tbody>
    </table>
    <p class="muted">Latency from the provider responses in the event buffer since the gateway started.</p>
  </${Panel}>`
}
