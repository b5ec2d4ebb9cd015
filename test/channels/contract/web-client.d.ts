// The web chat's client is plain JavaScript (docs/dashboard.md); the contract test imports its pure parts.
declare module "*/web/client/outcome.js" {
  export function outcomeNote(status: string, data: { reason?: unknown; turnId?: unknown }): string
}
declare module "*/web/client/api.js" {
  export function readSse(
    response: Response,
  ): AsyncGenerator<{ event: string; id: string | null; data: Record<string, unknown> }>
}
