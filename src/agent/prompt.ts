/**
 * The system prompt, read from `prompts/system.md` and re-read only when the file changes (checked by
 * mtime and size on each turn, a single stat call), so an edit takes effect on the next turn.
 */
import { statSync } from "node:fs"

export const DEFAULT_SYSTEM_PROMPT = `You are Drost, a persistent agent running inside the user's workspace.
Use the tools you are given to inspect files before answering questions about them. Be concise.`

export function createPromptSource(file: string) {
  let stamp = ""
  let cached = DEFAULT_SYSTEM_PROMPT
  return {
    file,
    async read(): Promise<string> {
      const info = (() => {
        try {
          return statSync(file)
        } catch {
          return null
        }
      })()
      if (!info) return DEFAULT_SYSTEM_PROMPT
      const next = `${info.mtimeMs}:${info.size}`
      if (next !== stamp) {
        cached = (await Bun.file(file).text()).trim() || DEFAULT_SYSTEM_PROMPT
        stamp = next
      }
      return cached
    },
  }
}
