/** Config for a test workspace: demo provider, Control API on a free loopback port. */
export function demoConfig(extra: Record<string, unknown> = {}, demo: Record<string, unknown> = {}) {
  return {
    providers: { profiles: [{ id: "demo", kind: "demo", ...demo }] },
    controlApi: { port: 0 },
    ...extra,
  }
}
