/**
 * What the real APIs check about a request, as far as a history goes: tool names match
 * `^[a-zA-Z0-9_-]{1,64}$`, every tool call is answered by exactly one result in the right place, and
 * (Anthropic) roles alternate starting with the user. The fakes answer a violation with the API's 400;
 * tests can also call these directly on recorded bodies. Each returns null when valid.
 */

const NAME = /^[a-zA-Z0-9_-]{1,64}$/

type Json = Record<string, unknown>
const list = (value: unknown): Json[] => (Array.isArray(value) ? (value as Json[]) : [])

export function checkChat(body: Json): string | null {
  for (const [i, tool] of list(body.tools).entries()) {
    const name = (tool.function as Json | undefined)?.name
    if (typeof name !== "string" || !NAME.test(name))
      return `Invalid 'tools[${i}].function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{1,64}$'.`
  }
  const messages = list(body.messages)
  if (messages.length === 0) return "Invalid 'messages': empty array. Expected an array with minimum length 1."
  let open: string[] = []
  for (const [i, message] of messages.entries()) {
    const role = message.role
    if (role === "tool") {
      const id = message.tool_call_id
      if (!open.includes(id as string))
        return `Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'. (messages[${i}], tool_call_id ${String(id)})`
      open = open.filter((other) => other !== id)
      continue
    }
    if (open.length)
      return `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${open.join(", ")}`
    if (!["system", "user", "assistant", "developer"].includes(role as string))
      return `Invalid value: '${String(role)}'. Supported values are: 'system', 'assistant', 'user', 'tool', and 'developer'. (messages[${i}].role)`
    if (role === "assistant") {
      const calls = list(message.tool_calls)
      for (const call of calls) {
        const name = (call.function as Json | undefined)?.name
        if (typeof name !== "string" || !NAME.test(name))
          return `Invalid 'messages[${i}].tool_calls.function.name': string does not match pattern '^[a-zA-Z0-9_-]{1,64}$'.`
      }
      if (calls.length === 0 && (message.content === null || message.content === undefined || message.content === ""))
        return `Invalid 'messages[${i}]': an assistant message needs content or tool_calls.`
      open = calls.map((call) => call.id as string)
    } else if (
      message.content === undefined ||
      message.content === null ||
      (Array.isArray(message.content) && message.content.length === 0)
    )
      return `Invalid 'messages[${i}].content': expected a string or a non-empty array.`
  }
  if (open.length)
    return `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${open.join(", ")}`
  return null
}

export function checkResponses(body: Json): string | null {
  for (const [i, tool] of list(body.tools).entries())
    if (typeof tool.name !== "string" || !NAME.test(tool.name))
      return `Invalid 'tools[${i}].name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{1,64}$'.`
  const input = typeof body.input === "string" ? [] : list(body.input)
  const calls = new Set<string>()
  const answered = new Set<string>()
  for (const [i, item] of input.entries()) {
    if (item.type === "function_call") {
      if (typeof item.name !== "string" || !NAME.test(item.name))
        return `Invalid 'input[${i}].name': string does not match pattern '^[a-zA-Z0-9_-]{1,64}$'.`
      if (typeof item.arguments !== "string") return `Invalid 'input[${i}].arguments': expected a string.`
      calls.add(item.call_id as string)
    } else if (item.type === "function_call_output") {
      if (!calls.has(item.call_id as string))
        return `No tool call found for function call output with call_id ${String(item.call_id)}.`
      answered.add(item.call_id as string)
    } else if (!["user", "assistant", "system", "developer"].includes(item.role as string))
      return `Invalid 'input[${i}]': unknown item.`
  }
  for (const id of calls) if (!answered.has(id)) return `No tool output found for function call ${id}.`
  return null
}

export function checkAnthropic(body: Json): string | null {
  if (typeof body.max_tokens !== "number") return "max_tokens: Field required"
  for (const [i, tool] of list(body.tools).entries())
    if (typeof tool.name !== "string" || !NAME.test(tool.name))
      return `tools.${i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'`
  const messages = list(body.messages)
  if (messages.length === 0) return "messages: at least one message is required"
  if (messages[0]!.role !== "user") return 'messages: first message must use the "user" role'
  let expected: string[] = []
  for (const [i, message] of messages.entries()) {
    if (i > 0 && messages[i - 1]!.role === message.role)
      return `messages: roles must alternate between "user" and "assistant", but found multiple "${String(message.role)}" roles in a row`
    const blocks =
      typeof message.content === "string" ? [{ type: "text", text: message.content }] : list(message.content)
    if (blocks.length === 0)
      return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`
    if (message.role === "user") {
      const results = blocks.filter((block) => block.type === "tool_result").map((block) => block.tool_use_id as string)
      for (const id of results)
        if (!expected.includes(id))
          return `messages.${i}.content: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`
      const missing = expected.filter((id) => !results.includes(id))
      if (missing.length)
        return `messages.${i}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(", ")}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`
      const firstOther = blocks.findIndex((block) => block.type !== "tool_result")
      if (firstOther >= 0 && blocks.slice(firstOther).some((block) => block.type === "tool_result"))
        return `messages.${i}: tool_result blocks must come first in the message`
      expected = []
    } else {
      if (expected.length)
        return `messages.${i}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after`
      expected = []
      for (const [j, block] of blocks.entries()) {
        if (block.type === "text" && !String(block.text ?? "").trim())
          return `messages.${i}.content.${j}.text: text content blocks must contain non-whitespace text`
        if (block.type === "tool_use") {
          if (typeof block.name !== "string" || !NAME.test(block.name))
            return `messages.${i}.content.${j}.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'`
          if (!block.input || typeof block.input !== "object" || Array.isArray(block.input))
            return `messages.${i}.content.${j}.input: Input should be a valid dictionary`
          if (!/^[a-zA-Z0-9_-]+$/.test(String(block.id)))
            return `messages.${i}.content.${j}.id: String should match pattern '^[a-zA-Z0-9_-]+$'`
          expected.push(block.id as string)
        }
      }
    }
  }
  if (expected.length)
    return `messages: the final assistant message has tool_use blocks without results: ${expected.join(", ")}`
  return null
}
