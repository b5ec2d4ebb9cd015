/**
 * The health gate for a new executable (docs/operations.md#update), with the criteria evolution's
 * gate applies after a restart (cli/supervisor.ts): within `evolution.healthGate.timeoutMs` the
 * binary starts as `drost start` (its supervisor and gateway), prints its ready line, answers
 * `/healthz` with 200 and, when `evolution.healthGate.canary` is on, completes a canary turn. It runs in
 * a scratch workspace on the offline demo provider, so no model is called and the real workspace is
 * not touched before the new binary has shown it starts at all.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export interface GateSettings {
  timeoutMs: number
  canary: boolean
}

/** Null when healthy, else why not (one line, then the binary's last output). */
export async function gateBinary(binary: string, gate: GateSettings): Promise<string | null> {
  const folder = mkdtempSync(join(tmpdir(), "drost-update-gate-"))
  const deadline = Date.now() + gate.timeoutMs
  let proc: ReturnType<typeof Bun.spawn> | null = null
  let output = ""
  const tail = () => {
    const last = output.trim().split("\n").slice(-6).join("\n")
    return last ? `:\n${last}` : ""
  }
  try {
    await Bun.write(join(folder, "drost.config.json"), JSON.stringify({ controlApi: { port: 0 } }))
    try {
      proc = Bun.spawn([binary, "start", "--server"], {
        cwd: folder,
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: folder, NO_COLOR: "1" },
      })
    } catch (error) {
      return `the new executable does not run: ${(error as Error).message}`
    }
    const running = proc
    const decoder = new TextDecoder()
    const read = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) output = (output + decoder.decode(chunk)).slice(-8000)
    }
    void read(running.stderr as ReadableStream<Uint8Array>)
    const ready = new Promise<string | null>((resolve) => {
      ;(async () => {
        let out = ""
        for await (const chunk of running.stdout as ReadableStream<Uint8Array>) {
          const text = decoder.decode(chunk)
          out += text
          output = (output + text).slice(-8000)
          const line = out.split("\n").find((candidate) => candidate.startsWith('{"ready":true'))
          if (line) return resolve((JSON.parse(line) as { url: string | null }).url)
        }
        resolve(null)
      })()
    })
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), gate.timeoutMs)
    })
    const url = await Promise.race([ready, timeout])
    clearTimeout(timer)
    if (url === "timeout") return `not ready within ${gate.timeoutMs} ms${tail()}`
    if (url === null) return `the new executable exited (code ${await running.exited}) before it was ready${tail()}`
    const left = () => AbortSignal.timeout(Math.max(100, deadline - Date.now()))
    const health = await fetch(`${url}/healthz`, { signal: left() }).catch((error: Error) => error)
    if (health instanceof Error) return `/healthz failed: ${health.message}`
    if (health.status !== 200) return `/healthz answered ${health.status}: ${await health.text()}`
    if (gate.canary) {
      const token = readFileSync(join(folder, ".drost", "control-token"), "utf8").trim()
      const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" }
      const problem = await (async () => {
        const created = await fetch(`${url}/control/v1/sessions`, {
          method: "POST",
          headers,
          body: "{}",
          signal: left(),
        })
        if (created.status !== 201) return `creating the canary session answered ${created.status}`
        const { id } = (await created.json()) as { id: string }
        const turn = await fetch(`${url}/control/v1/sessions/${id}/turn`, {
          method: "POST",
          headers,
          body: JSON.stringify({ input: "canary: reply with ok" }),
          signal: left(),
        })
        const result = (await turn.json().catch(() => ({}))) as { status?: string; reason?: string | null }
        return result.status === "completed" ? null : `${result.status ?? turn.status}: ${result.reason ?? ""}`
      })().catch((error: Error) => error.message)
      if (problem) return `the canary turn failed: ${problem}`
    }
    return null
  } finally {
    if (proc && proc.exitCode === null) {
      proc.kill("SIGTERM")
      const kill = setTimeout(() => proc?.kill("SIGKILL"), 5_000)
      await proc.exited
      clearTimeout(kill)
    }
    rmSync(folder, { recursive: true, force: true })
  }
}
