/**
 * Image attachments as image input: each attachment whose content type is an image (PNG, JPEG, GIF,
 * WebP) and at most `MAX_BYTES` is fetched from Discord's CDN and handed to the agent as base64. Other
 * files are named in the log and left out; the user's text still goes through.
 */
import type { GatewayMessageCreateDispatchData } from "@discordjs/core"
import type { Logger } from "../../util/log.ts"

export const MAX_BYTES = 10 * 1024 * 1024
const IMAGE = /^image\/(png|jpeg|gif|webp)$/

export async function imagesOf(
  message: GatewayMessageCreateDispatchData,
  log: Logger,
): Promise<{ mediaType: string; data: string }[]> {
  const out: { mediaType: string; data: string }[] = []
  for (const file of message.attachments ?? []) {
    const type = file.content_type?.split(";")[0]?.trim() ?? ""
    if (!IMAGE.test(type) || file.size > MAX_BYTES) {
      log.info("attachment not used", { name: file.filename, type, bytes: file.size })
      continue
    }
    const response = await fetch(file.url, { signal: AbortSignal.timeout(30_000) })
    if (!response.ok) throw new Error(`downloading ${file.filename} failed: HTTP ${response.status}`)
    const bytes = new Uint8Array(await response.arrayBuffer())
    out.push({ mediaType: type, data: Buffer.from(bytes).toString("base64") })
  }
  return out
}
