/**
 * Named, serialisable errors. Core, store and agent throw these; only the edges (api/, cli/) map them
 * to HTTP statuses or exit codes.
 */

export class DrostError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly data: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = code
  }

  toObject() {
    return { error: this.code, message: this.message, ...this.data }
  }
}

export class NotFound extends DrostError {
  constructor(kind: string, id: string) {
    super("NotFound", `unknown ${kind} "${id}"`, { kind, id })
  }
}

export class Invalid extends DrostError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super("Invalid", message, data)
  }
}

export class Busy extends DrostError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super("Busy", message, data)
  }
}

/** A config file that cannot be used; `issues` holds one line per problem. */
export class ConfigError extends DrostError {
  constructor(
    readonly file: string,
    readonly lines: string[],
  ) {
    super("ConfigError", `invalid config ${file}:\n${lines.join("\n")}`, { file, issues: lines })
  }
}

export function message(error: unknown): string {
  if (error instanceof Error) return error.message
  return typeof error === "string" ? error : JSON.stringify(error)
}
