/**
 * Offered tools are encoded once per schema object, wire format and wire name (encode.ts): what is kept
 * must never be sent for a tool it was not made for.
 */
import { expect, test } from "bun:test"
import type { ToolSpec } from "../../src/core/provider.ts"
import { encodeAnthropicTools } from "../../src/providers/anthropic-wire.ts"
import { encodeChatTools } from "../../src/providers/chat-wire.ts"
import { encodeResponsesTools } from "../../src/providers/responses-wire.ts"
import { WireNames } from "../../src/providers/wire-names.ts"

const shared = { type: "object", properties: { path: { type: "string" } } }

const chat = (tools: ToolSpec[]) =>
  JSON.parse(encodeChatTools(tools, new WireNames(tools.map((tool) => tool.name)))!) as {
    function: { name: string; description: string; parameters: unknown }
  }[]

test("two tools sharing one schema object each keep their own name and description", () => {
  const tools = [
    { name: "file.read", description: "Read a file", parameters: shared },
    { name: "file.stat", description: "Stat a file", parameters: shared },
  ]
  for (let round = 0; round < 3; round++) {
    const items = chat(tools)
    expect(items.map((item) => [item.function.name, item.function.description])).toEqual([
      ["file_read", "Read a file"],
      ["file_stat", "Stat a file"],
    ])
    expect(items[1]!.function.parameters).toEqual(shared)
  }
})

test("a changed description is sent, not the kept one; each wire format has its own item", () => {
  const tool = { name: "web.fetch", description: "Fetch a page", parameters: shared }
  expect(chat([tool])[0]!.function.description).toBe("Fetch a page")
  expect(chat([{ ...tool, description: "Fetch a page (new)" }])[0]!.function.description).toBe("Fetch a page (new)")
  const names = () => new WireNames([tool.name])
  expect(JSON.parse(encodeResponsesTools([tool], names())!)[0]).toEqual({
    type: "function",
    name: "web_fetch",
    description: "Fetch a page",
    parameters: shared,
    strict: false,
  })
  expect(JSON.parse(encodeAnthropicTools([tool], names())!)[0]).toEqual({
    name: "web_fetch",
    description: "Fetch a page",
    input_schema: shared,
  })
})

test("a wire name that changes with the request (a collision suffix) is sent as that request names it", () => {
  const tool = { name: "a.b", description: "first", parameters: shared }
  expect(chat([tool])[0]!.function.name).toBe("a_b")
  // Another tool claims a_b first in this request: the same tool is a_b_2 here.
  const other = { name: "a_b", description: "second", parameters: { type: "object" } }
  const names = new WireNames([other.name, tool.name])
  const items = JSON.parse(encodeChatTools([other, tool], names)!) as { function: { name: string } }[]
  expect(items.map((item) => item.function.name)).toEqual(["a_b", "a_b_2"])
})
