/**
 * Files people share in Slack: images (PNG, JPEG, GIF, WebP up to 20 MB) become image input; other
 * files are declined with a note. A file is fetched from its `url_private_download` with the bot token
 * (scope files:read); without that scope Slack answers a sign-in page instead of the file, which is
 * refused here with the fix rather than handed to the model.
 */
const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"])
const MAX_BYTES = 20 * 1024 * 1024

export interface SlackFile {
  id: string
  name?: string
  mimetype?: string
  size?: number
  url_private?: string
  url_private_download?: string
}

export const isImage = (file: SlackFile) => IMAGE_TYPES.has(file.mimetype ?? "")

/** The bot token goes only to Slack's own hosts (or the configured Web API's host, e.g. a test fake). */
export function tokenHost(url: string, apiUrl: string): boolean {
  try {
    const { hostname, host, protocol } = new URL(url)
    if (host === new URL(apiUrl).host) return true
    return protocol === "https:" && (hostname === "slack.com" || hostname.endsWith(".slack.com"))
  } catch {
    return false
  }
}

export async function downloadImage(
  file: SlackFile,
  botToken: string,
  apiUrl: string,
): Promise<{ mediaType: string; data: string }> {
  if ((file.size ?? 0) > MAX_BYTES) throw new Error(`the image is ${file.size} bytes; the limit is ${MAX_BYTES}`)
  const url = file.url_private_download ?? file.url_private
  if (!url) throw new Error("Slack gave no download address for the file")
  if (!tokenHost(url, apiUrl)) throw new Error("the file is not on a Slack host")
  const response = await fetch(url, { headers: { authorization: `Bearer ${botToken}` }, redirect: "follow" })
  if (!response.ok) throw new Error(`Slack answered ${response.status} for the file`)
  if ((response.headers.get("content-type") ?? "").startsWith("text/html"))
    throw new Error("Slack sent a sign-in page instead of the file: add the files:read scope and reinstall the app")
  const bytes = new Uint8Array(await response.arrayBuffer())
  if (bytes.length > MAX_BYTES) throw new Error(`the image is ${bytes.length} bytes; the limit is ${MAX_BYTES}`)
  return { mediaType: file.mimetype!, data: Buffer.from(bytes).toString("base64") }
}
