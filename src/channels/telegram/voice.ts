/**
 * Voice notes: a Telegram voice or audio message is checked against the limits (duration and size, as
 * the update states them, before anything is downloaded), fetched through getFile and the Bot API's
 * file route, and transcribed by the `voice.transcribe` profile; the transcript becomes the user's
 * text. With `voice.speak`, answers are also spoken (`/audio/speech`) and sent as a voice message.
 *
 * Every way this can end short of a transcript (no provider configured, too long, too big, the
 * download or the provider failing) is a sentence for the user, never a silent drop.
 */
import { type Api, InputFile } from "grammy"
import type { Message } from "grammy/types"
import type { Config, Profile } from "../../core/config.ts"
import type { CredentialResolver } from "../../providers/credential.ts"
import {
  AUDIO_EXTENSIONS,
  type AudioInput,
  createSpeaker,
  createTranscriber,
  type Speaker,
  type Transcriber,
} from "../../providers/audio.ts"
import { blocks } from "./render.ts"

export interface VoiceNote {
  kind: "voice" | "audio"
  fileId: string
  durationSec: number
  /** As the update states it; Telegram may leave it out. */
  fileSize: number | null
  mediaType: string | null
  fileName: string | null
}

export function voiceOf(message: Message): VoiceNote | null {
  const { voice, audio } = message
  if (voice)
    return {
      kind: "voice",
      fileId: voice.file_id,
      durationSec: voice.duration,
      fileSize: voice.file_size ?? null,
      mediaType: voice.mime_type ?? null,
      fileName: null,
    }
  if (audio)
    return {
      kind: "audio",
      fileId: audio.file_id,
      durationSec: audio.duration,
      fileSize: audio.file_size ?? null,
      mediaType: audio.mime_type ?? null,
      fileName: audio.file_name ?? null,
    }
  return null
}

const ACCEPTED = new Set(["flac", "mp3", "mp4", "mpeg", "mpga", "m4a", "ogg", "wav", "webm"])
/**
 * Telegram names voice files `.oga`. OpenAI takes that, but compatible servers such as Groq refuse it
 * (400 unsupported_audio_format) while all of them take the same OGG/Opus bytes named `.ogg`.
 */
const RENAMED: Record<string, string> = { oga: "ogg", opus: "ogg" }

export function uploadName(note: VoiceNote, filePath: string): { fileName: string; mediaType: string } {
  const mediaType = note.mediaType ?? (note.kind === "voice" ? "audio/ogg" : "application/octet-stream")
  const fromName = (name: string | null) => {
    const ext = name?.match(/\.([A-Za-z0-9]+)$/)?.[1]?.toLowerCase()
    if (!ext) return null
    const mapped = RENAMED[ext] ?? ext
    return ACCEPTED.has(mapped) ? mapped : null
  }
  const ext = fromName(filePath) ?? fromName(note.fileName) ?? AUDIO_EXTENSIONS[mediaType] ?? "ogg"
  return { fileName: `${note.kind}.${ext}`, mediaType }
}

