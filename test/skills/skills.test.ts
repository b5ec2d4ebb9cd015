/**
 * Agent Skills in a running gateway (issue 18 item 1), through the real loop and a fake OpenAI model:
 * broken skills are skipped with every reason while the others load; a skill added, edited or deleted
 * while the gateway runs takes effect on the next turn; `/skills off <name>` turns one off for one
 * session only (kept across a restart in the store), `skills.disabled` for everyone; skill.read stays
 * inside the skill's folder; the list in the prompt keeps to its budget; and the model cannot write
 * skills/ or a configured skill folder except through evolve (loaded code).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { rmSync, symlinkSync } from "node:fs"
import { skillsSection } from "../../src/agent/prompt.ts"
import { dispatch } from "../../src/gateway/commands.ts"
import { SkillsEvent } from "../../src/skills/events.ts"
import { boundaryOf, classify } from "../../src/workspace/boundary.ts"
import { reply } from "../fake/openai.ts"
import { type InProcess, inProcess, wire } from "../tool/lib.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"

const skill = (name: string, description: string, body = `Instructions of ${name}.`, extra = "") =>
  `---\nname: ${name}\ndescription: ${description}\n${extra}---\n\n${body}\n`

let ws: Workspace
let drost: InProcess

beforeAll(async () => {
  ws = await workspace({
    files: {
      "skills/weather-report/SKILL.md": skill("weather-report", "Reports the weather. Use when asked about weather."),
      "skills/weather-report/references/units.md": "Use degrees Celsius.\n",
      "skills/weather-report/.env": "KEY=secret-value\n",
      "skills/hidden-skill/SKILL.md": skill("hidden-skill", "Off in the config."),
      "skills/Bad_Name/SKILL.md": skill("Bad_Name", "Upper case and an underscore."),
      "skills/mismatch/SKILL.md": skill("other-name", "Its folder has another name."),
      "skills/long-description/SKILL.md": skill("long-description", "x".repeat(1025)),
      "skills/no-front-matter/SKILL.md": "# Just a heading\n",
      "skills/bad-yaml/SKILL.md": "---\nname: bad-yaml\ndescription: [not closed\n---\nbody\n",
      "skills/no-file/README.md": "not a skill\n",
      "skills/no-description/SKILL.md": "---\nname: no-description\n---\nbody\n",
      "skills/double--hyphen/SKILL.md": skill("double--hyphen", "Two hyphens in a row."),
      "more-skills/notes-helper/SKILL.md": skill("notes-helper", "Helps with notes. Use for notes."),
      "more-skills/weather-report/SKILL.md": skill("weather-report", "A second skill of the same name."),
      "other.txt": "outside\n",
    },
  })
  symlinkSync("/etc/hostname", ws.file("skills/weather-report/references/host.md"))
  drost = await inProcess(ws.path, { skills: { paths: ["more-skills"], disabled: ["hidden-skill"] } })
})
afterAll(async () => {
  await drost?.[Symbol.asyncDispose]()
  await ws?.[Symbol.asyncDispose]()
})

/** One turn in `sessionId` whose model calls `calls` in order, then answers; the requests and tool outputs. */
async function turn(sessionId: string, calls: [string, unknown][] = []) {
  const { llm, gw } = drost
  llm.queue(...calls.map(([name, args]) => reply().tool(wire(name), args)), reply().text("ok"))
  const before = llm.hits.length
  const result = await (await gw.sessions.prompt({ sessionId, text: "go" })).done
  expect(result.status).toBe("completed")
  const requests = llm.hits.slice(before).filter((hit) => hit.path.endsWith("/chat/completions"))
  const system = requests[0]!.body.messages.find((message: { role: string }) => message.role === "system")
    .content as string
  const outputs = requests
    .slice(1)
    .map((request) => request.body.messages.filter((message: { role: string }) => message.role === "tool").at(-1))
    .map((message: { content: string }) => message.content)
  return { system, outputs }
}

const ctx = (sessionId: string | null) => ({ channel: "test", sessionId, setSession() {}, width: 200 })

