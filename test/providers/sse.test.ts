import { describe, expect, test } from "bun:test"
import { classify } from "../../src/providers/failure.ts"
import { StreamPayloadError, sseJson } from "../../src/providers/sse.ts"

/** A response whose body arrives in exactly these pieces, as a socket may cut it. */
function response(...pieces: string[]): Response {
  const encoder = new TextEncoder()
  return new Response(
    new ReadableStream({
      start(controller) {
        for (const piece of pieces) controller.enqueue(encoder.encode(piece))
        controller.close()
      },
    }),
  )
}

async function all(res: Response): Promise<unknown[]> {
  const out: unknown[] = []
  for await (const item of sseJson(res)) out.push(item)
  return out
}

describe("model stream framing", () => {
  test("payloads in order, wherever the chunks are cut; [DONE] ends the stream", async () => {
    const wire =
      'data: {"a":1}\n\ndata: {"b":"x\\ny"}\n\n: keepalive\n\nid: 7\nevent: delta\ndata: {"c":[1,2]}\n\ndata: [DONE]\n\ndata: {"after":true}\n\n'
    const whole = await all(response(wire))
    expect(whole).toEqual([{ a: 1 }, { b: "x\ny" }, { c: [1, 2] }])
    // Every possible cut point, including inside "\n\n" and inside a multi-byte character.
    const text = 'data: {"emoji":"😀"}\n\ndata: {"n":2}\n\n'
    const bytes = new TextEncoder().encode(text)
    for (let cut = 1; cut < bytes.length; cut++) {
      const body = new ReadableStream({
        start(controller) {
          controller.enqueue(bytes.slice(0, cut))
          controller.enqueue(bytes.slice(cut))
          controller.close()
        },
      })
      expect(await all(new Response(body))).toEqual([{ emoji: "😀" }, { n: 2 }])
    }
  })

  test("CRLF framing, a CR and its LF in different chunks, data split over lines, a last event without its blank line", async () => {
    expect(await all(response('data: {"a":1}\r', '\n\r\ndata: {"b":2}\r\n\r\n'))).toEqual([{ a: 1 }, { b: 2 }])
    expect(await all(response('data: {"x":\ndata: 1}\n\n'))).toEqual([{ x: 1 }])
    expect(await all(response('data: {"tail":true}'))).toEqual([{ tail: true }])
  })

  test("an error event or an error payload is the provider's failure; unparsable data breaks the stream", async () => {
    const reported = await all(
      response('data: {"a":1}\n\ndata: {"error":{"message":"The server is overloaded"}}\n\n'),
    ).catch((error) => error)
    expect(reported).toBeInstanceOf(StreamPayloadError)
    expect((reported as Error).message).toBe("The server is overloaded")
    const signal = new AbortController().signal
    expect(classify(reported, signal, true)).toMatchObject({
      kind: "server",
      message: "stream error: The server is overloaded",
    })
    const named = await all(response('event: error\ndata: {"message":"rate limit reached"}\n\n')).catch(
      (error) => error,
    )
    expect(classify(named, signal, true)).toMatchObject({ kind: "rate_limit" })
    const broken = await all(response('data: {"a":\n\n')).catch((error) => error)
    expect(broken).toBeInstanceOf(SyntaxError)
    expect(classify(broken, signal, true)).toMatchObject({ kind: "stream" })
  })
})
