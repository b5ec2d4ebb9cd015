/**
 * The `voice` section: which provider profile turns voice messages into text (`transcribe`, its
 * OpenAI-compatible `POST /audio/transcriptions`) and which one answers aloud (`speak`,
 * `POST /audio/speech`). Models and voices have no defaults: they differ per server and change over
 * time, so the owner names them.
 *
 * Keys with a default are optional in the schema (so `drost.config.ts` may leave them out, as the
 * generated ConfigInput type says); the loader fills them in, hence the `Filled` types the runtime uses.
 */
import { type Static, Type } from "./schema.ts"
import type { Issue } from "./schema.ts"

const closed = { additionalProperties: false } as const

/** The Bot API serves files up to 20 MB through getFile. */
export const DEFAULT_MAX_AUDIO_BYTES = 20 * 1024 * 1024

const profile = Type.String({
  minLength: 1,
  description: 'A provider profile id of kind "openai" or "openai-compatible"',
})

export const VoiceTranscribe = Type.Object(
  {
    profile,
    model: Type.String({ minLength: 1, description: "Transcription model, e.g. gpt-transcribe or whisper-1" }),
    language: Type.Optional(
      Type.String({ pattern: "^[a-z]{2,3}$", description: "ISO-639-1 code of the spoken language, when known" }),
    ),
    prompt: Type.Optional(Type.String({ description: "Hint text: names and words the audio is likely to contain" })),
    maxDurationSec: Type.Optional(
      Type.Integer({
        minimum: 1,
        default: 600,
        description: "Longer voice messages are refused before anything is downloaded",
      }),
    ),
    maxBytes: Type.Optional(
      Type.Integer({
        minimum: 1,
        default: DEFAULT_MAX_AUDIO_BYTES,
        description: "Larger audio files are refused before anything is downloaded",
      }),
    ),
    timeoutMs: Type.Optional(
      Type.Integer({ minimum: 1, default: 120_000, description: "One transcription request, at most" }),
    ),
  },
  closed,
)

/** A schema's static type with the keys that have defaults present (after the loader filled them in). */
type Filled<T, K extends keyof T> = T & { [P in K]-?: NonNullable<T[P]> }

export type VoiceTranscribe = Filled<Static<typeof VoiceTranscribe>, "maxDurationSec" | "maxBytes" | "timeoutMs">

export const SpeakWhen = Type.Optional(
  Type.Union([Type.Literal("voice"), Type.Literal("always"), Type.Literal("never")], {
    default: "voice",
    description: "voice: a spoken reply to a voice message; always: to every message; never: text only",
  }),
)

export const VoiceSpeak = Type.Object(
  {
    profile,
    model: Type.String({ minLength: 1, description: "Text-to-speech model, e.g. gpt-4o-mini-tts" }),
    voice: Type.String({ minLength: 1, description: "A voice the server offers, e.g. alloy" }),
    when: SpeakWhen,
    format: Type.Optional(
      Type.Union([Type.Literal("opus"), Type.Literal("mp3")], {
        default: "opus",
        description: "Audio format asked for (Telegram plays OGG/Opus and MP3 as voice messages)",
      }),
    ),
    instructions: Type.Optional(Type.String({ description: "How to speak (tone, pace), for models that take it" })),
    maxChars: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100_000,
        default: 4096,
        description: "Longer answers stay text only (OpenAI's limit is 4,096 characters)",
      }),
    ),
    timeoutMs: Type.Optional(
      Type.Integer({ minimum: 1, default: 120_000, description: "One speech request, at most" }),
    ),
  },
  closed,
)
export type VoiceSpeak = Filled<Static<typeof VoiceSpeak>, "when" | "format" | "maxChars" | "timeoutMs">

export const Voice = Type.Object(
  {
    transcribe: Type.Optional(VoiceTranscribe),
    speak: Type.Optional(VoiceSpeak),
  },
  closed,
)
/** The section as the runtime sees it: defaults filled in. */
export interface VoiceConfig {
  transcribe?: VoiceTranscribe
  speak?: VoiceSpeak
}

/** Kinds whose servers speak the OpenAI audio endpoints. */
export const AUDIO_KINDS = ["openai", "openai-compatible"] as const

/** Cross-references the schema cannot check: each named profile exists and has an audio-capable kind. */
export function voiceIssues(
  voice: Static<typeof Voice> | undefined,
  profiles: { id: string; kind: string }[],
): Issue[] {
  const out: Issue[] = []
  for (const key of ["transcribe", "speak"] as const) {
    const entry = voice?.[key]
    if (!entry) continue
    const found = profiles.find((candidate) => candidate.id === entry.profile)
    if (!found)
      out.push({
        path: `voice.${key}.profile`,
        message: `expected one of the profile ids (${profiles.map((candidate) => candidate.id).join(", ") || "none"}), got "${entry.profile}"`,
      })
    else if (!(AUDIO_KINDS as readonly string[]).includes(found.kind))
      out.push({
        path: `voice.${key}.profile`,
        message: `profile "${found.id}" is of kind "${found.kind}", which has no audio endpoints; use a profile of kind "openai" or "openai-compatible"`,
      })
  }
  return out
}