describe("discovery and validation", () => {
  test("broken skills are skipped with their reasons; the valid ones load from skills/ and skills.paths", () => {
    const snapshot = drost.gw.skills.refresh(true)
    expect(snapshot.skills.map((each) => each.name).sort()).toEqual(["hidden-skill", "notes-helper", "weather-report"])
    const reasons = Object.fromEntries(
      snapshot.rejected.map((each) => [each.root.slice(ws.path.length + 1), each.reasons.join("; ")]),
    )
    expect(reasons["skills/Bad_Name"]).toContain("may hold only lowercase letters, digits and single hyphens")
    expect(reasons["skills/mismatch"]).toContain('name "other-name" must match its folder\'s name "mismatch"')
    expect(reasons["skills/long-description"]).toContain("description is 1025 characters (at most 1024)")
    expect(reasons["skills/no-front-matter"]).toContain("must start with YAML front matter")
    expect(reasons["skills/bad-yaml"]).toContain("not valid YAML")
    expect(reasons["skills/no-file"]).toBe("SKILL.md is missing")
    expect(reasons["skills/no-description"]).toContain("description is missing")
    expect(reasons["skills/double--hyphen"]).toContain("single hyphens")
    expect(reasons["more-skills/weather-report"]).toContain('name clash: "weather-report" is already provided by')
    expect(snapshot.rejected.length).toBe(9)
  })

  test("/skills lists them, what is off and what was rejected", async () => {
    const session = await drost.gw.sessions.create({ channel: "test" })
    const listed = await dispatch(drost.gw, ctx(session.id), "/skills")
    expect(listed!.listing).toBe(true)
    expect(listed!.text).toMatch(/weather-report\s+on\s+Reports the weather/)
    expect(listed!.text).toMatch(/hidden-skill\s+off \(config\)/)
    expect(listed!.text).toContain('rejected skills/mismatch: name "other-name" must match')
    expect(listed!.text).toContain("rejected more-skills/weather-report: name clash")
    expect(listed!.text).toContain("3 skills (2 on), 9 rejected")
  })
})

