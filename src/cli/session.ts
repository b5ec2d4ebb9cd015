/**
 * `drost session export <id>`, `drost session import <file>` and `drost retention`: portability and
 * clean-up of stored sessions. They work on a stopped workspace directly and on a running gateway
 * through its Control API (see attach.ts).
 */
import { readFileSync, writeFileSync } from "node:fs"
import { defineCommand } from "citty"
import type { RetentionReport } from "../agent/retention.ts"
import type { SessionExport } from "../store/portable.ts"
import { DrostError } from "../core/error.ts"
import { integer, UsageError } from "./args.ts"
import { attachArgs } from "./attach.ts"
import { ask, where } from "./reach.ts"

const exportCommand = defineCommand({
  meta: { name: "export", description: "Write a session (messages, turns, summaries) as JSON" },
  args: {
    id: { type: "positional", required: true, description: "Session id" },
    out: { type: "string", alias: "o", description: "File to write (default: stdout); created owner-only" },
    ...attachArgs,
  },
  async run({ args }) {
    const doc = await ask(
      where(args),
      { mode: "read" },
      (gw) => gw.continuity.portable.export(args.id),
      async (api) => (await api(`/sessions/${encodeURIComponent(args.id)}/export`)) as SessionExport,
    )
    const text = `${JSON.stringify(doc, null, 2)}\n`
    if (args.out) {
      writeFileSync(args.out, text, { mode: 0o600 })
      process.stderr.write(`drost: wrote ${doc.messages.length} messages of ${args.id} to ${args.out}\n`)
    } else process.stdout.write(text)
  },
})

const importCommand = defineCommand({
  meta: { name: "import", description: "Import a session exported as JSON (it gets a new id)" },
  args: {
    file: { type: "positional", required: true, description: "The export file ('-' for stdin)" },
    json: { type: "boolean", description: "Print the result as JSON" },
    ...attachArgs,
  },
  async run({ args }) {
    let doc: unknown
    try {
      doc = JSON.parse(args.file === "-" ? readFileSync(0, "utf8") : readFileSync(args.file, "utf8"))
    } catch (error) {
      throw new DrostError("Invalid", `cannot read ${args.file}: ${(error as Error).message}`)
    }
    const result = await ask(
      where(args),
      { mode: "write" },
      (gw) => gw.continuity.portable.import(doc),
      async (api) =>
        (await api("/sessions/import", { method: "POST", json: doc })) as { sessionId: string; messages: number },
    )
    process.stdout.write(
      args.json ? `${JSON.stringify(result)}\n` : `imported ${result.messages} messages as ${result.sessionId}\n`,
    )
  },
})

export const sessionCommand = defineCommand({
  meta: { name: "session", description: "Export and import sessions as JSON" },
  subCommands: { export: exportCommand, import: importCommand },
})

export const retentionCommand = defineCommand({
  meta: {
    name: "retention",
    description:
      "Archive or delete old sessions by age, count or size (limits from retention in the config unless given)",
  },
  args: {
    "dry-run": { type: "boolean", description: "Only report what would be removed" },
    "max-age-days": { type: "string", description: "Sessions idle longer than this many days" },
    "max-sessions": { type: "string", description: "Keep only the newest N sessions" },
    "max-bytes": { type: "string", description: "Keep the newest sessions within this many bytes of messages" },
    action: { type: "string", description: "archive (default: JSON under .drost/archive first) or delete" },
    json: { type: "boolean", description: "Print the report as JSON" },
    ...attachArgs,
  },
  async run({ args }) {
    const number = (value: string | undefined, name: string) => integer(value, `--${name}`, { min: 1 })
    if (args.action !== undefined && args.action !== "archive" && args.action !== "delete")
      throw new UsageError(`--action expects archive or delete, got "${args.action}"`, ["retention"])
    const rule = {
      maxAgeDays: number(args["max-age-days"], "max-age-days"),
      maxSessions: number(args["max-sessions"], "max-sessions"),
      maxBytes: number(args["max-bytes"], "max-bytes"),
      action: args.action as "archive" | "delete" | undefined,
    }
    const dryRun = Boolean(args["dry-run"])
    const report = await ask(
      where(args),
      { mode: dryRun ? "read" : "write" },
      (gw) => gw.continuity.retention({ dryRun, rule }),
      async (api) => (await api("/retention", { method: "POST", json: { dryRun, ...rule } })) as RetentionReport,
    )
    if (args.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
      return
    }
    const verb = report.dryRun ? `would ${report.action}` : report.action === "archive" ? "archived" : "deleted"
    const lines = report.sessions.map(
      (session) =>
        `  ${session.id}  ${String(session.messages).padStart(5)} msgs  ${String(session.bytes).padStart(9)} B  ${session.reason}`,
    )
    process.stdout.write(
      `${verb} ${report.sessions.length} session${report.sessions.length === 1 ? "" : "s"} (${report.bytes} bytes)${report.archiveDir && !report.dryRun && report.sessions.length ? ` into ${report.archiveDir}` : ""}\n${lines.join("\n")}${lines.length ? "\n" : ""}`,
    )
  },
})
