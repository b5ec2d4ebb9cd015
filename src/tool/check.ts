/**
 * Load tool files in a throwaway tool host and validate them, without a gateway: `drost tool check`.
 * The same host (inside the OS sandbox), import, shape and schema checks the gateway's loader applies;
 * a file that kills its host is reported, and the others are checked in a new one.
 */
import { dirname } from "node:path"
import type { ToolHosts } from "./hosts.ts"
import { loadInHost } from "./loader.ts"
import { describeError, type ToolMeta } from "./protocol.ts"
import { compile } from "./validate.ts"

export interface CheckResult {
  tools: ToolMeta[]
  rejected: { file: string; reason: string }[]
}

export async function checkFiles(hosts: ToolHosts, files: string[], importTimeoutMs = 10_000): Promise<CheckResult> {
  const problem = await hosts.unavailable()
  if (problem) return { tools: [], rejected: files.map((file) => ({ file, reason: problem })) }
  const loaded = await loadInHost(hosts, {
    label: "tool check",
    files,
    version: Date.now(),
    importTimeoutMs,
    // A file outside tools/ (`drost tool check some/file.ts`) must be visible to the host too.
    extraRead: files.map((file) => dirname(file)),
  })
  loaded.host?.kill("check done")
  const rejected = [...loaded.rejected]
  const tools: ToolMeta[] = []
  for (const meta of loaded.tools) {
    try {
      compile(meta.parameters)
      tools.push(meta)
    } catch (error) {
      rejected.push({ file: meta.file, reason: `parameters is not a valid JSON Schema: ${describeError(error)}` })
    }
  }
  return { tools, rejected }
}