const clock = (seconds: number) => `${Math.floor(seconds / 60)}:${String(Math.round(seconds % 60)).padStart(2, "0")}`
const size = (bytes: number) =>
  bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`

export class VoiceRefusal extends Error {}

export interface VoiceDeps {
  config: Config
  credential: CredentialResolver
  api: Api
  fileUrl: (path: string) => string
}

export type Voice = ReturnType<typeof createVoice>

export function createVoice(deps: VoiceDeps) {
  const settings = deps.config.voice ?? {}
  const profile = (id: string): Profile => deps.config.providers.profiles.find((candidate) => candidate.id === id)!
  const transcriber: Transcriber | null = settings.transcribe
    ? createTranscriber(profile(settings.transcribe.profile), settings.transcribe, deps.credential)
    : null
  const speaker: Speaker | null = settings.speak
    ? createSpeaker(profile(settings.speak.profile), settings.speak, deps.credential)
    : null

  /** Download a file of at most `maxBytes`, counting what arrives rather than trusting the header. */
  const download = async (fileId: string, maxBytes: number): Promise<{ bytes: Uint8Array; path: string }> => {
    const file = await deps.api.getFile(fileId)
    if (!file.file_path) throw new Error("Telegram returned no file path")
    if ((file.file_size ?? 0) > maxBytes) throw new VoiceRefusal(tooBig(file.file_size!, maxBytes))
    const response = await fetch(deps.fileUrl(file.file_path), { signal: AbortSignal.timeout(120_000) })
    if (!response.ok || !response.body) throw new Error(`downloading it from Telegram failed: HTTP ${response.status}`)
    const parts: Uint8Array[] = []
    let size = 0
    for await (const part of response.body) {
      size += part.length
      if (size > maxBytes) {
        await response.body.cancel().catch(() => {})
        throw new VoiceRefusal(tooBig(size, maxBytes))
      }
      parts.push(part)
    }
    return { bytes: Buffer.concat(parts), path: file.file_path }
  }

  const tooBig = (bytes: number, max: number) =>
    `🎤 This audio file is ${size(bytes)}; I transcribe files up to ${size(max)} (voice.transcribe.maxBytes). Send a shorter one, or type it.`

  return {
    transcribing: transcriber?.profile ?? null,
    speaking: speaker?.profile ?? null,

    /** Why this note will not be transcribed, before anything is downloaded; null when it will be. */
    refusal(note: VoiceNote): string | null {
      const limits = settings.transcribe
      if (!transcriber || !limits)
        return "🎤 I can't listen to voice messages yet: no transcription provider is configured (voice.transcribe in drost.config.ts; see docs/assistant.md). Please type your message instead."
      if (note.durationSec > limits.maxDurationSec)
        return `🎤 This ${note.kind === "voice" ? "voice message" : "recording"} is ${clock(note.durationSec)} long; I transcribe up to ${clock(limits.maxDurationSec)} (voice.transcribe.maxDurationSec). Send a shorter one, or type it.`
      if (note.fileSize !== null && note.fileSize > limits.maxBytes) return tooBig(note.fileSize, limits.maxBytes)
      return null
    },

    /** Download and transcribe; throws a VoiceRefusal (a limit) or an Error whose message says what failed. */
    async transcribe(note: VoiceNote): Promise<{ text: string; bytes: number }> {
      if (!transcriber || !settings.transcribe) throw new VoiceRefusal("no transcription provider is configured")
      const file = await download(note.fileId, settings.transcribe.maxBytes)
      const input: AudioInput = { bytes: file.bytes, ...uploadName(note, file.path) }
      return { text: await transcriber.transcribe(input), bytes: file.bytes.length }
    },

    /** Whether an answer to a message (a voice note or not) is also spoken. */
    speaks(fromVoice: boolean): boolean {
      const when = settings.speak?.when ?? "never"
      return Boolean(speaker) && (when === "always" || (when === "voice" && fromVoice))
    },

    /**
     * The answer (Markdown) as spoken audio: what the chat displays, without code blocks. Null when
     * there is nothing to say or it is longer than `speak.maxChars` (the text answer stands alone).
     */
    async speak(markdown: string): Promise<AudioInput | null> {
      if (!speaker || !settings.speak) return null
      const text = spokenText(markdown)
      if (!text || text.length > settings.speak.maxChars) return null
      return await speaker.speak(text)
    },

    /** Send spoken audio to a chat as a voice message (a multipart upload). */
    async send(chatId: number, audio: AudioInput, replyTo?: number) {
      await deps.api.sendVoice(chatId, new InputFile(audio.bytes, audio.fileName), {
        ...(replyTo ? { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } } : {}),
      })
    },
  }
}

/** What a listener should hear of a Markdown answer: its displayed text, code blocks left out. */
export function spokenText(markdown: string): string {
  return blocks(markdown)
    .filter((block) => !block.code)
    .map((block) => block.text.trim())
    .filter(Boolean)
    .join("\n\n")
}
