/**
 * Skills: what the workspace has (skills/ and skills.paths), which are on for everyone or for one
 * session, and which were rejected with their reasons. Reading refreshes first, so a skill added a
 * moment ago shows without waiting for a turn.
 */
import { Elysia, t } from "elysia"
import type { Gateway } from "../gateway/gateway.ts"

const LoadedSkill = t.Object({
  name: t.String(),
  description: t.String(),
  folder: t.String({ description: "The skill's folder, relative to the workspace when inside it" }),
  from: t.String({ description: "Where it was found: skills, or a path of skills.paths" }),
  enabled: t.Boolean({ description: "Offered to the model (for the session asked about, when one was)" }),
  disabled: t.Boolean({ description: "Off in the config (skills.disabled)" }),
  offForSession: t.Boolean({ description: "Turned off for the session asked about (/skills off <name>)" }),
  license: t.Optional(t.String()),
  compatibility: t.Optional(t.String()),
  allowedTools: t.Optional(t.Array(t.String())),
  metadata: t.Optional(t.Record(t.String(), t.Unknown())),
  warnings: t.Array(t.String(), { description: "Problems that did not stop it from loading" }),
})

const RejectedSkill = t.Object({
  folder: t.String(),
  name: t.Optional(t.String()),
  reasons: t.Array(t.String()),
})

export function skillRoutes(gw: Gateway) {
  return new Elysia({ prefix: "/control/v1" }).get(
    "/skills",
    ({ query }) => {
      const snapshot = gw.skills.refresh()
      const sessionId = query.session ?? null
      const off = new Set(gw.skills.catalog.sessionOff(sessionId))
      return {
        skills: snapshot.skills.map((skill) => ({
          name: skill.name,
          description: skill.description,
          folder: gw.skills.catalog.shown(skill),
          from: skill.from,
          enabled: !skill.disabled && !off.has(skill.name),
          disabled: skill.disabled,
          offForSession: off.has(skill.name),
          license: skill.license,
          compatibility: skill.compatibility,
          allowedTools: skill.allowedTools,
          metadata: skill.metadata,
          warnings: skill.warnings,
        })),
        rejected: snapshot.rejected.map((rejected) => ({
          folder: rejected.root,
          name: rejected.name,
          reasons: rejected.reasons,
        })),
        promptBudgetChars: gw.skills.settings.promptBudgetChars,
      }
    },
    {
      query: t.Object({
        session: t.Optional(t.String({ description: "Also say which skills are off for this session" })),
      }),
      response: {
        200: t.Object(
          { skills: t.Array(LoadedSkill), rejected: t.Array(RejectedSkill), promptBudgetChars: t.Integer() },
          { description: "Loaded skills, and skills that were rejected with every reason" },
        ),
      },
      detail: {
        operationId: "listSkills",
        tags: ["skills"],
        summary: "Agent Skills",
        description:
          "The workspace's Agent Skills (skills/<name>/SKILL.md and the config's skills.paths): name, description, folder, whether each is enabled (in the config and, with ?session=, for that session), and the skills that failed validation with their reasons.",
      },
    },
  )
}
