/**
 * Who may reach the agent, the same on every channel. Direct messages: users in `allowedUsers` or
 * approved through pairing; with pairing on, a stranger is offered a code and nothing else. Groups:
 * off by default; when enabled, only the listed groups, only messages addressed to the bot (a mention
 * or a reply), and (by default) only from allowed users. Everything else is dropped without an answer
 * and without a provider request.
 */
import type { AccessPolicy, InboundMessage, Verdict } from "./contract.ts"

export type AccessFacts = Pick<InboundMessage, "user" | "place" | "group" | "addressed">

/** Approved through pairing: a store read, asked only for a user not in `allowedUsers`. */
export type Approved = (userId: string) => Promise<boolean>

export async function isAllowed(policy: AccessPolicy, userId: string, approved: Approved): Promise<boolean> {
  return policy.allowedUsers.includes(userId) || (await approved(userId))
}

export async function judgeAccess(policy: AccessPolicy, message: AccessFacts, approved: Approved): Promise<Verdict> {
  if (message.user.bot) return { kind: "ignore", reason: "not from a person" }
  const allowed = () => isAllowed(policy, message.user.id, approved)
  if (message.place === "dm") {
    if (await allowed()) return { kind: "allow" }
    return policy.pairing ? { kind: "pair" } : { kind: "ignore", reason: "user not allowed" }
  }
  if (!policy.groups.enabled) return { kind: "ignore", reason: "groups are disabled" }
  if (message.group === undefined || !policy.groups.allowed.includes(message.group))
    return { kind: "ignore", reason: "group not allowed" }
  if (policy.groups.members === "allowed" && !(await allowed()))
    return { kind: "ignore", reason: "group member not allowed" }
  if (!message.addressed) return { kind: "ignore", reason: "not addressed to the bot" }
  return { kind: "allow" }
}
