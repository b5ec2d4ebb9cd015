/**
 * Voice notes through the real gateway: a Telegram voice message is fetched with getFile and the Bot
 * API's file route (from the channel's apiRoot), transcribed by the fake OpenAI-compatible
 * /audio/transcriptions, shown back in the chat, stored as the user's text and answered by the model;
 * with voice.speak the answer also arrives as a voice message (sendVoice, the fake /audio/speech
 * bytes). Refusals (no provider, over a limit) and failures are a sentence in the chat, never silence.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { resolveConfig } from "../../src/gateway/load.ts"
import { type FakeAudio, fakeAudio } from "../fake/audio.ts"
import { type FakeOpenAI, fakeOpenAI, reply } from "../fake/openai.ts"
import { FakeTelegram } from "../fake/telegram.ts"
import { type RunningGateway, spawnGateway } from "../lib/gateway.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"
import { OWNER, waitEvent } from "./helpers.ts"

/** Stand-in OGG/Opus bytes: Telegram stores voice notes as .oga files starting with "OggS". */
const VOICE = new Uint8Array([0x4f, 0x67, 0x67, 0x53, 0, 2, 0, 0, 9, 8, 7, 6, 5, 4, 3, 2, 1])
/** What the fake /audio/speech answers: also OGG, so the strict fake Bot API takes it as a voice. */
const SPOKEN = new Uint8Array([0x4f, 0x67, 0x67, 0x53, 0, 2, 42, 42, 42, 42])
const ENV = { DROST_TEST_LLM_KEY: "test-key", DROST_TEST_AUDIO_KEY: "audio-key" }

function config(fake: FakeTelegram, llm: FakeOpenAI, audio: FakeAudio | null, voice?: Record<string, unknown>) {
  return {
    providers: {
      profiles: [
        {
          id: "llm",
          kind: "openai-compatible",
          baseUrl: llm.baseUrl,
          model: "gpt-test",
          apiKeyEnv: "DROST_TEST_LLM_KEY",
        },
        ...(audio
          ? [{ id: "audio", kind: "openai-compatible", baseUrl: audio.baseUrl, apiKeyEnv: "DROST_TEST_AUDIO_KEY" }]
          : []),
      ],
    },
    controlApi: { port: 0 },
    channels: [
      { kind: "telegram", token: fake.token, apiRoot: fake.apiRoot, allowedUsers: [OWNER], pollTimeoutSec: 2 },
    ],
    ...(voice ? { voice } : {}),
  }
}

const userTexts = (llm: FakeOpenAI) =>
  llm
    .requests("chat")
    .map((hit) => (hit.body.messages as { role: string; content: unknown }[]).filter((m) => m.role === "user").at(-1))
    .map((message) => (typeof message?.content === "string" ? message.content : JSON.stringify(message?.content)))

