/**
 * A typed Control API client: `treaty<App>` from @elysiajs/eden infers every route's params, body and
 * response from the server's own `t` schemas, so a client and the gateway cannot drift apart silently.
 *
 *   const api = controlClient("http://127.0.0.1:7420", token)
 *   const { data, error } = await api.control.v1.sessions.post({ title: "from a script" })
 */
import { treaty } from "@elysiajs/eden"
import type { App } from "./app.ts"

export function controlClient(url: string, token: string) {
  return treaty<App>(url, { headers: { authorization: `Bearer ${token}` } })
}

export type ControlClient = ReturnType<typeof controlClient>
