/**
 * Cost and budgets. Cost is what the stored model steps used (store/usage.ts) at the serving profile's
 * `prices` (USD per million tokens; a profile without prices costs nothing and is marked unpriced).
 * `budgets` (core/budgets-config.ts) limit spending per session, per day and per month; the sessions
 * service calls `admit` when a turn starts, and a turn over a limit is refused with a reason that
 * starts with BUDGET_REFUSAL, or waits for a person (action "approve", through the approval service).
 *
 * Every read goes through the store contract (`data.usage`), so either engine serves it. The session's
 * spending is read from the store (indexed by session). The day's and month's spending across all
 * sessions would need a scan of every message per turn, so what came before the start is read once, at
 * first need (the last 32 days, in 15-minute slices), and the rest is kept current from
 * `provider.response` events.
 */
import type { Bus } from "../bus/bus.ts"
import { ProviderEvent } from "../agent/events.ts"
import type { Approvals } from "../approval/service.ts"
import { BUDGET_REFUSAL, type Budgets } from "../core/budgets-config.ts"
import type { Config, Profile } from "../core/config.ts"
import type { Usage } from "../core/message.ts"
import type { Store, UsageFilter } from "../store/engine/contract.ts"
import { cost } from "./provider-hub.ts"

export interface ProviderCost extends Usage {
  provider: string
  /** USD, or null when the profile has no prices (or no longer exists). */
  cost: number | null
}

export interface CostReport {
  currency: "USD"
  /** Sum over the priced providers. */
  total: number
  providers: ProviderCost[]
}

export interface BudgetState {
  budgets: Budgets
  session: number
  today: number
  month: number
}

/** USD for people: cents from a dollar up, four decimals below, two significant digits below $0.0001. */
export function usd(value: number): string {
  if (value >= 1) return `$${value.toFixed(2)}`
  if (value === 0 || value >= 0.0001) return `$${value.toFixed(4)}`
  return `$${value.toPrecision(2)}`
}

const SLICE_MS = 15 * 60_000
const round = (usd: number) => Math.round(usd * 1e6) / 1e6

export function createBudgets(deps: { config: Config; data: Store; bus: Bus; approvals: Approvals }) {
  const { config, data } = deps
  const zone = () => config.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone
  // "YYYY-MM-DD" in the owner's zone; the month is its first seven characters.
  let format: Intl.DateTimeFormat | null = null
  let formatZone = ""
  const dayOf = (time: number) => {
    if (!format || formatZone !== zone()) {
      formatZone = zone()
      format = new Intl.DateTimeFormat("en-CA", {
        timeZone: formatZone,
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
      })
    }
    return format.format(time)
  }
  const profile = (id: string): Profile | undefined => config.providers.profiles.find((each) => each.id === id)
  const priced = (provider: string, usage: Usage): number | null => {
    const found = profile(provider)
    return found ? cost(found, usage) : null
  }

  const report = async (filter: UsageFilter): Promise<CostReport> => {
    const providers = Object.entries(await data.usage.steps(filter)).map(([provider, usage]) => ({
      provider,
      ...usage,
      cost: priced(provider, usage),
    }))
    return { currency: "USD", total: round(providers.reduce((sum, row) => sum + (row.cost ?? 0), 0)), providers }
  }

  /** USD spent per day key, all sessions. */
  const days = new Map<string, number>()
  const add = (time: number, usd: number | null) => {
    if (!usd) return
    const day = dayOf(time)
    days.set(day, (days.get(day) ?? 0) + usd)
  }
  // What was spent before this start is read at first need, not at start: the scan reads every message
  // of the last 32 days (hundreds of ms on a large store, every start), and a damaged page met there
  // would refuse the whole start instead of failing the one request (503, degraded). Without prices
  // nothing costs anything, so there is nothing to read. Steps after the start come from the bus.
  const startedAt = Date.now()
  // One read shared by the callers that ask at once; a failed read is asked again by the next caller.
  let earlier: Promise<void> | null = config.providers.profiles.some((each) => each.prices) ? null : Promise.resolve()
  const loadEarlier = () => {
    earlier ??= data.usage.slices(startedAt - 32 * 86_400_000, SLICE_MS, startedAt).then(
      (rows) => {
        for (const row of rows) add(row.slice, priced(row.provider, row.usage))
      },
      (error) => {
        earlier = null
        throw error
      },
    )
    return earlier
  }
  // Lives as long as the bus (the gateway); nothing to stop.
  deps.bus.subscribe(ProviderEvent.Response, (event) => add(event.time, priced(event.data.provider, event.data.usage)))

  const today = async () => {
    await loadEarlier()
    return round(days.get(dayOf(Date.now())) ?? 0)
  }
  const month = async () => {
    await loadEarlier()
    const prefix = dayOf(Date.now()).slice(0, 7)
    let sum = 0
    for (const [day, usd] of days) if (day.startsWith(prefix)) sum += usd
    return round(sum)
  }

  const service = {
    /** Usage and cost of one session's stored steps, per provider. */
    session: (sessionId: string) => report({ sessionId }),
    /** Usage and cost of one turn's stored steps, per provider. */
    turn: (sessionId: string, turnId: string) => report({ sessionId, turnId }),
    /** USD spent today and this month, all sessions (in the owner's time zone). */
    spending: async () => ({ today: await today(), month: await month() }),
    state: async (sessionId: string): Promise<BudgetState> => ({
      budgets: config.budgets ?? {},
      session: (await report({ sessionId })).total,
      today: await today(),
      month: await month(),
    }),
    /** The limits `sessionId` has reached, one sentence each; empty when it may spend more. */
    async exceeded(sessionId: string): Promise<string[]> {
      const budgets = config.budgets ?? {}
      if (budgets.perSession === undefined && budgets.perDay === undefined && budgets.perMonth === undefined) return []
      const state = await service.state(sessionId)
      const over: string[] = []
      if (budgets.perSession !== undefined && state.session >= budgets.perSession)
        over.push(`this session has spent ${usd(state.session)} of ${usd(budgets.perSession)} (budgets.perSession)`)
      if (budgets.perDay !== undefined && state.today >= budgets.perDay)
        over.push(`today's spending is ${usd(state.today)} of ${usd(budgets.perDay)} (budgets.perDay)`)
      if (budgets.perMonth !== undefined && state.month >= budgets.perMonth)
        over.push(`this month's spending is ${usd(state.month)} of ${usd(budgets.perMonth)} (budgets.perMonth)`)
      return over
    },
    /**
     * The sessions service's admission check: null lets the turn run, a string is the reason it fails.
     * With action "approve" a person is asked first (the wait ends when the turn is aborted).
     */
    async admit(turn: { sessionId: string; turnId: string }, signal: AbortSignal): Promise<string | null> {
      const over = await service.exceeded(turn.sessionId)
      if (!over.length) return null
      const reason = `${BUDGET_REFUSAL}: ${over.join("; ")}`
      if ((config.budgets?.action ?? "refuse") === "refuse") return `${reason}. Raise the limit in the config to go on.`
      const verdict = await deps.approvals.ask({
        name: "budget",
        args: { reason, ...(await service.state(turn.sessionId)) },
        sessionId: turn.sessionId,
        turnId: turn.turnId,
        callId: `budget:${turn.turnId}`,
        signal,
      })
      return verdict.approved ? null : `${reason}; not approved: ${verdict.reason}`
    },
  }
  return service
}

export type BudgetService = ReturnType<typeof createBudgets>
