/**
 * Incoming media: photos (the largest size) and image documents become image parts of the turn, with
 * their caption as its text; voice and audio are voice notes (voice.ts); every other kind gets a short
 * "not supported yet" answer.
 */
import type { Api } from "grammy"
import type { Message } from "grammy/types"

/** The Bot API serves files up to 20 MB through getFile. */
const MAX_BYTES = 20 * 1024 * 1024

export interface ImageRef {
  fileId: string
  mediaType: string
}

export function imageOf(message: Message): ImageRef | null {
  if (message.photo?.length) {
    const largest = message.photo.reduce((best, size) =>
      size.width * size.height > best.width * best.height ? size : best,
    )
    return { fileId: largest.file_id, mediaType: "image/jpeg" }
  }
  const document = message.document
  if (document?.mime_type?.startsWith("image/")) return { fileId: document.file_id, mediaType: document.mime_type }
  return null
}

const KINDS: [keyof Message, string][] = [
  ["video", "videos"],
  ["video_note", "video notes"],
  ["animation", "GIFs"],
  ["sticker", "stickers"],
  ["document", "this kind of file"],
  ["location", "locations"],
  ["contact", "contacts"],
  ["poll", "polls"],
]

/** A short name for what the message carries when it is not text or an image, else null. */
export function unsupported(message: Message): string | null {
  if (message.text || imageOf(message)) return null
  for (const [key, name] of KINDS) if (message[key] !== undefined) return name
  return "this kind of message"
}

export async function download(
  api: Api,
  fileUrl: (path: string) => string,
  image: ImageRef,
): Promise<{ mediaType: string; data: string }> {
  const file = await api.getFile(image.fileId)
  if (!file.file_path) throw new Error("Telegram returned no file path")
  if ((file.file_size ?? 0) > MAX_BYTES)
    throw new Error(`the image is ${file.file_size} bytes; the limit is ${MAX_BYTES}`)
  const response = await fetch(fileUrl(file.file_path), { signal: AbortSignal.timeout(60_000) })
  if (!response.ok) throw new Error(`download failed: HTTP ${response.status}`)
  const bytes = new Uint8Array(await response.arrayBuffer())
  return { mediaType: image.mediaType, data: Buffer.from(bytes).toString("base64") }
}
