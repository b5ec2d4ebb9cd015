/**
 * The OpenAI audio endpoints, for any profile of kind `openai` or `openai-compatible` (a local
 * whisper or TTS server speaks the same wire): speech to text (`POST /audio/transcriptions`,
 * multipart `file` + `model`, answer `{ text }`) and text to speech (`POST /audio/speech`, JSON
 * `{ model, input, voice, response_format }`, audio bytes back). Through the `openai` SDK, as the
 * chat adapters are, with the same credential resolution and redaction.
 *
 * Failures are `AudioError`s whose message a person can act on (the provider's status and words,
 * never a key); transient ones (429, 5xx, network) are tried once more.
 */
import type { Profile } from "../core/config.ts"
import type { VoiceSpeak, VoiceTranscribe } from "../core/voice-config.ts"
import { Secrets, redactText } from "../util/redact.ts"
import { type CredentialResolver, missingKeyMessage, needsKey } from "./credential.ts"
import { openaiClient } from "./openai-chat.ts"
import { OPENAI_BASE_URL } from "./registry.ts"

export class AudioError extends Error {
  constructor(
    message: string,
    /** Worth another try: rate limited, a server error, or the network. */
    readonly transient: boolean,
  ) {
    super(message)
    this.name = "AudioError"
  }
}

/** Extensions every OpenAI-compatible transcription endpoint accepts (they infer the format from the name), by media type. */
export const AUDIO_EXTENSIONS: Readonly<Record<string, string>> = {
  "audio/ogg": "ogg",
  "audio/opus": "ogg",
  "audio/mpeg": "mp3",
  "audio/mp3": "mp3",
  "audio/mp4": "m4a",
  "audio/m4a": "m4a",
  "audio/x-m4a": "m4a",
  "audio/aac": "m4a",
  "audio/wav": "wav",
  "audio/x-wav": "wav",
  "audio/wave": "wav",
  "audio/flac": "flac",
  "audio/x-flac": "flac",
  "audio/webm": "webm",
}

export interface AudioInput {
  bytes: Uint8Array
  /** A file name whose extension names the format (OpenAI infers the format from it). */
  fileName: string
  mediaType: string
}

/** What the SDK throws for an HTTP answer: status plus the provider's message. */
interface HttpLike {
  status?: number
  message?: string
  error?: { message?: string }
}

function describe(error: unknown, what: string, profile: Profile): AudioError {
  const http = error as HttpLike
  const words = redactText(String(http?.error?.message ?? http?.message ?? error))
    .replace(/\s+/g, " ")
    .slice(0, 300)
  if (typeof http?.status === "number") {
    const transient = http.status === 429 || http.status >= 500
    return new AudioError(`${what} failed: provider "${profile.id}" answered ${http.status}: ${words}`, transient)
  }
  if ((error as Error)?.name === "AbortError" || (error as Error)?.name === "APIUserAbortError")
    return new AudioError(`${what} was cancelled`, false)
  if ((error as Error)?.name === "APIConnectionTimeoutError")
    return new AudioError(`${what} failed: provider "${profile.id}" did not answer in time`, true)
  return new AudioError(`${what} failed: cannot reach provider "${profile.id}" (${words})`, true)
}

function baseUrl(profile: Profile): string {
  const url = profile.baseUrl ?? (profile.kind === "openai" ? OPENAI_BASE_URL : undefined)
  if (!url) throw new AudioError(`provider profile "${profile.id}" has no baseUrl`, false)
  return url
}

async function client(profile: Profile, credential: CredentialResolver, timeoutMs: number) {
  const found = credential(profile)
  if (!found && needsKey(profile.kind)) throw new AudioError(missingKeyMessage(profile), false)
  Secrets.set(`provider:${profile.id}`, [found?.value])
  return await openaiClient(baseUrl(profile), found, timeoutMs)
}

async function twice<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  try {
    return await fn()
  } catch (error) {
    if (!(error instanceof AudioError) || !error.transient || signal?.aborted) throw error
    await Bun.sleep(500)
    return await fn()
  }
}

export interface Transcriber {
  readonly profile: string
  transcribe(input: AudioInput, signal?: AbortSignal): Promise<string>
}

export function createTranscriber(
  profile: Profile,
  settings: VoiceTranscribe,
  credential: CredentialResolver,
): Transcriber {
  const once = async (input: AudioInput, signal?: AbortSignal) => {
    const sdk = await client(profile, credential, settings.timeoutMs)
    const { toFile } = await import("openai")
    try {
      const result = await sdk.audio.transcriptions.create(
        {
          file: await toFile(input.bytes, input.fileName, { type: input.mediaType }),
          model: settings.model,
          response_format: "json",
          ...(settings.language ? { language: settings.language } : {}),
          ...(settings.prompt ? { prompt: settings.prompt } : {}),
        },
        { signal },
      )
      if (typeof result?.text !== "string")
        throw new AudioError(`transcription failed: provider "${profile.id}" answered without a text`, false)
      return result.text.trim()
    } catch (error) {
      throw error instanceof AudioError ? error : describe(error, "transcription", profile)
    }
  }
  return {
    profile: profile.id,
    transcribe: (input, signal) => twice(() => once(input, signal), signal),
  }
}

export interface Speaker {
  readonly profile: string
  /** The answer as audio in the configured format: bytes, media type and a file name for uploads. */
  speak(text: string, signal?: AbortSignal): Promise<AudioInput>
}

const FORMATS = {
  opus: { mediaType: "audio/ogg", fileName: "reply.ogg" },
  mp3: { mediaType: "audio/mpeg", fileName: "reply.mp3" },
} as const

export function createSpeaker(profile: Profile, settings: VoiceSpeak, credential: CredentialResolver): Speaker {
  const once = async (text: string, signal?: AbortSignal): Promise<AudioInput> => {
    const sdk = await client(profile, credential, settings.timeoutMs)
    try {
      const response = await sdk.audio.speech.create(
        {
          model: settings.model,
          input: text,
          voice: settings.voice,
          response_format: settings.format,
          ...(settings.instructions ? { instructions: settings.instructions } : {}),
        },
        { signal },
      )
      const bytes = new Uint8Array(await response.arrayBuffer())
      if (bytes.length === 0)
        throw new AudioError(`speech failed: provider "${profile.id}" answered with no audio`, false)
      return { bytes, ...FORMATS[settings.format] }
    } catch (error) {
      throw error instanceof AudioError ? error : describe(error, "speech", profile)
    }
  }
  return {
    profile: profile.id,
    speak: (text, signal) => twice(() => once(text, signal), signal),
  }
}
