/**
 * Attachments of a plugin channel's messages (ChannelMessage images, files, voice: src/sdk/plugin.ts)
 * made into what the agent receives, by the channel host (plugin-host.ts):
 *
 * - `storable`: before the message goes into the durable inbox, inline data larger than
 *   `MAX_INLINE_BYTES` is dropped (named in a note), so the inbox never holds large blobs. An attachment
 *   by `ref` is stored as its reference, which is what lets it survive kill -9: after a restart the
 *   host fetches it when it handles the message.
 * - `attachments`: while the message is handled (an allowed user, in the conversation's lane) each one is
 *   read (`data`) or fetched (the plugin's `fetch(ref)`) within its limit. Images become image parts; a
 *   text file's content goes into the user's text under its name; any other file is named there. What
 *   could not be used (too large, a fetch that failed, no `fetch`) is a line of the text, never a silent
 *   drop, so the agent can tell the person.
 * - `createListener`: a voice note, transcribed by the `voice.transcribe` profile as Telegram's are
 *   (telegram/voice.ts), or the sentence why not (no provider, over a limit, the provider failing);
 *   and the answer spoken by the `voice.speak` profile, when `when` says so (`voice`: answers to voice
 *   notes, `always`), for a channel that can post audio (the serve option `postVoice`).
 */
import type { Config, Profile } from "../core/config.ts"
import { createCredentials } from "../gateway/auth.ts"
import {
  AUDIO_EXTENSIONS,
  type AudioInput,
  createSpeaker,
  createTranscriber,
  type Speaker,
  type Transcriber,
} from "../providers/audio.ts"
import type { ChannelAttachment, ChannelFile, ChannelMessage, ChannelVoice } from "../sdk/plugin.ts"
import type { InboundImage } from "./contract.ts"

/** Inline data (base64 in the message) kept in the inbox, per attachment (decoded bytes). */
export const MAX_INLINE_BYTES = 4 * 1024 * 1024
/** An image larger than this is left out (the providers refuse larger ones). */
export const MAX_IMAGE_BYTES = 10 * 1024 * 1024
/** A text file up to this size goes into the user's text; a larger one is named only. */
export const MAX_TEXT_BYTES = 256 * 1024

type Fetch = (ref: string, limits: { maxBytes: number; mediaType: string }) => Promise<Uint8Array>

const decodedSize = (base64: string) => Math.floor((base64.length * 3) / 4) - (base64.match(/=*$/)?.[0].length ?? 0)

