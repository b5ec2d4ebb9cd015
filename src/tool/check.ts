/**
 * Load tool files in a throwaway worker and validate them, without a gateway: `drost tool check` and
 * `drost tool list`. The same worker, import, shape and schema checks the gateway's loader applies.
 */
import { describeError, type FromWorker, type ToolMeta, type ToWorker } from "./protocol.ts"
import { compile } from "./validate.ts"
import { workerUrl } from "./loader.ts"

export interface CheckResult {
  tools: ToolMeta[]
  rejected: { file: string; reason: string }[]
}

export async function checkFiles(files: string[], importTimeoutMs = 10_000): Promise<CheckResult> {
  const worker = new Worker(workerUrl())
  try {
    const loaded = await new Promise<Extract<FromWorker, { type: "loaded" }>>((resolve) => {
      const timer = setTimeout(
        () =>
          resolve({
            type: "loaded",
            tools: [],
            rejected: files.map((file) => ({ file, reason: "the tool worker did not answer" })),
          }),
        importTimeoutMs * (files.length + 1),
      )
      worker.addEventListener("message", (event: MessageEvent<FromWorker>) => {
        if (event.data.type !== "loaded") return
        clearTimeout(timer)
        resolve(event.data)
      })
      worker.addEventListener("error", (event) => {
        clearTimeout(timer)
        resolve({
          type: "loaded",
          tools: [],
          rejected: files.map((file) => ({ file, reason: `the tool worker crashed: ${event.message}` })),
        })
      })
      worker.postMessage({ type: "load", files, version: Date.now(), importTimeoutMs } satisfies ToWorker)
    })
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
  } finally {
    worker.terminate()
  }
}
