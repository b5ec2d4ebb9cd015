/** Injected by build.ts through `define`; the source tree reports the package version and "dev". */
declare const DROST_VERSION: string | undefined
declare const DROST_COMMIT: string | undefined

export const VERSION = typeof DROST_VERSION === "string" ? DROST_VERSION : "0.1.0"
export const COMMIT = typeof DROST_COMMIT === "string" ? DROST_COMMIT : "dev"
