/**
 * `drost skill new | list | check | install`: scaffold a skill in the Agent Skills format, list what
 * the gateway would load (and reject, and why), check a skill folder against the format without a
 * gateway, and install skills from a folder, a .zip or a git URL into skills/. A running gateway picks
 * every change up at its next turn. Exit 1 when a check fails or nothing was installed; usage 2.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join, relative, resolve } from "node:path"
import { defineCommand } from "citty"
import { load } from "../gateway/load.ts"
import { createSkillCatalog } from "../skills/catalog.ts"
import { install, findSkills } from "../skills/install.ts"
import { skillsReport } from "../skills/report.ts"
import { skillsConfig } from "../skills/service.ts"
import { MAX_NAME, parseSkill } from "../skills/skill.ts"
import { Flag } from "../util/flag.ts"
import { workspaceArgs } from "./args.ts"

async function run(task: () => Promise<number>): Promise<never> {
  try {
    process.exit(await task())
  } catch (error) {
    const lines = (error as { lines?: string[] }).lines
    process.stderr.write(
      `drost: ${lines ? `invalid configuration\n${lines.map((line) => `  ${line}`).join("\n")}` : error instanceof Error ? error.message : String(error)}\n`,
    )
    process.exit(1)
  }
}

const root = (args: { workspace?: string }) => resolve(args.workspace ?? Flag.workspace() ?? process.cwd())
const NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/

const template = (name: string, description: string) => `---
name: ${name}
description: ${JSON.stringify(description)}
---

# ${name}

Say what to do, step by step, in the imperative. Keep this file under 500 lines; put long material in
references/ (e.g. [the reference](references/REFERENCE.md)) and say when to read it.

Scripts go in scripts/ and run with the shell tool, e.g. \`bash skills/${name}/scripts/run.sh\`.
Templates and data files go in assets/.
`

const newCommand = defineCommand({
  meta: { name: "new", description: "Create skills/<name>/SKILL.md in the Agent Skills format" },
  args: {
    name: { type: "positional", required: true, description: "Skill name: lowercase letters, digits, hyphens" },
    description: {
      type: "string",
      alias: "d",
      description: "What the skill does and when to use it (at most 1024 characters)",
    },
    ...workspaceArgs,
  },
  run: ({ args }) =>
    run(async () => {
      if (!NAME.test(args.name) || args.name.length > MAX_NAME) {
        process.stderr.write(
          `drost: invalid skill name "${args.name}" (lowercase letters, digits and single hyphens, at most ${MAX_NAME})\n`,
        )
        return 2
      }
      const config = await load({ root: root(args), file: args.config })
      const dir = join(config.workspaceDir, "skills", args.name)
      if (existsSync(dir)) {
        process.stderr.write(`drost: ${relative(config.workspaceDir, dir)} already exists\n`)
        return 1
      }
      const description = args.description ?? `Describe what ${args.name} does, and when to use it.`
      mkdirSync(dir, { recursive: true })
      writeFileSync(join(dir, "SKILL.md"), template(args.name, description))
      const checked = parseSkill(dir)
      if (!checked.ok) {
        process.stderr.write(`drost: the new skill does not pass the check: ${checked.rejection.reasons.join("; ")}\n`)
        return 1
      }
      process.stdout.write(
        `created skills/${args.name}/SKILL.md\nedit its description and instructions; the gateway picks it up on the next turn\ncheck it: drost skill check skills/${args.name}\n`,
      )
      return 0
    }),
})

const catalogOf = async (args: { workspace?: string; config?: string }) => {
  const config = await load({ root: root(args), file: args.config })
  const settings = skillsConfig(config)
  const catalog = createSkillCatalog({
    workspace: config.workspaceDir,
    paths: () => settings.paths,
    disabled: () => settings.disabled,
  })
  return { config, catalog, snapshot: catalog.refresh(true) }
}

const listCommand = defineCommand({
  meta: { name: "list", description: "List the skills the gateway would load, and rejected ones with the reasons" },
  args: { ...workspaceArgs, json: { type: "boolean", description: "Print JSON" } },
  run: ({ args }) =>
    run(async () => {
      const { snapshot, catalog } = await catalogOf(args)
      if (args.json) {
        const skills = snapshot.skills.map((skill) => ({
          name: skill.name,
          description: skill.description,
          folder: catalog.shown(skill),
          disabled: skill.disabled,
          warnings: skill.warnings,
        }))
        process.stdout.write(`${JSON.stringify({ skills, rejected: snapshot.rejected }, null, 2)}\n`)
        return 0
      }
      process.stdout.write(
        `${skillsReport(snapshot, [], process.stdout.columns || 100, (root) => catalog.shown({ root }))}\n`,
      )
      return 0
    }),
})

const checkCommand = defineCommand({
  meta: {
    name: "check",
    description:
      "Check skills against the Agent Skills format: a skill folder, a folder of skills, or (default) the workspace's",
  },
  args: {
    path: { type: "positional", required: false, description: "A skill folder or a folder of skills" },
    ...workspaceArgs,
  },
  run: ({ args }) =>
    run(async () => {
      const lines: string[] = []
      let bad = 0
      let good = 0
      if (args.path) {
        const dir = resolve(process.cwd(), args.path)
        const roots = findSkills(dir, 1)
        if (roots.length === 0) {
          process.stderr.write(`drost: no SKILL.md in ${args.path} or the folders in it\n`)
          return 1
        }
        for (const skillRoot of roots) {
          const parsed = parseSkill(skillRoot)
          const shown = relative(process.cwd(), skillRoot) || "."
          if (!parsed.ok) {
            bad++
            lines.push(`rejected ${shown}: ${parsed.rejection.reasons.join("; ")}`)
            continue
          }
          good++
          lines.push(`ok ${parsed.skill.name} (${shown})`)
          for (const warning of parsed.skill.warnings) lines.push(`  warning: ${warning}`)
        }
      } else {
        const { snapshot, catalog } = await catalogOf(args)
        for (const skill of snapshot.skills) {
          good++
          lines.push(`ok ${skill.name} (${catalog.shown(skill)})`)
          for (const warning of skill.warnings) lines.push(`  warning: ${warning}`)
        }
        for (const rejected of snapshot.rejected) {
          bad++
          lines.push(`rejected ${catalog.shown(rejected)}: ${rejected.reasons.join("; ")}`)
        }
        if (good + bad === 0) lines.push("no skills (drost skill new <name> creates one)")
      }
      lines.push(`${good} ok, ${bad} rejected`)
      process.stdout.write(`${lines.join("\n")}\n`)
      return bad ? 1 : 0
    }),
})

const installCommand = defineCommand({
  meta: { name: "install", description: "Install skills from a folder, a .zip file or a git URL into skills/" },
  args: {
    source: { type: "positional", required: true, description: "A folder, a .zip file, or a git URL (https://…)" },
    force: { type: "boolean", description: "Replace skills that are already installed" },
    ref: { type: "string", description: "Branch or tag of a git source" },
    ...workspaceArgs,
  },
  run: ({ args }) =>
    run(async () => {
      const config = await load({ root: root(args), file: args.config })
      const source = /^[a-z]+:\/\/|^git@|^npm:/.test(args.source) ? args.source : resolve(process.cwd(), args.source)
      const report = await install(source, {
        target: join(config.workspaceDir, "skills"),
        force: args.force,
        ref: args.ref,
      })
      const lines = [
        ...report.installed.map(
          (each) =>
            `${each.replaced ? "replaced" : "installed"} ${each.name} in ${relative(config.workspaceDir, each.folder)}`,
        ),
        ...report.skipped.map((each) => `not installed ${each.folder}: ${each.reasons.join("; ")}`),
      ]
      if (report.installed.length) lines.push("a running gateway picks them up on its next turn")
      process.stdout.write(`${lines.join("\n")}\n`)
      return report.installed.length && !report.skipped.length ? 0 : 1
    }),
})

export const skillCommand = defineCommand({
  meta: { name: "skill", description: "Agent Skills: create, list, check and install skills (docs/skills.md)" },
  subCommands: { new: newCommand, list: listCommand, check: checkCommand, install: installCommand },
})
