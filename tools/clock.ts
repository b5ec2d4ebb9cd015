// An example workspace tool: web-standard only (Intl), so it runs in the gateway and under Deno alike.
import { defineTool } from "drost"

export default defineTool<{ timeZone?: string }>({
  name: "clock",
  description: "The current date and time, optionally in an IANA time zone (e.g. Europe/Berlin).",
  parameters: {
    type: "object",
    properties: { timeZone: { type: "string", description: "IANA time zone (default: the gateway's)" } },
    additionalProperties: false,
  },
  execute({ timeZone }) {
    try {
      return new Intl.DateTimeFormat("en-GB", { dateStyle: "full", timeStyle: "long", timeZone }).format(new Date())
    } catch {
      throw new Error(`unknown time zone "${timeZone}"; use an IANA name such as Europe/Berlin or America/New_York`)
    }
  },
})
