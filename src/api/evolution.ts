/**
 * Self-evolution over HTTP: run a transaction (`POST /control/v1/evolution`), read the audit trail,
 * revert a past transaction. A gate failure is not an HTTP error: the answer is 200 with `ok: false`,
 * the verdict and the gate's output, and the files are already restored. Busy → 409, disabled → 503.
 */
import { Elysia, t } from "elysia"
import type { Gateway } from "../gateway/gateway.ts"
import type { Change } from "../evolve/service.ts"
import { described, invalid, problem } from "./schemas.ts"

const Step = t.Object({ name: t.String(), ok: t.Boolean(), output: t.String(), durationMs: t.Number(), at: t.Number() })
const FileChange = t.Object({ path: t.String(), status: t.String(), added: t.Number(), removed: t.Number() })
const Record = t.Object(
  {
    id: t.String(),
    reason: t.String(),
    by: t.String(),
    status: t.String({ description: "running | restarting | applied | rolled_back | failed" }),
    startedAt: t.Number(),
    endedAt: t.Union([t.Number(), t.Null()]),
    before: t.Union([t.String(), t.Null()], { description: "Checkpoint commit" }),
    after: t.Union([t.String(), t.Null()], { description: "Evolve commit (when the gates passed)" }),
    files: t.Array(FileChange),
    steps: t.Array(Step, {
      description: "checkpoint, change, gate:*, commit, restart/health, rollback, recovered — in order",
    }),
    verdict: t.Union([t.String(), t.Null()]),
    restart: t.Union([
      t.Object({
        needed: t.Boolean(),
        verdictAt: t.Optional(t.Number()),
        healthyAt: t.Optional(t.Number()),
        healthyAfterMs: t.Optional(t.Number()),
      }),
      t.Null(),
    ]),
    revertOf: t.Optional(t.String()),
  },
  { additionalProperties: true },
)
const Outcome = t.Object({
  id: t.String(),
  ok: t.Boolean(),
  status: t.String(),
  verdict: t.String(),
  output: t.String({ description: "Verdict plus the failing gate's output" }),
  record: Record,
})
const ChangeBody = t.Object(
  {
    path: t.String({ minLength: 1 }),
    content: t.Optional(t.String()),
    search: t.Optional(t.String({ minLength: 1 })),
    replace: t.Optional(t.String()),
    all: t.Optional(t.Boolean()),
    delete: t.Optional(t.Boolean()),
  },
  { additionalProperties: false, description: "content (write), or search + replace (edit), or delete: true" },
)

function toChange(raw: typeof ChangeBody.static): Change | null {
  if (raw.delete === true) return { path: raw.path, delete: true }
  if (raw.content !== undefined) return { path: raw.path, content: raw.content }
  if (raw.search !== undefined && raw.replace !== undefined)
    return { path: raw.path, search: raw.search, replace: raw.replace, all: raw.all }
  return null
}

export function evolutionRoutes(gw: Gateway) {
  return new Elysia({ prefix: "/control/v1/evolution" })
    .get(
      "",
      ({ query }) => ({
        enabled: gw.evolution.enabled,
        problem: gw.evolution.problem,
        mutableRoots: gw.evolution.roots,
        busy: gw.evolution.busy(),
        items: gw.evolution.list().slice(0, query.limit ?? 50),
      }),
      {
        query: t.Object({ limit: t.Optional(t.Numeric({ minimum: 1, maximum: 1000 })) }),
        response: {
          200: t.Object(
            {
              enabled: t.Boolean(),
              problem: t.Union([t.String(), t.Null()], { description: "Why evolution is off, when it is" }),
              mutableRoots: t.Array(t.String()),
              busy: t.Union([t.String(), t.Null()], { description: "The running transaction's id" }),
              items: t.Array(Record),
            },
            { description: "Whether evolution is on, and the transactions, newest first" },
          ),
          400: invalid,
        },
        detail: {
          operationId: "listEvolutions",
          tags: ["evolution"],
          summary: "Evolution audit trail",
          description:
            "Newest first: every transaction with its files, diff stat, each gate's output and duration, the verdict and restart/health results.",
        },
      },
    )
    .get(
      "/:id",
      ({ params, set }) => {
        const record = gw.evolution.get(params.id)
        if (record) return record
        set.status = 404
        return { error: "NotFound", message: `unknown evolution "${params.id}"`, kind: "evolution", id: params.id }
      },
      {
        params: t.Object({ id: t.String({ description: "Evolution id (evo_…)" }) }),
        response: { 200: described(Record, "The transaction"), 404: problem("Unknown evolution") },
        detail: {
          operationId: "getEvolution",
          tags: ["evolution"],
          summary: "One evolution transaction",
          description:
            "Its reason, files with their diff stat, every step (checkpoint, change, each gate with its output and duration, commit, restart and health), the verdict, and the checkpoint and evolve commits.",
        },
      },
    )
    .post(
      "",
      async ({ body, set }) => {
        const changes = body.changes.map(toChange)
        const bad = changes.indexOf(null)
        if (bad >= 0) {
          set.status = 400
          return { error: "Invalid", message: `changes[${bad}]: give content, or search and replace, or delete: true` }
        }
        return gw.evolution.run({ reason: body.reason, changes: changes as Change[], by: "api" })
      },
      {
        body: t.Object(
          {
            reason: t.String({ minLength: 1, description: "One line; becomes the commit message" }),
            changes: t.Array(ChangeBody, { minItems: 1 }),
          },
          {
            examples: [
              {
                reason: "add a greeting tool",
                changes: [{ path: "tools/greet.ts", content: 'import { defineTool } from "drost"\n…' }],
              },
            ],
          },
        ),
        response: {
          200: described(Outcome, "Ran: `ok` says whether the gates passed (false: the files are already restored)"),
          400: invalid,
          409: problem("Another evolution is running"),
          503: problem("Evolution is off (`problem` in GET /evolution says why)"),
        },
        detail: {
          operationId: "runEvolution",
          tags: ["evolution"],
          summary: "Run an evolution transaction",
          description:
            "Checkpoint → change → gates (parse, isolated tool import, configured commands) → commit, or restore the checkpoint exactly. `ok: false` carries the failing gate's output. Source or config changes make the gateway restart under its supervisor with a health gate (status `restarting`).",
        },
      },
    )
    .post("/:id/revert", ({ params }) => gw.evolution.revert(params.id, "api"), {
      params: t.Object({ id: t.String({ description: "Evolution id (evo_…)" }) }),
      response: {
        200: described(Outcome, "Ran the reverting transaction: `ok` says whether its gates passed"),
        400: problem("Not revertible (not applied, or nothing to put back)"),
        404: problem("Unknown evolution"),
        409: problem("Another evolution is running, or the files changed since"),
        503: problem("Evolution is off"),
      },
      detail: {
        operationId: "revertEvolution",
        tags: ["evolution"],
        summary: "Revert a past transaction",
        description:
          "Runs a new transaction (same gates) that puts the files of an applied one back; 409 when they changed since.",
      },
    })
}
