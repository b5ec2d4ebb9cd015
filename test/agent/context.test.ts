/**
 * Prompt assembly with real files: order of the parts, budgets per part, persona files skipped when
 * missing, edits picked up on the next build (and unchanged files not re-read), the memory capsule.
 */
import { afterEach, expect, test } from "bun:test"
import { rmSync, utimesSync, writeFileSync } from "node:fs"
import { createContextBuilder } from "../../src/agent/context.ts"
import { DEFAULT_SYSTEM_PROMPT } from "../../src/agent/prompt.ts"
import type { ContextConfig } from "../../src/core/continuity-config.ts"
import { day } from "../../src/memory/notes.ts"
import { workspace } from "../lib/workspace.ts"

const cleanup: string[] = []
afterEach(() => {
  for (const path of cleanup.splice(0)) rmSync(path, { recursive: true, force: true })
})

const base: ContextConfig = {
  personaFiles: ["AGENTS.md", "SOUL.md", "USER.md", "MEMORY.md"],
  systemTokens: 4_000,
  personaTokens: 4_000,
  factsTokens: 400,
  memoryTokens: 600,
  windowTokens: 32_000,
  reserveTokens: 4_000,
  keepRecentTokens: 8_000,
  summaryTokens: 800,
  timeZone: "UTC",
}

async function setup(files: Record<string, string>, config: Partial<ContextConfig> = {}) {
  const ws = await workspace({ files })
  cleanup.push(ws.path)
  const now = Date.UTC(2025, 2, 4, 9, 30)
  const builder = createContextBuilder({
    config: () => ({ ...base, ...config }),
    systemFile: ws.file("prompts/system.md"),
    workspace: ws.path,
    memoryDir: ws.file("memory"),
    tools: () => ["file.read", "memory.search"],
    now: () => now,
  })
  return { ws, builder, now }
}

test("parts come in order: system.md, persona files (missing ones skipped), runtime facts, memory capsule", async () => {
  const { builder } = await setup({
    "prompts/system.md": "You are the test agent.",
    "USER.md": "The user is called Ada.",
    "AGENTS.md": "Work carefully.",
    "memory/2025-03-03.md": "# 2025-03-03\nyesterday: booked the train",
    "memory/2025-03-04.md": "# 2025-03-04\ntoday: call the bank",
  })
  const prompt = builder.system()
  expect(prompt.sections.map((section) => section.name)).toEqual([
    "system",
    "persona:AGENTS.md",
    "persona:USER.md",
    "facts",
    "memory",
  ])
  const text = prompt.text
  const at = (needle: string) => text.indexOf(needle)
  expect(at("You are the test agent.")).toBe(0)
  expect(at("Work carefully.")).toBeLessThan(at("The user is called Ada."))
  expect(text).toContain("- Date: Tuesday 2025-03-04, around 09:00 (UTC)")
  expect(text).toContain("- Tools: file.read, memory.search")
  expect(at("yesterday: booked the train")).toBeLessThan(at("today: call the bank"))
  expect(prompt.tokens).toBeLessThan(400)
})

test("each part is cut to its budget and says so; without system.md the default prompt is used", async () => {
  const { builder } = await setup(
    { "SOUL.md": "x".repeat(10_000), "memory/2025-03-04.md": `${"old line\n".repeat(500)}the newest line` },
    { personaTokens: 100, memoryTokens: 50 },
  )
  const prompt = builder.system()
  expect(prompt.text.startsWith(DEFAULT_SYSTEM_PROMPT)).toBe(true)
  const soul = prompt.sections.find((section) => section.name === "persona:SOUL.md")!
  expect(soul.clipped).toBe(true)
  expect(soul.tokens).toBeLessThanOrEqual(130)
  expect(prompt.text).toContain("raise context.personaTokens")
  // The capsule keeps the newest lines of the note.
  expect(prompt.text).toContain("the newest line")
  expect(prompt.sections.find((section) => section.name === "memory")!.tokens).toBeLessThanOrEqual(100)
})

test("an edited file is re-read on the next build; an unchanged one is served from the cache", async () => {
  const { ws, builder } = await setup({ "prompts/system.md": "version one" })
  expect(builder.system().text).toContain("version one")
  writeFileSync(ws.file("prompts/system.md"), "version two, longer")
  expect(builder.system().text).toContain("version two, longer")
  // Same size and mtime as the cached copy: the cached text is used (one stat, no read).
  const stamp = new Date("2025-01-01T00:00:00Z")
  writeFileSync(ws.file("prompts/system.md"), "version AAA")
  utimesSync(ws.file("prompts/system.md"), stamp, stamp)
  expect(builder.system().text).toContain("version AAA")
  writeFileSync(ws.file("prompts/system.md"), "version BBB")
  utimesSync(ws.file("prompts/system.md"), stamp, stamp)
  expect(builder.system().text).toContain("version AAA")
  rmSync(ws.file("prompts/system.md"))
  expect(builder.system().text.startsWith(DEFAULT_SYSTEM_PROMPT)).toBe(true)
  expect(day(Date.UTC(2025, 0, 1, 23, 30), "Asia/Tokyo")).toBe("2025-01-02")
})
