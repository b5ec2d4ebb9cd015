/**
 * Issue 18's "done when" for skills: the fixture set (test/fixtures/skills, the public Agent Skills
 * format) loads and runs from the compiled binary. `drost skill check` of the binary passes all of them;
 * a gateway started from the binary lists them with 0 rejections over the Control API, and a turn of a
 * fake model loads csv-summary and runs its script through the sandboxed shell, whose output comes back.
 */
import { afterAll, expect, test } from "bun:test"
import { cpSync, readdirSync, rmSync } from "node:fs"
import { join } from "node:path"
import { buildBinary } from "../binary/binary.ts"
import { fakeOpenAI, reply } from "../fake/openai.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

const FIXTURES = join(import.meta.dir, "../fixtures/skills")
let binary: string | null = null
afterAll(() => {
  if (binary) rmSync(binary, { force: true })
})

test("the fixture skills load and run from the compiled binary", async () => {
  binary = (await buildBinary([], "drost-skills")).file
  await using llm = await fakeOpenAI({ key: null })
  await using ws = await workspace({
    config: {
      providers: {
        profiles: [
          { id: "llm", kind: "openai-compatible", baseUrl: llm.baseUrl, apiKeyEnv: "DROST_FAKE_KEY", model: "m" },
        ],
      },
      controlApi: { port: 0 },
    },
    files: { "data/sales.csv": "region,units,revenue\nnorth,3,30.5\nsouth,4,40\neast,5,12.25\n" },
  })
  cpSync(FIXTURES, ws.file("skills"), { recursive: true })
  const names = readdirSync(FIXTURES).sort()

  const check = Bun.spawnSync([binary, "skill", "check"], { cwd: ws.path, stdout: "pipe", stderr: "pipe" })
  expect(check.stdout.toString()).toContain(`${names.length} ok, 0 rejected`)
  expect(check.exitCode).toBe(0)

  await using gw = await spawnGateway(ws.path, { command: [binary], env: { DROST_FAKE_KEY: "test-key" } })
  const listed = (await (await gw.api("/skills")).json()) as { skills: { name: string }[]; rejected: unknown[] }
  expect(listed.rejected).toEqual([])
  expect(listed.skills.map((skill) => skill.name).sort()).toEqual(names)

  llm.queue(
    reply().tool("skill_load", { name: "csv-summary" }),
    reply().tool("shell", { command: "bash skills/csv-summary/scripts/summarize.sh data/sales.csv" }),
    reply().text("3 rows, 12 units."),
  )
  const session = (await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }
  const turn = (await (
    await gw.api(`/sessions/${session.id}/turn`, { method: "POST", json: { input: "sum it" } })
  ).json()) as {
    status: string
    text: string
  }
  expect(turn).toMatchObject({ status: "completed", text: "3 rows, 12 units." })
  const requests = llm.hits.filter((hit) => hit.path.endsWith("/chat/completions"))
  const last = (index: number) =>
    requests[index]!.body.messages.filter((message: { role: string }) => message.role === "tool").at(-1).content
  expect(requests[0]!.body.messages[0].content).toContain("- csv-summary: Summarise a CSV file")
  expect(last(1)).toContain("Use the bundled script; do not count rows")
  expect(last(2)).toContain("units\tnumeric\t12")
  expect(last(2)).toContain("rows\t3")
  expect(await gw.stop()).toBe(0)
}, 180_000)
