/**
 * Every `process.env` read of the runtime lives here, so the set of variables Drost honours is
 * greppable in one place and documented in docs/configuration.md.
 */

function text(name: string): string | undefined {
  const value = process.env[name]
  return value === undefined || value === "" ? undefined : value
}

function truthy(name: string): boolean {
  const value = text(name)?.toLowerCase()
  return value === "1" || value === "true" || value === "yes"
}

/** Read lazily: tests and `.env` loading change the environment after import. */
export const Flag = {
  /** Workspace root override (else the current directory). */
  workspace: () => text("DROST_WORKSPACE"),
  /** Path of the SQLite database; `:memory:` for throwaway runs. */
  db: () => text("DROST_DB"),
  /** Cap the database at this many pages (PRAGMA max_page_count): past it writes fail as on a full disk. */
  dbMaxPages: () => text("DROST_DB_MAX_PAGES"),
  /** Minimum log level written to the console: debug | info | warn | error. */
  logLevel: () => text("DROST_LOG_LEVEL"),
  /** CI=true: never prompt, plain output. */
  ci: () => truthy("CI"),
  /** NO_COLOR set to anything but "" turns colour off (no-color.org: "regardless of its value"). */
  noColor: () => text("NO_COLOR") !== undefined,
  controlAdminToken: () => text("DROST_CONTROL_ADMIN_TOKEN"),
  controlReadToken: () => text("DROST_CONTROL_READ_TOKEN"),
  /** Provider key fallbacks, used when a profile has neither an auth profile nor `apiKeyEnv`. */
  openaiApiKey: () => text("OPENAI_API_KEY"),
  anthropicApiKey: () => text("ANTHROPIC_API_KEY"),
  xaiApiKey: () => text("XAI_API_KEY"),
  /** Set by `drost start`'s supervisor for the gateway it runs as its child (not for users to set). */
  supervised: () => truthy("DROST_SUPERVISED"),
  /** Any variable, for `env:` references in provider profiles. */
  get: (name: string) => text(name),
  truthy,
}
