/**
 * The `budgets` config section: spending limits in the currency of the profiles' `prices` (USD per
 * million tokens). Checked when a turn is admitted, against what the stored model steps cost so far;
 * a step of a profile without prices costs nothing here. Absent or empty: no limit.
 */
import { type Static, Type } from "./schema.ts"

export const BudgetAction = Type.Union([Type.Literal("refuse"), Type.Literal("approve")], {
  description:
    '"refuse": a turn over a limit fails with the reason, shown in the channel; "approve": it waits for a person to allow it (as an approval of the pseudo-tool "budget", tools.approvalTimeoutMs), and is refused when denied or nobody decides',
})
export type BudgetAction = Static<typeof BudgetAction>

export const Budgets = Type.Object(
  {
    perSession: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, description: "USD one session may spend in total (all its turns)" }),
    ),
    perDay: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        description: "USD all sessions together may spend per calendar day (in timeZone, or the system's)",
      }),
    ),
    perMonth: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, description: "USD all sessions together may spend per calendar month" }),
    ),
    action: Type.Optional(BudgetAction),
  },
  { additionalProperties: false, default: {} },
)
export type Budgets = Static<typeof Budgets>

/** How a refused turn's reason starts; channels show such a reason to the person as it is. */
export const BUDGET_REFUSAL = "budget exceeded"
