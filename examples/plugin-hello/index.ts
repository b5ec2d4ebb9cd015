/**
 * An example plugin (docs/plugins.md). Install it into a workspace's node_modules and list it:
 *
 *   plugins: ["plugin-hello"],
 *   pluginConfig: { "plugin-hello": { greeting: "Howdy" } },
 *   providers: { profiles: [{ id: "hello", kind: "plugin", plugin: "plugin-hello" }, …] },
 *
 * It adds the tool `hello.greet` (run in the sandboxed tool host, like a workspace tool), the provider
 * kind used by the profile above (an offline echo model), and the slash command `/hello [name]`.
 */
import { definePlugin, defineTool, type ModelEvent, type ModelProvider } from "drost"

/**
 * `pluginConfig["plugin-hello"]`: checked with this JSON Schema when the gateway loads the plugin,
 * defaults filled in. A TypeBox schema works the same (`Type.Object({ greeting: Type.String(…) })`);
 * this one is plain so the package has no dependencies and can be installed by copying the folder.
 */
const Settings = {
  type: "object",
  properties: { greeting: { type: "string", minLength: 1, default: "Hello", description: "How to greet" } },
  additionalProperties: false,
}
type Settings = { greeting: string }

const greet = defineTool<{ name: string }>({
  name: "hello.greet",
  description: "Greet someone by name",
  parameters: {
    type: "object",
    properties: { name: { type: "string", description: "Who to greet" } },
    required: ["name"],
    additionalProperties: false,
  },
  execute: ({ name }) => `Hello, ${name}! (hello.greet from plugin-hello)`,
})

/** An offline model: it answers every message with the greeting and what it was told. */
function echoModel(id: string, greeting: string): ModelProvider {
  return {
    id,
    kind: "plugin",
    model: "hello-echo-1",
    async *stream(request, signal): AsyncGenerator<ModelEvent> {
      const last = request.messages.filter((message) => message.role === "user").at(-1)
      const said = last?.parts.map((part) => (part.type === "text" ? part.text : "")).join("") ?? ""
      for (const word of `${greeting}! You said: ${said}`.split(/(?<= )/)) {
        if (signal.aborted) {
          yield { type: "error", kind: "aborted", message: "aborted" }
          return
        }
        yield { type: "text", delta: word }
      }
      yield { type: "usage", usage: { input: Math.ceil(said.length / 4), output: 4, cached: 0 } }
      yield { type: "done", stop: "stop" }
    },
  }
}

export default definePlugin<Settings>({
  name: "plugin-hello",
  version: "1.0.0",
  description: "A tool, a provider and a command, to show what a plugin can add",
  config: Settings,
  tools: [greet],
  providers: [{ name: "echo", create: ({ profile, config }) => echoModel(profile.id, config.greeting) }],
  commands: [
    {
      name: "hello",
      usage: "/hello [name]",
      help: "Greet (example plugin)",
      run: (arg, { config }) => `${config.greeting}, ${arg || "world"}! (plugin-hello 1.0.0)`,
    },
  ],
})