const size = (bytes: number) =>
  bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.max(1, Math.ceil(bytes / 1024))} KB`

const nameOf = (attachment: ChannelAttachment & { name?: string }, what: string) =>
  attachment.name ?? `${what} (${attachment.mediaType})`

/** A stored attachment whose inline data was dropped: why. */
type Stored<T> = T & { dropped?: string }

function keep<T extends ChannelAttachment>(attachment: T): Stored<T> {
  if (typeof attachment.data !== "string") return attachment
  const bytes = decodedSize(attachment.data)
  if (bytes <= MAX_INLINE_BYTES) return attachment
  const { data: _data, ...rest } = attachment
  const dropped = `it was ${size(bytes)} inline; the channel passes at most ${size(MAX_INLINE_BYTES)}`
  return { ...rest, bytes, dropped } as Stored<T>
}

/** The message as the inbox stores it: attachments by reference as they are, large inline data dropped. */
export function storable(message: ChannelMessage): ChannelMessage {
  return {
    ...message,
    images: (message.images ?? []).map(keep),
    ...(message.files?.length ? { files: message.files.map(keep) } : {}),
    ...(message.voice ? { voice: keep(message.voice) } : {}),
  }
}

/** Whether the message carries anything for the agent. */
export function hasContent(message: ChannelMessage): boolean {
  return Boolean(message.text.trim() || message.images?.length || message.files?.length || message.voice)
}

/** The bytes of an attachment within `maxBytes`; throws with a sentence when they cannot be had. */
async function bytesOf(attachment: Stored<ChannelAttachment>, maxBytes: number, fetch?: Fetch): Promise<Uint8Array> {
  if (attachment.dropped) throw new Error(attachment.dropped)
  if (attachment.bytes !== undefined && attachment.bytes > maxBytes)
    throw new Error(`it is ${size(attachment.bytes)}; the limit is ${size(maxBytes)}`)
  let bytes: Uint8Array
  if (typeof attachment.data === "string") bytes = Uint8Array.from(Buffer.from(attachment.data, "base64"))
  else if (typeof attachment.ref === "string") {
    if (!fetch) throw new Error("the channel gave a reference but cannot fetch it")
    bytes = await fetch(attachment.ref, { maxBytes, mediaType: attachment.mediaType })
    if (!(bytes instanceof Uint8Array)) throw new Error("the channel's fetch did not return bytes")
  } else throw new Error("it has neither data nor a reference")
  if (bytes.length > maxBytes) throw new Error(`it is ${size(bytes.length)}; the limit is ${size(maxBytes)}`)
  return bytes
}

const TEXT_TYPES = /^(text\/|application\/(json|xml|yaml|x-yaml|toml|javascript|x-sh|sql|csv)\b|.*\+(json|xml)\b)/

/** A file's content as text, or null when it is not text (a bad UTF-8 sequence, NUL bytes). */
function asText(bytes: Uint8Array): string | null {
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes)
    return text.includes("\u0000") ? null : text
  } catch {
    return null
  }
}

/**
 * Images, files and notes of a message, read or fetched now. Never throws: what cannot be used is a
 * line of `text` saying what and why.
 */
export async function attachments(
  message: ChannelMessage,
  fetch: Fetch | undefined,
): Promise<{ text: string; images: InboundImage[] }> {
  const images: InboundImage[] = []
  const lines: string[] = []
  const image = async (attachment: Stored<ChannelAttachment & { name?: string }>) => {
    try {
      const bytes = await bytesOf(attachment, MAX_IMAGE_BYTES, fetch)
      images.push({ mediaType: attachment.mediaType, data: Buffer.from(bytes).toString("base64") })
    } catch (error) {
      lines.push(`[image ${nameOf(attachment, "image")} not passed on: ${(error as Error).message}]`)
    }
  }
  for (const item of message.images ?? []) await image(item)
  for (const file of (message.files ?? []) as Stored<ChannelFile>[]) {
    if (file.mediaType.startsWith("image/")) {
      await image(file)
      continue
    }
    const label = `${file.name} (${file.mediaType}${file.bytes !== undefined ? `, ${size(file.bytes)}` : ""})`
    if (!TEXT_TYPES.test(file.mediaType)) {
      lines.push(`[file ${label}: not passed on, only images and text files are read]`)
      continue
    }
    try {
      const text = asText(await bytesOf(file, MAX_TEXT_BYTES, fetch))
      lines.push(text === null ? `[file ${label}: not passed on, it is not UTF-8 text]` : `[file ${label}]\n${text}`)
    } catch (error) {
      lines.push(`[file ${label}: not passed on: ${(error as Error).message}]`)
    }
  }
  return { text: [message.text, ...lines].filter((part) => part.trim()).join("\n\n"), images }
}

const clock = (seconds: number) => `${Math.floor(seconds / 60)}:${String(Math.round(seconds % 60)).padStart(2, "0")}`

/** Voice notes of a channel: a transcript, or the sentence to answer instead. */
export function createListener(config: Config) {
  const settings = config.voice?.transcribe
  const speaking = config.voice?.speak
  const profile = (id: string) => config.providers.profiles.find((candidate) => candidate.id === id) as Profile
  const credential = createCredentials(config.stateDir).resolve
  const transcriber: Transcriber | null = settings
    ? createTranscriber(profile(settings.profile), settings, credential)
    : null
  const speaker: Speaker | null = speaking ? createSpeaker(profile(speaking.profile), speaking, credential) : null
  return {
    /** Whether an answer (to a voice note or not) is also spoken. */
    speaks(fromVoice: boolean): boolean {
      const when = speaking?.when ?? "never"
      return Boolean(speaker) && (when === "always" || (when === "voice" && fromVoice))
    },

    /** The answer (Markdown) as audio, code blocks left out; null with no words or over `speak.maxChars`. */
    async speak(markdown: string): Promise<AudioInput | null> {
      if (!speaker || !speaking) return null
      const text = markdown
        .replace(/```[\s\S]*?(```|$)/g, "")
        .replace(/\n{3,}/g, "\n\n")
        .trim()
      if (!text || text.length > speaking.maxChars) return null
      return await speaker.speak(text)
    },

    /** The transcript, or `{ refusal }`: a sentence for the person (nothing reached the agent). */
    async listen(
      voice: Stored<ChannelVoice>,
      fetch: Fetch | undefined,
    ): Promise<{ text: string } | { refusal: string }> {
      if (!transcriber || !settings)
        return {
          refusal:
            "🎤 I can't listen to voice messages yet: no transcription provider is configured (voice.transcribe). Please type your message instead.",
        }
      if (voice.durationSec > settings.maxDurationSec)
        return {
          refusal: `🎤 This voice message is ${clock(voice.durationSec)} long; I transcribe up to ${clock(settings.maxDurationSec)} (voice.transcribe.maxDurationSec). Send a shorter one, or type it.`,
        }
      let bytes: Uint8Array
      try {
        bytes = await bytesOf(voice, settings.maxBytes, fetch)
      } catch (error) {
        return {
          refusal: `🎤 I could not use this voice message: ${(error as Error).message}. Send it again, or type it.`,
        }
      }
      const type = voice.mediaType.split(";")[0]!.trim().toLowerCase()
      try {
        const text = await transcriber.transcribe({
          bytes,
          fileName: `voice.${AUDIO_EXTENSIONS[type] ?? "ogg"}`,
          mediaType: voice.mediaType,
        })
        if (!text)
          return { refusal: "🎤 I could not make out any words in this voice message. Send it again, or type it." }
        return { text }
      } catch (error) {
        return {
          refusal: `⚠️ I could not transcribe this voice message (${(error as Error).message}). Nothing reached the agent: send it again, or type it.`,
        }
      }
    },
  }
}
