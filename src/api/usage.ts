/** Token usage summed over finished turns, in total and per provider profile. */
import { Elysia, t } from "elysia"
import type { Gateway } from "../gateway/gateway.ts"
import { invalid } from "./schemas.ts"

const Counts = {
  turns: t.Number(),
  input: t.Number({ description: "Input tokens" }),
  output: t.Number({ description: "Output tokens" }),
  cached: t.Number({ description: "Cached input tokens" }),
}

export function usageRoutes(gw: Gateway) {
  return new Elysia({ prefix: "/control/v1" }).get(
    "/usage",
    async ({ query }) => {
      const since = query.since ?? 0
      const providers = await gw.data.sessions.usageByProvider(since)
      const totals = providers.reduce(
        (sum, row) => ({
          turns: sum.turns + row.turns,
          input: sum.input + row.input,
          output: sum.output + row.output,
          cached: sum.cached + row.cached,
        }),
        {
          turns: 0,
          input: 0,
          output: 0,
          cached: 0,
        },
      )
      return { since, totals, providers }
    },
    {
      query: t.Object({
        since: t.Optional(
          t.Numeric({ minimum: 0, description: "Only turns created at or after this time (ms since the epoch)" }),
        ),
      }),
      response: {
        200: t.Object(
          {
            since: t.Number(),
            totals: t.Object(Counts),
            providers: t.Array(t.Object({ provider: t.String(), ...Counts })),
          },
          {
            description: "Token totals and one row per provider profile",
            examples: [
              {
                since: 0,
                totals: { turns: 3, input: 2400, output: 310, cached: 0 },
                providers: [{ provider: "demo", turns: 3, input: 2400, output: 310, cached: 0 }],
              },
            ],
          },
        ),
        400: invalid,
      },
      detail: {
        operationId: "getUsage",
        tags: ["usage"],
        summary: "Token usage",
        description: "Sums the usage recorded on finished turns, overall and per provider profile.",
      },
    },
  )
}
