/** Reads a text/event-stream body into `{ id, event, data }` records (data parsed as JSON when it is). */
export interface SseEvent {
  id?: string
  event: string
  data: unknown
}

export async function* readSse(response: Response): AsyncGenerator<SseEvent> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ""
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffer += value
    let cut = buffer.indexOf("\n\n")
    while (cut >= 0) {
      const block = buffer.slice(0, cut)
      buffer = buffer.slice(cut + 2)
      cut = buffer.indexOf("\n\n")
      const event: SseEvent = { event: "message", data: "" }
      const data: string[] = []
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue
        const [field, ...rest] = line.split(":")
        const text = rest.join(":").replace(/^ /, "")
        if (field === "id") event.id = text
        else if (field === "event") event.event = text
        else if (field === "data") data.push(text)
      }
      if (data.length === 0 && !event.id) continue
      const joined = data.join("\n")
      try {
        event.data = JSON.parse(joined)
      } catch {
        event.data = joined
      }
      yield event
    }
  }
}