describe("in a turn", () => {
  test("the prompt lists enabled skills; skill.load gives the body and files; skill.read stays inside", async () => {
    const session = await drost.gw.sessions.create({ channel: "test" })
    const { system, outputs } = await turn(session.id, [
      ["skill.load", { name: "weather-report" }],
      ["skill.read", { skill: "weather-report", path: "references/units.md" }],
      ["skill.read", { skill: "weather-report", path: "../../other.txt" }],
      ["skill.read", { skill: "weather-report", path: "references/host.md" }],
      ["skill.read", { skill: "weather-report", path: ".env" }],
      ["skill.load", { name: "hidden-skill" }],
      ["skill.load", { name: "mismatch" }],
    ])
    expect(system).toContain("- weather-report: Reports the weather. Use when asked about weather.")
    expect(system).toContain("- notes-helper: Helps with notes.")
    expect(system).not.toContain("hidden-skill")
    expect(system).not.toContain("Instructions of weather-report")
    expect(outputs[0]).toContain("Instructions of weather-report.")
    expect(outputs[0]).toContain("Files: references/host.md, references/units.md")
    expect(outputs[1]).toBe("Use degrees Celsius.\n")
    expect(outputs[2]).toContain('"../../other.txt" is outside the skill\'s folder')
    expect(outputs[3]).toContain("leads outside the skill's folder (a link); refused")
    expect(outputs[4]).toContain("credential or private state file; refused")
    expect(outputs[4]).not.toContain("secret-value")
    expect(outputs[5]).toContain('skill "hidden-skill" is disabled in the config (skills.disabled)')
    expect(outputs[6]).toContain('no skill named "mismatch"')
  })

  test("added, edited and deleted skills take effect on the next turn", async () => {
    const session = await drost.gw.sessions.create({ channel: "test" })
    const reloads: { loaded: string[] }[] = []
    const stop = drost.gw.bus.subscribe(SkillsEvent.Reloaded, (event) => reloads.push(event.data))
    expect((await turn(session.id)).system).not.toContain("fresh-skill")
    ws.write("skills/fresh-skill/SKILL.md", skill("fresh-skill", "Version one.", "Body one."))
    const first = await turn(session.id, [["skill.load", { name: "fresh-skill" }]])
    expect(first.system).toContain("- fresh-skill: Version one.")
    expect(first.outputs[0]).toContain("Body one.")
    ws.write("skills/fresh-skill/SKILL.md", skill("fresh-skill", "Version two, longer.", "Body two."))
    const second = await turn(session.id, [["skill.load", { name: "fresh-skill" }]])
    expect(second.system).toContain("- fresh-skill: Version two, longer.")
    expect(second.outputs[0]).toContain("Body two.")
    rmSync(ws.file("skills/fresh-skill"), { recursive: true })
    const third = await turn(session.id, [["skill.load", { name: "fresh-skill" }]])
    expect(third.system).not.toContain("fresh-skill")
    expect(third.outputs[0]).toContain('no skill named "fresh-skill"')
    stop()
    // One skills.reloaded per change: added, edited, deleted.
    expect(reloads.map((event) => event.loaded.includes("fresh-skill"))).toEqual([true, true, false])
  })

  test("/skills off <name> turns a skill off for that session only, and on again", async () => {
    const one = await drost.gw.sessions.create({ channel: "test" })
    const two = await drost.gw.sessions.create({ channel: "test" })
    const off = await dispatch(drost.gw, ctx(one.id), "/skills off notes-helper")
    expect(off!.text).toBe("skill notes-helper is off for this session (from the next turn)")
    const first = await turn(one.id, [["skill.load", { name: "notes-helper" }]])
    expect(first.system).not.toContain("notes-helper")
    expect(first.outputs[0]).toContain("turned off for this session (/skills on notes-helper turns it back on)")
    expect((await turn(two.id)).system).toContain("- notes-helper:")
    expect((await dispatch(drost.gw, ctx(one.id), "/skills"))!.text).toMatch(/notes-helper\s+off \(session\)/)
    // Kept in the store, so a restart keeps it.
    expect(JSON.parse((await drost.gw.data.sessions.kv.get(`skills.off.${one.id}`))!)).toEqual(["notes-helper"])
    await dispatch(drost.gw, ctx(one.id), "/skills on notes-helper")
    expect((await turn(one.id)).system).toContain("- notes-helper:")
    expect((await dispatch(drost.gw, ctx(one.id), "/skills off no-such"))!.text).toContain('no skill named "no-such"')
    expect((await dispatch(drost.gw, ctx(one.id), "/skills on hidden-skill"))!.text).toContain(
      "but it stays off: skills.disabled in the config lists it",
    )
    expect((await turn(one.id)).system).not.toContain("hidden-skill")
    expect((await dispatch(drost.gw, ctx(null), "/skills off notes-helper"))!.text).toContain("no current session")
  })
})

describe("the prompt budget", () => {
  test("skills past skills.promptBudgetChars are counted, not listed", () => {
    const many = Array.from({ length: 40 }, (_, index) => ({
      name: `skill-${index}`,
      description: "A fairly ordinary description of what this skill does and when to use it.",
    }))
    const text = skillsSection(many, 1000)!
    expect(text.length).toBeLessThanOrEqual(1000 + 80)
    const listed = text.split("\n").filter((line) => line.startsWith("- skill-")).length
    expect(listed).toBeGreaterThan(0)
    expect(text).toContain(`- (${40 - listed} more skills not listed: raise skills.promptBudgetChars)`)
    expect(skillsSection([], 1000)).toBeNull()
  })
})

describe("skills are loaded code", () => {
  test("the model cannot write skills/ or a skills.paths folder with the file tools; evolve is named", async () => {
    const session = await drost.gw.sessions.create({ channel: "test" })
    const { outputs } = await turn(session.id, [
      ["file.write", { path: "skills/weather-report/SKILL.md", content: "---\nname: x\n---\n" }],
      ["file.write", { path: "more-skills/notes-helper/scripts/run.sh", content: "echo hi\n" }],
    ])
    for (const output of outputs.slice(0, 2)) {
      expect(output).toContain("loaded code")
      expect(output).toContain("evolve")
    }
    const boundary = boundaryOf({
      workspaceDir: ws.path,
      stateDir: ws.file(".drost"),
      skills: { paths: ["more-skills"] },
    })
    expect(classify(boundary, ws.file("more-skills/notes-helper/SKILL.md"))?.kind).toBe("code")
    expect(classify(boundary, ws.file("skills/weather-report/SKILL.md"))?.kind).toBe("code")
  })
})
