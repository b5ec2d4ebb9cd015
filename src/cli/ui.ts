/**
 * The CLI's human output. A fixed level: consola would otherwise go quiet whenever NODE_ENV=test or
 * CI-like variables are set, hiding what the user needs to see. One plain reporter (an icon and the
 * message on stderr): consola's fancy one measures every line's display width with Intl.Segmenter and
 * formats a timestamp, which loads ICU data and costs about 10 ms of every gateway start. Imported from
 * `consola/core`: the package's main entry also evaluates those reporters and its prompt helpers (~5 ms).
 */
import { createConsola, type LogObject } from "consola/core"
import { formatWithOptions } from "node:util"
import { Flag } from "../util/flag.ts"

const ICONS: Record<string, string> = {
  info: "ℹ",
  warn: "⚠",
  error: "✖",
  fatal: "✖",
  success: "✔",
  start: "◐",
  ready: "✔",
  fail: "✖",
}

const plain = {
  log(entry: LogObject) {
    const text = formatWithOptions({ colors: false }, ...entry.args)
    const icon = ICONS[entry.type]
    process.stderr.write(`${icon ? `${icon} ` : ""}${text}\n`)
  },
}

export const ui = createConsola({ level: Flag.logLevel() === "error" ? 1 : 3, reporters: [plain] })
