/**
 * A fake OpenAI-compatible audio server on 127.0.0.1, as strict as the real endpoints:
 * - `POST /v1/audio/transcriptions`: multipart/form-data with a `file` part (a named file whose
 *   extension is a format the server takes: flac, mp3, mp4, mpeg, mpga, m4a, ogg, opus, wav, webm; no
 *   `.oga`, which compatible servers such as Groq refuse) and a `model`; optional `language`,
 *   `prompt`, `response_format` (json | text | verbose_json). Answers `{ text }` (json).
 * - `POST /v1/audio/speech`: JSON `{ model, input (1..4096 chars), voice, response_format?, ... }`;
 *   answers the audio bytes with the format's content type (opus → audio/ogg, mp3 → audio/mpeg).
 * A wrong or missing key is a 401 and every other mistake a 400, in OpenAI's error shape.
 *
 *   await using audio = await fakeAudio()           // key "audio-key"; { key: null } accepts any
 *   audio.transcript = "hello there"; audio.speech = new Uint8Array([…])
 *   audio.fail("transcriptions", 500, "boom")       // the next call of that endpoint fails
 *   audio.transcriptions[0].file.bytes, audio.speeches[0].body.input
 */

export interface TranscriptionCall {
  headers: Record<string, string>
  model: string
  fields: Record<string, string>
  file: { name: string; type: string; bytes: Uint8Array }
}

export interface SpeechCall {
  headers: Record<string, string>
  body: Record<string, unknown>
}

export interface FakeAudio extends AsyncDisposable {
  url: string
  /** What to put in a profile's `baseUrl` (…/v1). */
  baseUrl: string
  /** What the next transcriptions answer with. */
  transcript: string
  /** The audio the speech endpoint answers with. */
  speech: Uint8Array
  readonly transcriptions: TranscriptionCall[]
  readonly speeches: SpeechCall[]
  /** Every request, valid or not: method, path and the status answered. */
  readonly requests: { method: string; path: string; status: number }[]
  fail(endpoint: "transcriptions" | "speech", status: number, message: string, count?: number): void
  close(): Promise<void>
}

const FORMATS = new Set(["flac", "mp3", "mp4", "mpeg", "mpga", "m4a", "ogg", "opus", "wav", "webm"])
const SPEECH_TYPES: Record<string, string> = {
  mp3: "audio/mpeg",
  opus: "audio/ogg",
  aac: "audio/aac",
  flac: "audio/flac",
  wav: "audio/wav",
  pcm: "audio/pcm",
}

function error(status: number, message: string, param: string | null = null): Response {
  const type = status === 401 ? "invalid_request_error" : status >= 500 ? "server_error" : "invalid_request_error"
  const code = status === 401 ? "invalid_api_key" : null
  return Response.json({ error: { message, type, param, code } }, { status })
}

