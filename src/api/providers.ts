/**
 * Provider profiles, their probe results and cooldowns. The gateway's richer provider health
 * (`providerStatus()`, `probeProviders()`) is used when this build has it; otherwise the routes report
 * what the gateway knows for certain: which profiles are configured and which could be created.
 */
import { Elysia, t } from "elysia"
import type { Gateway } from "../gateway/gateway.ts"
import { invalid, problem } from "./schemas.ts"

/** Optional gateway capabilities, feature-checked at call time. */
interface ProviderHealth {
  providerStatus?: () => Promise<unknown[]>
  probeProviders?: (timeoutMs: number) => Promise<unknown[]>
}

const ProviderInfo = t.Object(
  {
    id: t.String(),
    kind: t.String(),
    model: t.Union([t.String(), t.Null()]),
    available: t.Boolean({ description: "The profile could be built (credentials and kind present)" }),
    default: t.Boolean({ description: "New sessions use this profile" }),
  },
  {
    additionalProperties: true,
    description: "Profile, plus probe result and cooldown fields when the gateway tracks them",
  },
)

function basic(gw: Gateway) {
  return gw.config.providers.profiles.map((profile) => ({
    id: profile.id,
    kind: profile.kind,
    model: gw.providers.get(profile.id)?.model ?? profile.model ?? null,
    available: gw.providers.has(profile.id),
    default: profile.id === gw.config.providers.defaultSessionProvider,
  }))
}

/** Merge the gateway's status entries (keyed by `id`) over the basic profile list. */
function merged(gw: Gateway, extra: unknown[]) {
  const byId = new Map<string, Record<string, unknown>>()
  for (const entry of extra)
    if (entry && typeof entry === "object" && "id" in entry)
      byId.set(String((entry as { id: unknown }).id), entry as Record<string, unknown>)
  return basic(gw).map((profile) => ({ ...profile, ...(byId.get(profile.id) ?? {}), id: profile.id }))
}

export function providerRoutes(gw: Gateway) {
  const health = gw as Gateway & ProviderHealth
  return new Elysia({ prefix: "/control/v1" })
    .get(
      "/providers",
      async () => {
        const status = typeof health.providerStatus === "function" ? await health.providerStatus() : []
        return { providers: merged(gw, status), failover: gw.config.providers.failover }
      },
      {
        response: {
          200: t.Object(
            {
              providers: t.Array(ProviderInfo),
              failover: t.Object(
                { enabled: t.Boolean(), fallbacks: t.Array(t.String()), cooldownMs: t.Number() },
                { additionalProperties: true },
              ),
            },
            { description: "Every configured profile and the failover settings" },
          ),
        },
        detail: {
          operationId: "listProviders",
          tags: ["providers"],
          summary: "Provider profiles",
          description: "Configured profiles with availability, the last probe result and any failover cooldown.",
        },
      },
    )
    .post(
      "/providers/probe",
      async ({ body, set }) => {
        if (typeof health.probeProviders !== "function") {
          set.status = 501
          return {
            error: "NotImplemented",
            message: "this build cannot probe providers; see GET /control/v1/providers for availability",
          }
        }
        const results = await health.probeProviders(body?.timeoutMs ?? 5000)
        return { providers: merged(gw, results) }
      },
      {
        body: t.Optional(
          t.Object(
            { timeoutMs: t.Optional(t.Integer({ minimum: 100, maximum: 60_000, default: 5000 })) },
            { examples: [{ timeoutMs: 5000 }] },
          ),
        ),
        response: {
          200: t.Object({ providers: t.Array(ProviderInfo) }, { description: "Each profile with its probe result" }),
          400: invalid,
          501: problem("This build cannot probe providers"),
        },
        detail: {
          operationId: "probeProviders",
          tags: ["providers"],
          summary: "Probe every provider now",
          description:
            "Sends a cheap request to each profile (in parallel, each bounded by `timeoutMs`) and returns the results.",
        },
      },
    )
}
