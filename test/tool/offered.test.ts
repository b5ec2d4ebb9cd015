/**
 * The tools offered to the model (`registry.specs()`, asked at every model call) and the sorted list
 * (`registry.list()`, the system prompt's tool names) are kept while nothing they depend on changed,
 * and are redone at once when a tool is added or removed, the policy changes (even edited in place)
 * or a tool becomes unavailable.
 */
import { describe, expect, test } from "bun:test"
import { createToolRegistry, type RegisteredTool } from "../../src/tool/registry.ts"

const log = { info() {}, warn() {}, error() {}, debug() {} }
const tool = (name: string, extra: Partial<RegisteredTool> = {}): RegisteredTool => ({
  name,
  description: `tool ${name}`,
  parameters: { type: "object", properties: {} },
  source: "workspace",
  execute: () => name,
  ...extra,
})

describe("offered tools", () => {
  test("kept while unchanged, redone after every change they depend on", () => {
    const policy = { profile: "balanced" as const, allow: [] as string[], deny: [] as string[] }
    let sandbox = true
    const registry = createToolRegistry({
      timeoutMs: 1000,
      outputLimit: 1000,
      log: log as never,
      policy: () => policy,
      unavailable: (entry) => (entry.confined && !sandbox ? "no sandbox" : null),
    })
    registry.register(tool("shell", { source: "builtin", confined: true }))
    registry.setGroup("workspace", [tool("b"), tool("a")])
    const names = () => registry.specs().map((spec) => spec.name)

    const first = registry.specs()
    expect(first.map((spec) => spec.name).sort()).toEqual(["a", "b", "shell"])
    expect(registry.specs()).toBe(first)
    expect(Object.isFrozen(first)).toBe(true)
    expect(() => (first as unknown[]).push(1)).toThrow()

    registry.setGroup("workspace", [tool("b"), tool("a"), tool("c")])
    expect(names()).toContain("c")
    registry.unregister("c")
    registry.setGroup("workspace", [tool("a")])
    expect(names().sort()).toEqual(["a", "shell"])

    policy.deny.push("a")
    expect(names()).toEqual(["shell"])
    policy.deny.length = 0
    policy.allow.push("a")
    expect(names()).toEqual(["a"])
    policy.allow.length = 0

    sandbox = false
    expect(names()).toEqual(["a"])
    sandbox = true
    expect(names().sort()).toEqual(["a", "shell"])
    const kept = registry.specs()
    expect(registry.specs()).toBe(kept)

    // list(): sorted by name, a copy each time (changing it changes nothing kept).
    const listed = registry.list()
    expect(listed.map((entry) => entry.name)).toEqual(["a", "shell"])
    listed.pop()
    expect(registry.list().map((entry) => entry.name)).toEqual(["a", "shell"])
    registry.setGroup("workspace", [tool("z"), tool("0")])
    expect(registry.list().map((entry) => entry.name)).toEqual(["0", "shell", "z"])
  })
})
