/**
 * The CLI's human output. A fixed level: consola would otherwise go quiet whenever NODE_ENV=test or
 * CI-like variables are set, hiding what the user needs to see.
 */
import { createConsola } from "consola"
import { Flag } from "../util/flag.ts"

export const ui = createConsola({ level: Flag.logLevel() === "error" ? 1 : 3, stderr: process.stderr, stdout: process.stderr })
