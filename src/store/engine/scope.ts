/**
 * What a recovery `RecoveryScope` (contract.ts) takes, shared by both engines: with no scope every row;
 * `owner`, that gateway's rows; `gone`, the rows whose owner the judge finds gone (src/store/gateways.ts
 * `goneReason`, `self` never gone to itself), each with that reason.
 */
import type { RecoveryScope } from "./contract.ts"

/** Why an owner is gone for one recovery, or null while it may still run. */
export type Judge = (owner: string | null) => string | null

/**
 * A picker for `scope`: for a row's owner, `{ why }` when the scope takes it (why: the judge's reason, or
 * null when nothing was judged), or null when it is left alone. `judge` is needed for a `gone` scope.
 */
export function picker(scope: RecoveryScope | undefined, judge?: Judge) {
  return (owner: string | null): { why: string | null } | null => {
    if (!scope) return { why: null }
    if ("owner" in scope) return owner === scope.owner ? { why: null } : null
    const why = judge!(owner)
    return why === null ? null : { why }
  }
}

/** The gateway that takes over what a recovery ended: the judging gateway, else the store's owner. */
export const taker = (scope: RecoveryScope | undefined, owner: string | null): string | null =>
  scope && "gone" in scope ? scope.gone.self : owner
