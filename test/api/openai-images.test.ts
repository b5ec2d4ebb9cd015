/**
 * Issue 16 item 3: `image_url` content parts on /v1 reach the model. A data URL goes as it is; an
 * http(s) URL is fetched by the gateway through web.fetch's SSRF guard (a loopback server only when
 * tools.web.allowHosts admits its host and port), with a type and size limit, and the model gets the
 * bytes. Driven by the official `openai` client and the AI SDK against a live gateway whose provider is
 * a fake OpenAI server. On 0641e9e the parts were dropped: the model saw only the text.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test"
import { createOpenAICompatible } from "@ai-sdk/openai-compatible"
import { HumanMessage } from "@langchain/core/messages"
import { ChatOpenAI } from "@langchain/openai"
import { generateText } from "ai"
import OpenAI from "openai"
import { type FakeOpenAI, fakeOpenAI, reply } from "../fake/openai.ts"
import { type InProcess, inProcess } from "./inprocess.ts"

// A 1×1 PNG.
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
)
const PNG_URL = `data:image/png;base64,${PNG.toString("base64")}`

let llm: FakeOpenAI
let gw: InProcess
let client: OpenAI
let allowed: ReturnType<typeof Bun.serve>
let other: ReturnType<typeof Bun.serve>

function images(port: number) {
  return Bun.serve({
    hostname: "127.0.0.1",
    port,
    fetch(request) {
      const path = new URL(request.url).pathname
      if (path === "/cat.png") return new Response(PNG, { headers: { "content-type": "image/png" } })
      if (path === "/page.html")
        return new Response("<p>not an image</p>", { headers: { "content-type": "text/html" } })
      if (path === "/huge.png")
        return new Response(new Uint8Array(11 * 1024 * 1024), { headers: { "content-type": "image/png" } })
      return new Response("missing", { status: 404 })
    },
  })
}

beforeAll(async () => {
  allowed = images(0)
  other = images(0)
  llm = await fakeOpenAI({ key: null })
  gw = await inProcess({
    providers: { profiles: [{ id: "gpt", kind: "openai-compatible", baseUrl: llm.baseUrl, model: "gpt-test" }] },
    controlApi: { port: 0, openaiCompatible: true },
    tools: { web: { allowHosts: [`127.0.0.1:${allowed.port}`] } },
  })
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: gw.token, maxRetries: 0 })
})
afterAll(async () => {
  await gw?.[Symbol.asyncDispose]()
  await llm?.close()
  allowed?.stop(true)
  other?.stop(true)
})
beforeEach(() => {
  llm.hits.length = 0
})

type Part = { type: string; text?: string; image_url?: { url: string } }
/** The image URLs of the last user message of the n-th model call. */
function sentImages(n = 0): string[] {
  const messages = llm.requests("chat")[n]!.body.messages as { role: string; content: string | Part[] }[]
  const user = messages.findLast((message) => message.role === "user")!
  return Array.isArray(user.content) ? user.content.flatMap((part) => (part.image_url ? [part.image_url.url] : [])) : []
}

const withImage = (url: string) =>
  client.chat.completions.create({
    model: "drost",
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: "what is in this picture?" },
          { type: "image_url", image_url: { url } },
        ],
      },
    ],
  })

describe("image_url parts reach the model", () => {
  test("a data URL", async () => {
    llm.queue(reply().text("A single pixel."))
    const answer = await withImage(PNG_URL)
    expect(answer.choices[0]!.message.content).toBe("A single pixel.")
    expect(sentImages()).toEqual([PNG_URL])
  })

  test("an http URL the gateway fetches, where allowHosts admits it", async () => {
    llm.queue(reply().text("A cat, tiny."))
    await withImage(`http://127.0.0.1:${allowed.port}/cat.png`)
    expect(sentImages()).toEqual([PNG_URL])
  })

  test("the AI SDK's image parts", async () => {
    llm.queue(reply().text("Seen."))
    const drost = createOpenAICompatible({ name: "drost", baseURL: `${gw.url}/v1`, apiKey: gw.token })
    const result = await generateText({
      model: drost.chatModel("drost"),
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "describe" },
            { type: "image", image: new Uint8Array(PNG), mediaType: "image/png" },
          ],
        },
      ],
    })
    expect(result.text).toBe("Seen.")
    expect(sentImages()).toEqual([PNG_URL])
  })

  test("LangChain's image parts, and the older string form of image_url", async () => {
    llm.queue(reply().text("Tiny."), reply().text("Still tiny."))
    const model = new ChatOpenAI({
      model: "drost",
      apiKey: gw.token,
      configuration: { baseURL: `${gw.url}/v1` },
      maxRetries: 0,
    })
    const answer = await model.invoke([
      new HumanMessage({
        content: [
          { type: "text", text: "describe" },
          { type: "image_url", image_url: { url: PNG_URL } },
        ],
      }),
    ])
    expect(answer.content).toBe("Tiny.")
    expect(sentImages(0)).toEqual([PNG_URL])
    const raw = await gw.fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "drost",
        messages: [{ role: "user", content: [{ type: "image_url", image_url: PNG_URL }] }],
      }),
    })
    expect(raw.status).toBe(200)
    expect(sentImages(1)).toEqual([PNG_URL])
  })

  test("responses.create with input_image", async () => {
    llm.queue(reply().text("Pixel."))
    const answer = await client.responses.create({
      model: "drost",
      input: [
        {
          role: "user",
          content: [
            { type: "input_text", text: "what is it?" },
            { type: "input_image", image_url: PNG_URL, detail: "auto" },
          ],
        },
      ],
    })
    expect(answer.output_text).toBe("Pixel.")
    expect(sentImages()).toEqual([PNG_URL])
  })
})

describe("image URLs the gateway refuses", () => {
  const refused = async (url: string) => {
    const error = await withImage(url).catch((caught) => caught)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect(error.code).toBe("invalid_image_url")
    expect(error.param).toBe("messages.0.content")
    return error.message as string
  }

  test("a loopback server allowHosts does not admit (SSRF guard)", async () => {
    const message = await refused(`http://127.0.0.1:${other.port}/cat.png`)
    expect(message).toContain("loopback address")
    expect(message).toContain(`"127.0.0.1:${other.port}" to tools.web.allowHosts`)
  })

  test("not an image, too large, not found, not a URL", async () => {
    expect(await refused(`http://127.0.0.1:${allowed.port}/page.html`)).toContain("text/html")
    expect(await refused(`http://127.0.0.1:${allowed.port}/huge.png`)).toContain("bytes")
    expect(await refused(`http://127.0.0.1:${allowed.port}/gone.png`)).toContain("404")
    expect(await refused("file:///etc/passwd")).toContain("data: URL or an http(s) URL")
    expect(await refused("data:text/plain;base64,aGk=")).toContain("text/plain")
    expect(llm.hits).toHaveLength(0)
  })
})
