/**
 * Several gateways behind one address, as docs/scale-out.md runs them: N nodes, each with its own
 * workspace folder (per-node state: its lock, tools, memory files, logs) and one shared store, given by
 * `DROST_STORE_URL` (PostgreSQL) or, without a URL, `DROST_DB` (one SQLite file: the mode the ownership
 * tests use on one host). In front of them a tiny round-robin reverse proxy on 127.0.0.1, the stand-in
 * for the load balancer users put there: each request goes to the next live node; a node that refuses
 * the connection (killed, restarting) is skipped and the request tried on the next, as a proxy's
 * passive health check does. A request already sent to a node that dies is not retried (it may have
 * been acted on): the client sees the broken response, as it would behind a real proxy.
 *
 * Used by the scale-out chaos test and `bench/scale.ts`. Every node has the same admin token
 * (`DROST_CONTROL_ADMIN_TOKEN`), so a client holds one token for the cluster.
 */
import { join } from "node:path"
import { apiClient, ENTRY, type RunningGateway, spawnGateway } from "./gateway.ts"
import { type Workspace, workspace } from "./workspace.ts"

export interface ClusterOptions {
  nodes: number
  /** postgres://… for every node; absent: one SQLite file shared by the nodes (`DROST_DB`). */
  storeUrl?: string
  /** drost.config.json of every node (each gets its own copy). */
  config: Record<string, unknown>
  /** Extra files of every node's workspace. */
  files?: Record<string, string>
  env?: Record<string, string>
  /** Replaces `bun src/index.ts` (a compiled binary). */
  command?: string[]
}

export interface ClusterNode {
  index: number
  ws: Workspace
  /** Null while the node is down (killed, not yet restarted). */
  gw: RunningGateway | null
  /** Requests the proxy sent to this node. */
  served: number
}

export interface Cluster extends AsyncDisposable {
  /** The proxy's address: what clients use. */
  url: string
  token: string
  nodes: ClusterNode[]
  /** The folder holding the shared SQLite file (`drost.db`), or null on PostgreSQL. */
  storeDir: string | null
  /** `fetch` through the proxy with the admin token; paths as RunningGateway.api takes them. */
  api(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>
  /** SIGKILL a node (the gateway first, then its supervisor), as a machine crash would. */
  kill9(index: number): Promise<void>
  /** Start a node that is down again (same workspace, same store). */
  restart(index: number): Promise<void>
  live(): ClusterNode[]
  stop(): Promise<void>
}

const TOKEN = "cluster-admin-token-0123456789abcdef"

/**
 * The node's response body, passed on as it arrives; when the node dies mid-body the client's body
 * stops there.
 */
function relay(body: ReadableStream<Uint8Array> | null): ReadableStream<Uint8Array> | null {
  if (!body) return null
  const reader = body.getReader()
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await reader.read()
        if (done) controller.close()
        else controller.enqueue(value)
      } catch {
        // Ended, not errored: Bun logs a response stream's error as the server's own. The client sees
        // the body stop without its last event, as its stream breaking would show it.
        controller.close()
      }
    },
    cancel: (reason) => reader.cancel(reason),
  })
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const shared = options.storeUrl ? null : await workspace()
  const env = {
    DROST_CONTROL_ADMIN_TOKEN: TOKEN,
    DROST_LOG_LEVEL: "warn",
    ...(options.storeUrl ? { DROST_STORE_URL: options.storeUrl } : { DROST_DB: join(shared!.path, "drost.db") }),
    ...options.env,
  }
  const nodes: ClusterNode[] = []
  for (let index = 0; index < options.nodes; index++)
    nodes.push({ index, ws: await workspace({ config: options.config, files: options.files }), gw: null, served: 0 })
  const spawn = async (node: ClusterNode) => {
    node.gw = await spawnGateway(node.ws.path, { env, command: options.command ?? [process.execPath, ENTRY] })
  }
  // One at a time: the first creates the schema; the others then find it in place.
  for (const node of nodes) await spawn(node)

  let next = 0
  const proxy = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(request) {
      const url = new URL(request.url)
      // Bodies here are small JSON: read once so a refused connection can be tried on the next node.
      const body = request.body ? await request.arrayBuffer() : undefined
      const headers = new Headers(request.headers)
      headers.delete("host")
      for (let tried = 0; tried < nodes.length; tried++) {
        const node = nodes[next++ % nodes.length]!
        if (!node.gw) continue
        try {
          const upstream = await fetch(`${node.gw.url}${url.pathname}${url.search}`, {
            method: request.method,
            headers,
            body,
            redirect: "manual",
            signal: request.signal,
          })
          node.served++
          return new Response(relay(upstream.body), { status: upstream.status, headers: upstream.headers })
        } catch (error) {
          // Refused: the node is down or not yet listening, so the next one may take it. Reset after it
          // was sent: the node died with the request (it may have acted on it), 502 as a proxy answers.
          if ((error as { code?: string }).code === "ConnectionRefused") continue
          const message = `node ${node.index} closed the connection: ${(error as Error).message}`
          return Response.json({ error: "BadGateway", message }, { status: 502 })
        }
      }
      return Response.json({ error: "Unavailable", message: "no node of the cluster answers" }, { status: 502 })
    },
  })
  const url = `http://127.0.0.1:${proxy.port}`

  const cluster: Cluster = {
    url,
    token: TOKEN,
    nodes,
    storeDir: shared?.path ?? null,
    api: apiClient(url, TOKEN),
    async kill9(index) {
      const node = nodes[index]!
      const gw = node.gw
      if (!gw) return
      node.gw = null
      await gw.kill9()
    },
    async restart(index) {
      const node = nodes[index]!
      if (!node.gw) await spawn(node)
    },
    live: () => nodes.filter((node) => node.gw !== null),
    async stop() {
      proxy.stop(true)
      await Promise.all(nodes.map((node) => node.gw?.stop()))
    },
    async [Symbol.asyncDispose]() {
      proxy.stop(true)
      for (const node of nodes) {
        await node.gw?.[Symbol.asyncDispose]()
        await node.ws[Symbol.asyncDispose]()
      }
      await shared?.[Symbol.asyncDispose]()
    },
  }
  return cluster
}
