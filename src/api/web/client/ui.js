/** Small shared pieces: hooks over the client and the feed, formatting, a JSON view. */
import { html } from "htm/preact"
import { useCallback, useEffect, useRef, useState } from "preact/hooks"

/** Loads `load()` now, again when `deps` change, and (debounced) when a feed event matches `types`. */
export function useLoad(load, deps, feed, types = []) {
  const [state, setState] = useState({ data: null, error: null, loading: true })
  const latest = useRef(load)
  latest.current = load
  const reload = useCallback(() => {
    latest
      .current()
      .then((data) => setState({ data, error: null, loading: false }))
      .catch((error) => setState((previous) => ({ ...previous, error, loading: false })))
  }, [])
  useEffect(reload, deps)
  useEffect(() => {
    if (!feed || !types.length) return
    let timer = null
    const stop = feed.subscribe((event) => {
      if (!types.some((prefix) => event.type.startsWith(prefix))) return
      if (timer) clearTimeout(timer)
      timer = setTimeout(reload, 150)
    })
    return () => {
      stop()
      if (timer) clearTimeout(timer)
    }
  }, [feed, types.join(",")])
  return { ...state, reload }
}

export function time(ms) {
  if (ms === null || ms === undefined) return "—"
  return new Date(ms).toLocaleString()
}

export function duration(ms) {
  if (ms === null || ms === undefined) return ""
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`
}

export function tokens(usage) {
  if (!usage) return "—"
  return `${usage.input ?? 0} in · ${usage.output ?? 0} out`
}

export const pretty = (value) => (typeof value === "string" ? value : JSON.stringify(value, null, 2))

export function Json({ value, label = "Details" }) {
  return html`<details class="json"><summary>${label}</summary><pre>${pretty(value)}</pre></details>`
}

export function Failure({ error }) {
  if (!error) return null
  return html`<p class="error" role="alert">${error.message ?? String(error)}</p>`
}

export function Panel({ title, children, actions }) {
  return html`<section class="panel" aria-labelledby=${`h-${slug(title)}`}>
    <header class="panel-head"><h2 id=${`h-${slug(title)}`}>${title}</h2>${actions}</header>
    ${children}
  </section>`
}

export const slug = (text) => text.toLowerCase().replace(/[^a-z0-9]+/g, "-")

export function ReadOnly({ role, children }) {
  return role === "admin"
    ? children
    : html`<p class="muted">Read-only: sign in with the admin token to change this.</p>`
}