export async function fakeAudio(options: { key?: string | null } = {}): Promise<FakeAudio> {
  const key = options.key === undefined ? "audio-key" : options.key
  const failures: { endpoint: string; status: number; message: string; count: number }[] = []
  const transcriptions: TranscriptionCall[] = []
  const speeches: SpeechCall[] = []
  const requests: FakeAudio["requests"] = []

  const failure = (endpoint: string) => {
    const entry = failures.find((candidate) => candidate.endpoint === endpoint && candidate.count > 0)
    if (!entry) return null
    entry.count--
    return error(entry.status, entry.message)
  }

  const transcribe = async (request: Request, headers: Record<string, string>): Promise<Response> => {
    if (!(headers["content-type"] ?? "").startsWith("multipart/form-data"))
      return error(400, "Invalid Content-Type header: expected multipart/form-data")
    let form: Awaited<ReturnType<Request["formData"]>>
    try {
      form = await request.formData()
    } catch {
      return error(400, "Could not parse multipart form")
    }
    const file = form.get("file")
    if (file === null) return error(400, "you must provide a file", "file")
    if (typeof file === "string") return error(400, "file must be a file upload, not a string", "file")
    const model = form.get("model")
    if (typeof model !== "string" || !model) return error(400, "you must provide a model parameter", "model")
    const ext = file.name.match(/\.([A-Za-z0-9]+)$/)?.[1]?.toLowerCase() ?? ""
    if (!FORMATS.has(ext))
      return error(400, `file must be one of the following types: [${[...FORMATS].join(" ")}]`, "file")
    const fields: Record<string, string> = {}
    for (const [name, value] of form.entries()) if (typeof value === "string") fields[name] = value
    const format = fields.response_format ?? "json"
    if (!["json", "text", "verbose_json"].includes(format))
      return error(400, `response_format ${format} is not supported`, "response_format")
    const bytes = new Uint8Array(await file.arrayBuffer())
    if (bytes.length === 0) return error(400, "The audio file could not be decoded or its format is not supported.")
    transcriptions.push({ headers, model, fields, file: { name: file.name, type: file.type, bytes } })
    const failed = failure("transcriptions")
    if (failed) return failed
    if (format === "text") return new Response(fake.transcript, { headers: { "content-type": "text/plain" } })
    return Response.json(
      format === "verbose_json"
        ? { task: "transcribe", language: "english", duration: 1, text: fake.transcript, segments: [] }
        : { text: fake.transcript, usage: { type: "duration", seconds: 1 } },
    )
  }

  const speak = async (request: Request, headers: Record<string, string>): Promise<Response> => {
    if (!(headers["content-type"] ?? "").includes("application/json"))
      return error(400, "Invalid Content-Type header: expected application/json")
    let body: Record<string, unknown>
    try {
      body = (await request.json()) as Record<string, unknown>
    } catch {
      return error(400, "We could not parse the JSON body of your request.")
    }
    for (const name of ["model", "input", "voice"])
      if (body[name] === undefined) return error(400, `Missing required parameter: '${name}'.`, name)
    if (typeof body.model !== "string" || typeof body.voice !== "string" || typeof body.input !== "string")
      return error(400, "model, input and voice must be strings")
    if (body.input.length === 0 || body.input.length > 4096)
      return error(400, "input must be between 1 and 4096 characters", "input")
    const format = (body.response_format as string | undefined) ?? "mp3"
    if (!SPEECH_TYPES[format]) return error(400, `Invalid value: '${format}'.`, "response_format")
    for (const name of Object.keys(body))
      if (!["model", "input", "voice", "response_format", "instructions", "speed", "stream_format"].includes(name))
        return error(400, `Unrecognized request argument supplied: ${name}`)
    speeches.push({ headers, body })
    const failed = failure("speech")
    if (failed) return failed
    return new Response(fake.speech, { headers: { "content-type": SPEECH_TYPES[format]! } })
  }

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    development: false,
    async fetch(request) {
      const path = new URL(request.url).pathname
      const headers = Object.fromEntries(request.headers)
      const answer = await (async () => {
        if (key !== null && headers.authorization !== `Bearer ${key}`) return error(401, "Incorrect API key provided.")
        if (request.method === "POST" && path === "/v1/audio/transcriptions") return await transcribe(request, headers)
        if (request.method === "POST" && path === "/v1/audio/speech") return await speak(request, headers)
        return error(404, `Invalid URL (${request.method} ${path})`)
      })()
      requests.push({ method: request.method, path, status: answer.status })
      return answer
    },
  })
  const url = `http://127.0.0.1:${server.port}`
  const close = async () => {
    await server.stop(true)
  }
  const fake: FakeAudio = {
    url,
    baseUrl: `${url}/v1`,
    transcript: "",
    speech: new Uint8Array([0x4f, 0x67, 0x67, 0x53, 1, 2, 3, 4]),
    transcriptions,
    speeches,
    requests,
    fail(endpoint, status, message, count = 1) {
      failures.push({ endpoint, status, message, count })
    },
    close,
    [Symbol.asyncDispose]: close,
  }
  return fake
}
