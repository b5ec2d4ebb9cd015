/**
 * The Drost dashboard: a sign-in form for the Control API token (kept in sessionStorage, so it is gone
 * when the tab closes; never localStorage), then the sections below, all read from the Control API and
 * its event stream. The read token gives the same views without the buttons that change anything.
 */
import { html } from "htm/preact"
import { render } from "preact"
import { useEffect, useState } from "preact/hooks"
import { ApiError, createClient } from "./api.js"
import { Approvals } from "./approvals.js"
import { Chat } from "./chat.js"
import { createFeed } from "./feed.js"
import { EventLog } from "./log.js"
import { Evolution, Health, Providers, Tools, Work } from "./panels.js"
import { Sessions } from "./sessions.js"
import { Usage } from "./usage.js"

const KEY = "drost.dashboard.token"

const SECTIONS = [
  ["chat", "Chat", Chat],
  ["sessions", "Sessions", Sessions],
  ["events", "Events", EventLog],
  ["usage", "Usage", Usage],
  ["approvals", "Approvals", Approvals],
  ["tools", "Tools", Tools],
  ["providers", "Providers", Providers],
  ["work", "Schedules and jobs", Work],
  ["evolution", "Evolution", Evolution],
  ["health", "Health", Health],
]

/** Trades a one-time link's code for its token (POST /ui/redeem needs no token: the code is the secret). */
async function redeem(code) {
  const response = await fetch("/ui/redeem", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code }),
  })
  const body = await response.json().catch(() => null)
  if (!response.ok) throw new Error(body?.message ?? `the sign-in link was refused (HTTP ${response.status})`)
  return body.token
}

async function signIn(token) {
  const client = createClient(token)
  await client.get("/status")
  return { client, role: await client.role() }
}

function Login({ onSignedIn, notice }) {
  const [token, setToken] = useState("")
  const [error, setError] = useState(notice)
  const [busy, setBusy] = useState(false)
  const submit = async (event) => {
    event.preventDefault()
    setBusy(true)
    setError(null)
    try {
      onSignedIn(token.trim(), await signIn(token.trim()))
    } catch (caught) {
      setError(
        caught instanceof ApiError && caught.status === 401
          ? "That token is not valid for this gateway."
          : `Could not reach the gateway: ${caught.message}`,
      )
    } finally {
      setBusy(false)
    }
  }
  return html`<main class="login">
    <form onSubmit=${submit} aria-labelledby="login-title">
      <h1 id="login-title">Drost</h1>
      <p>Sign in with the Control API token: the admin token (<code>.drost/control-token</code>) or the read token for a read-only view. It stays in this tab only.</p>
      <label for="token">Control API token</label>
      <input id="token" type="password" autocomplete="off" required value=${token} onInput=${(e) => setToken(e.currentTarget.value)} />
      <button type="submit" class="primary" disabled=${busy}>Sign in</button>
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    </form>
  </main>`
}

function useHash() {
  const [hash, setHash] = useState(location.hash)
  useEffect(() => {
    const update = () => setHash(location.hash)
    addEventListener("hashchange", update)
    return () => removeEventListener("hashchange", update)
  }, [])
  return hash
}

function Shell({ auth, onSignOut }) {
  const hash = useHash()
  const [feed] = useState(() => createFeed(auth.client))
  const [feedState, setFeedState] = useState(feed.state())
  const [waiting, setWaiting] = useState(0)
  useEffect(() => {
    const stopState = feed.onState(setFeedState)
    const count = () =>
      auth.client
        .get("/approvals")
        .then((list) => setWaiting(list.approvals.length))
        .catch(() => {})
    count()
    const stop = feed.subscribe((event) => event.type.startsWith("approval.") && count())
    return () => {
      stopState()
      stop()
      feed.stop()
    }
  }, [])
  const [, name = "chat", arg] = hash.match(/^#\/([a-z]+)\/?(.*)$/) ?? []
  const section = SECTIONS.find(([id]) => id === name) ?? SECTIONS[0]
  const View = section[2]
  const navigate = (target) => {
    location.hash = target
  }
  useEffect(() => {
    document.title = `${section[1]} · Drost`
  }, [section[0]])
  return html`<div class="shell">
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <strong class="brand">Drost</strong>
      <span class=${`badge feed-${feedState}`} role="status" aria-label="Event stream">${feedState}</span>
      ${auth.role === "read" ? html`<span class="badge">read-only</span>` : null}
      <button class="signout" onClick=${onSignOut}>Sign out</button>
    </header>
    <nav aria-label="Sections">
      <ul>
        ${SECTIONS.map(
          ([id, label]) =>
            html`<li><a href=${`#/${id}`} aria-current=${id === section[0] ? "page" : undefined}>${label}${
              id === "approvals" && waiting
                ? html` <span class="count" aria-label=${`${waiting} waiting`}>${waiting}</span>`
                : null
            }</a></li>`,
        )}
      </ul>
    </nav>
    <main id="main" tabindex="-1">
      <${View} key=${section[0]} client=${auth.client} feed=${feed} role=${auth.role} sessionId=${arg || null} navigate=${navigate} />
    </main>
  </div>`
}

function App() {
  const [auth, setAuth] = useState(null)
  const [checking, setChecking] = useState(() => !!sessionStorage.getItem(KEY) || location.hash.startsWith("#/login/"))
  const [notice, setNotice] = useState(null)
  useEffect(() => {
    const link = location.hash.match(/^#\/login\/([A-Za-z0-9_-]+)$/)
    // The one-time code leaves the address bar and the history before anything else happens.
    if (link) history.replaceState(null, "", "#/chat")
    const saved = link ? null : sessionStorage.getItem(KEY)
    if (!link && !saved) return
    setChecking(true)
    ;(link ? redeem(link[1]) : Promise.resolve(saved))
      .then(async (token) => {
        const signedIn = await signIn(token)
        sessionStorage.setItem(KEY, token)
        return signedIn
      })
      .then(setAuth)
      .catch((error) => {
        sessionStorage.removeItem(KEY)
        setNotice(link ? error.message : "Signed out: the saved token no longer works.")
      })
      .finally(() => setChecking(false))
  }, [])
  if (checking) return html`<p class="muted">Connecting…</p>`
  if (!auth)
    return html`<${Login}
      notice=${notice}
      onSignedIn=${(token, signedIn) => {
        sessionStorage.setItem(KEY, token)
        setAuth(signedIn)
      }}
    />`
  return html`<${Shell}
    auth=${auth}
    onSignOut=${() => {
      sessionStorage.removeItem(KEY)
      setAuth(null)
    }}
  />`
}

render(html`<${App} />`, document.getElementById("app"))
