/**
 * Templates for `drost tool new <name> --template …`: a working tool and a test beside it. The tools
 * use only web standards (plus `node:` built-ins for the shell and file templates, which Bun and Deno
 * both provide), so they run in the gateway and in the Deno sandbox alike.
 */

export const TEMPLATES = ["basic", "fetch", "shell", "file"] as const
export type Template = (typeof TEMPLATES)[number]

const CONTEXT = `const ctx = {
  sessionId: "test",
  turnId: "test",
  callId: "test",
  workspace: { root: process.cwd(), tools: "tools", memory: "memory", prompts: "prompts" },
  signal: new AbortController().signal,
  log: { info() {}, warn() {}, error() {} },
}`

function tool(name: string, template: Template): string {
  const header = `import { defineTool } from "drost"\n\n`
  switch (template) {
    case "basic":
      return `${header}export default defineTool<{ text: string; times?: number }>({
  name: ${JSON.stringify(name)},
  description: "Repeat a text a number of times (a starting point: describe what your tool does and when to use it).",
  parameters: {
    type: "object",
    properties: {
      text: { type: "string", description: "The text to repeat" },
      times: { type: "integer", minimum: 1, maximum: 10, description: "How often (default 2)" },
    },
    required: ["text"],
    additionalProperties: false,
  },
  async execute({ text, times = 2 }, ctx) {
    ctx.log.info("repeating", { times })
    return Array.from({ length: times }, () => text).join(" ")
  },
})
`
    case "fetch":
      return `${header}export default defineTool<{ url: string }>({
  name: ${JSON.stringify(name)},
  description: "Fetch a URL and return its title and size.",
  parameters: {
    type: "object",
    properties: { url: { type: "string", description: "Absolute http(s) URL" } },
    required: ["url"],
    additionalProperties: false,
  },
  // Used when the tool runs in the Deno sandbox: list the hosts it may reach.
  permissions: { net: true },
  async execute({ url }, ctx) {
    const response = await fetch(url, { signal: ctx.signal })
    const body = await response.text()
    const title = body.match(/<title>([^<]*)<\\/title>/i)?.[1]?.trim() ?? null
    return { status: response.status, title, bytes: body.length }
  },
})
`
    case "shell":
      return `${header}import { execFile } from "node:child_process"

export default defineTool<{ args?: string[] }>({
  name: ${JSON.stringify(name)},
  description: "Run \`uname\` with the given arguments and return its output.",
  parameters: {
    type: "object",
    properties: { args: { type: "array", items: { type: "string" }, description: 'Arguments, e.g. ["-s"]' } },
    additionalProperties: false,
  },
  permissions: { run: ["uname"] },
  execute({ args = [] }, ctx) {
    return new Promise((resolve, reject) => {
      execFile("uname", args, { signal: ctx.signal, timeout: 10_000 }, (error, stdout, stderr) => {
        if (error) reject(new Error(stderr.trim() || error.message))
        else resolve(stdout.trim())
      })
    })
  },
})
`
    case "file":
      return `${header}import { readFile } from "node:fs/promises"
import { isAbsolute, relative, resolve } from "node:path"

export default defineTool<{ path: string }>({
  name: ${JSON.stringify(name)},
  description: "Count the lines, words and characters of a text file in the workspace.",
  parameters: {
    type: "object",
    properties: { path: { type: "string", description: "File path relative to the workspace" } },
    required: ["path"],
    additionalProperties: false,
  },
  permissions: { read: ["."] },
  async execute({ path }, ctx) {
    const file = resolve(ctx.workspace.root, path)
    const rel = relative(ctx.workspace.root, file)
    if (rel.startsWith("..") || isAbsolute(rel)) throw new Error(\`\${path} is outside the workspace\`)
    const text = await readFile(file, "utf8")
    return { lines: text.split("\\n").length, words: text.split(/\\s+/).filter(Boolean).length, characters: text.length }
  },
})
`
  }
}

function test(name: string, file: string, template: Template): string {
  const header = `// Run with \`drost tool test\` (every tool's tests) or \`drost tool test <name>\`; with Bun: \`bun test tools/\`.
import { expect, test } from "bun:test"
import tool from "./${file}.ts"

${CONTEXT}
`
  switch (template) {
    case "basic":
      return `${header}
test("${name} repeats the text", async () => {
  expect(await tool.execute({ text: "hi", times: 3 }, ctx)).toBe("hi hi hi")
})
`
    case "fetch":
      return `${header}
test("${name} reads the title", async () => {
  using server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("<title>Hello</title>", { headers: { "content-type": "text/html" } }) })
  expect(await tool.execute({ url: \`http://127.0.0.1:\${server.port}/\` }, ctx)).toEqual({ status: 200, title: "Hello", bytes: 20 })
})
`
    case "shell":
      return `${header}
test("${name} runs uname", async () => {
  expect(String(await tool.execute({ args: ["-s"] }, ctx)).length).toBeGreaterThan(0)
})
`
    case "file":
      return `${header}import { writeFileSync } from "node:fs"

test("${name} counts a file", async () => {
  writeFileSync("tools/.${file}-sample.txt", "one two\\nthree")
  expect(await tool.execute({ path: "tools/.${file}-sample.txt" }, ctx)).toEqual({ lines: 2, words: 3, characters: 13 })
})

test("${name} refuses paths outside the workspace", async () => {
  await expect(tool.execute({ path: "../outside.txt" }, ctx)).rejects.toThrow("outside the workspace")
})
`
  }
}

/** The two files of a new tool: `tools/<file>.ts` and `tools/<file>.test.ts`. */
export function render(name: string, template: Template): { tool: string; test: string } {
  return { tool: tool(name, template), test: test(name, fileName(name), template) }
}

/** File stem for a tool name (`git.helper` → `git-helper`). */
export function fileName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, "-")
}