describe("voice notes with transcription and spoken replies", () => {
  let fake: FakeTelegram
  let llm: FakeOpenAI
  let audio: FakeAudio
  let ws: Workspace
  let gw: RunningGateway

  beforeAll(async () => {
    fake = await FakeTelegram.start()
    llm = await fakeOpenAI()
    audio = await fakeAudio()
    audio.speech = SPOKEN
    ws = await workspace({
      config: config(fake, llm, audio, {
        transcribe: { profile: "audio", model: "whisper-test", language: "en", maxDurationSec: 60, maxBytes: 1000 },
        speak: { profile: "audio", model: "tts-test", voice: "alloy" },
      }),
    })
    gw = await spawnGateway(ws.path, { env: ENV })
    await fake.waitFor(() => fake.callsOf("getUpdates").length > 0, 10_000, "polling")
  })

  test("a compatible profile without a chat model that only serves voice does not degrade the gateway", async () => {
    const health = await gw.api("/healthz")
    expect(await health.json()).toMatchObject({ state: "running" })
    expect(health.status).toBe(200)
  })
  afterAll(async () => {
    await gw?.[Symbol.asyncDispose]()
    await ws?.[Symbol.asyncDispose]()
    await audio?.close()
    await llm?.close()
    fake?.stop()
  })

  test("a voice message is transcribed, shown in the chat, stored as the user's text, answered, and spoken", async () => {
    audio.transcript = "What's on my calendar tomorrow?"
    llm.queue(reply().text("**Nothing** is planned for tomorrow."))
    const { fileId } = fake.voice(OWNER, VOICE, { duration: 4 })

    // The transcript comes back to the chat first, then the model's answer.
    const shown = await fake.waitFor(
      () => fake.chat(OWNER).find((message) => message.text.startsWith("🎤")),
      15_000,
      "transcript in the chat",
    )
    expect(shown.text).toBe("🎤 What's on my calendar tomorrow?")
    await fake.waitFor(
      () => fake.chat(OWNER).find((message) => message.text.includes("Nothing is planned for tomorrow.")),
      15_000,
      "the answer",
    )
    // Fetched through getFile and the file route of the fake's api root.
    expect(fake.callsOf("getFile").map((call) => call.params.file_id)).toEqual([fileId])
    expect(fake.downloads).toEqual(["voice/file_1.oga"])
    // The transcription request: multipart, the exact bytes, a name compatible servers take, the model.
    expect(audio.transcriptions.length).toBe(1)
    const sent = audio.transcriptions[0]!
    expect(sent.headers.authorization).toBe("Bearer audio-key")
    expect(sent.model).toBe("whisper-test")
    expect(sent.fields.language).toBe("en")
    expect(sent.file.name).toBe("voice.ogg")
    expect([...sent.file.bytes]).toEqual([...VOICE])
    // The model got the transcript as the user's text.
    expect(userTexts(llm)).toEqual(["What's on my calendar tomorrow?"])

    // Spoken: /audio/speech got the displayed text (no Markdown), and sendVoice the bytes it returned.
    const voice = await fake.waitFor(() => fake.voices[0], 15_000, "sendVoice")
    expect(voice.chatId).toBe(OWNER)
    expect([...voice.bytes]).toEqual([...SPOKEN])
    expect(voice.fileName).toBe("reply.ogg")
    expect(audio.speeches.map((call) => call.body)).toEqual([
      { model: "tts-test", input: "Nothing is planned for tomorrow.", voice: "alloy", response_format: "opus" },
    ])
    // The text answer came before the voice.
    const answer = fake.calls.findLastIndex(
      (call) => call.method === "sendMessage" && String(call.params.text).includes("Nothing"),
    )
    expect(fake.calls.findIndex((call) => call.method === "sendVoice")).toBeGreaterThan(answer)
    await waitEvent(ws, "telegram.voice.sent")

    // Stored with the message: the session's user message is the transcript.
    const list = ((await (await gw.api("/sessions?channel=telegram")).json()) as { sessions: { id: string }[] })
      .sessions
    const body = (await (await gw.api(`/sessions/${list[0]!.id}?limit=50`)).json()) as {
      messages: { role: string; parts: { type: string; text?: string }[] }[]
    }
    const users = body.messages.filter((message) => message.role === "user")
    expect(users.map((message) => message.parts)).toEqual([[{ type: "text", text: "What's on my calendar tomorrow?" }]])
    // The event log has the size of the transcript, never its words.
    const event = await waitEvent(ws, "telegram.voice.transcribed")
    expect(event.data).toMatchObject({ chatId: OWNER, profile: "audio", durationSec: 4, bytes: VOICE.length })
    expect(JSON.stringify(event.data)).not.toContain("calendar")
  }, 40_000)

  test('with when: "voice", a typed message gets a text answer only', async () => {
    const voicesBefore = fake.voices.length
    llm.queue(reply().text("Typed answer."), reply().text("Second typed answer."))
    fake.text(OWNER, "just text")
    // The chat's next message is handled only after the first answer (and any voice of it) was sent.
    fake.text(OWNER, "more text")
    await fake.waitFor(
      () => fake.chat(OWNER).find((message) => message.text.includes("Second typed answer.")),
      15_000,
      "second typed answer",
    )
    expect(fake.chat(OWNER).some((message) => message.text.includes("Typed answer."))).toBe(true)
    expect(audio.speeches.length).toBe(1)
    expect(fake.voices.length).toBe(voicesBefore)
  }, 30_000)

  test("a voice message over the duration or size limit gets a clear reply and is never downloaded", async () => {
    const calls = { getFile: fake.callsOf("getFile").length, downloads: fake.downloads.length }
    const chatBefore = llm.requests("chat").length
    fake.voice(OWNER, VOICE, { duration: 61 })
    const long = await fake.waitFor(
      () => fake.chat(OWNER).find((message) => message.text.includes("1:01 long")),
      15_000,
      "duration refusal",
    )
    expect(long.text).toContain("I transcribe up to 1:00 (voice.transcribe.maxDurationSec)")
    // Telegram's file_size says too big: refused before getFile.
    fake.voice(OWNER, VOICE, { duration: 5, fileSize: 5000 })
    const big = await fake.waitFor(
      () => fake.chat(OWNER).find((message) => message.text.includes("voice.transcribe.maxBytes")),
      15_000,
      "size refusal",
    )
    expect(big.text).toContain("This audio file is 5 KB; I transcribe files up to 1 KB")
    // No file_size in the update: getFile's answer says it is too big, before the download.
    fake.voice(OWNER, new Uint8Array(4000).fill(0x4f), { duration: 5, fileSize: null })
    await fake.waitFor(
      () => fake.chat(OWNER).filter((message) => message.text.includes("voice.transcribe.maxBytes")).length === 2,
      15_000,
      "size refusal after getFile",
    )
    expect(fake.callsOf("getFile").length).toBe(calls.getFile + 1)
    expect(audio.transcriptions.length).toBe(1)
    expect(llm.requests("chat").length).toBe(chatBefore)
    // getFile's file_size decided the third: none of them was downloaded.
    expect(fake.downloads.length).toBe(calls.downloads)
  }, 30_000)

  test("an audio file is uploaded under a name its format is known by; a failed spoken reply is a short note", async () => {
    audio.transcript = "Remind me to buy milk."
    audio.fail("speech", 400, "voice 'alloy' is not available")
    llm.queue(reply().text("Noted: milk."))
    const voicesBefore = fake.voices.length
    fake.voice(OWNER, new Uint8Array([0, 0, 0, 24, 0x66, 0x74, 0x79, 0x70, 1, 2]), {
      kind: "audio",
      duration: 9,
      fileName: "memo.m4a",
      mimeType: "audio/mp4",
    })
    const note = await fake.waitFor(
      () => fake.chat(OWNER).find((message) => message.text.startsWith("🔇")),
      15_000,
      "spoken-reply failure note",
    )
    expect(note.text).toBe(
      `🔇 No spoken reply: speech failed: provider "audio" answered 400: voice 'alloy' is not available`,
    )
    expect(fake.chat(OWNER).some((message) => message.text === "🎤 Remind me to buy milk.")).toBe(true)
    expect(fake.chat(OWNER).some((message) => message.text.includes("Noted: milk."))).toBe(true)
    expect(audio.transcriptions.at(-1)!.file.name).toBe("audio.m4a")
    expect(fake.voices.length).toBe(voicesBefore)
    await waitEvent(ws, "telegram.voice.failed", (data) => data.stage === "speak")
  }, 30_000)

  test("a failing transcription provider is a clear reply and nothing reaches the model", async () => {
    const chatBefore = llm.requests("chat").length
    const before = audio.transcriptions.length
    audio.fail("transcriptions", 503, "the audio model is overloaded", 2)
    fake.voice(OWNER, VOICE, { duration: 2 })
    const failed = await fake.waitFor(
      () => fake.chat(OWNER).find((message) => message.text.includes("could not transcribe")),
      15_000,
      "failure reply",
    )
    expect(failed.text).toContain('provider "audio" answered 503: the audio model is overloaded')
    expect(failed.text).toContain("send it again, or type it")
    // Tried twice (503 is transient), then given up.
    expect(audio.transcriptions.length).toBe(before + 2)
    expect(llm.requests("chat").length).toBe(chatBefore)
    await waitEvent(ws, "telegram.voice.failed", (data) => data.stage === "transcribe")
  }, 30_000)
})

test("without voice.transcribe a voice message gets a reply saying so, and nothing is downloaded", async () => {
  const fake = await FakeTelegram.start()
  await using llm = await fakeOpenAI()
  await using ws = await workspace({ config: config(fake, llm, null) })
  await using gw = await spawnGateway(ws.path, { env: ENV })
  fake.voice(OWNER, VOICE, { kind: "audio", duration: 30, fileName: "memo.mp3" })
  const answer = await fake.waitFor(
    () => fake.chat(OWNER).find((message) => message.text.includes("voice")),
    15_000,
    "no-provider reply",
  )
  expect(answer.text).toContain("no transcription provider is configured (voice.transcribe in drost.config.ts")
  expect(fake.callsOf("getFile").length).toBe(0)
  expect(fake.downloads.length).toBe(0)
  expect(llm.requests("chat").length).toBe(0)
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 30_000)

test('speak with when: "always" and format mp3 speaks a typed message\'s answer too', async () => {
  const fake = await FakeTelegram.start()
  await using llm = await fakeOpenAI()
  await using audio = await fakeAudio()
  audio.speech = new Uint8Array([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0, 0xff, 0xfb])
  await using ws = await workspace({
    config: config(fake, llm, audio, {
      speak: { profile: "audio", model: "tts-test", voice: "nova", when: "always", format: "mp3" },
    }),
  })
  await using gw = await spawnGateway(ws.path, { env: ENV })
  llm.queue(reply().text("Here is `code` and a list:\n\n- one\n- two\n\n```sh\nrm -rf /tmp/x\n```"))
  fake.text(OWNER, "say something")
  const voice = await fake.waitFor(() => fake.voices[0], 15_000, "sendVoice")
  expect(voice.fileName).toBe("reply.mp3")
  expect([...voice.bytes]).toEqual([...audio.speech])
  // What is spoken is the displayed text; the code block is left out.
  expect(audio.speeches[0]!.body).toEqual({
    model: "tts-test",
    input: "Here is code and a list:\n\n• one\n• two",
    voice: "nova",
    response_format: "mp3",
  })
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 30_000)

test("voice config: the profile must exist and speak the OpenAI audio endpoints", () => {
  const profiles = [
    { id: "claude", kind: "anthropic" },
    { id: "local", kind: "openai-compatible", baseUrl: "http://127.0.0.1:1/v1" },
  ]
  const load = (voice: unknown) => () => resolveConfig({ providers: { profiles }, voice }, "/tmp", null)
  expect(load({ transcribe: { profile: "local", model: "whisper-1" } })().voice?.transcribe).toMatchObject({
    profile: "local",
    maxDurationSec: 600,
    maxBytes: 20 * 1024 * 1024,
  })
  expect(load({ transcribe: { profile: "claude", model: "m" } })).toThrow(
    'voice.transcribe.profile: profile "claude" is of kind "anthropic", which has no audio endpoints',
  )
  expect(load({ speak: { profile: "nope", model: "m", voice: "alloy" } })).toThrow(
    'voice.speak.profile: expected one of the profile ids (claude, local), got "nope"',
  )
  expect(load({ speak: { profile: "local", model: "m" } })).toThrow("voice.speak.voice")
  expect(load({ speak: { profile: "local", model: "m", voice: "a", when: "sometimes" } })).toThrow("voice.speak.when")
})
