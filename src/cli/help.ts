/**
 * `--help` text. citty's own renderer pads every row to the longest description of its table (168
 * columns for `drost --help`, so each line wrapped in a 100-column terminal) and colours it whenever
 * NO_COLOR is not exactly "1", even into a pipe. This one wraps descriptions to the terminal's width
 * (80 columns when it is not a terminal) under their own column and colours only a terminal that
 * allows it (NO_COLOR set to anything turns colour off, as no-color.org says).
 */
import type { ArgsDef, CommandDef, Resolvable } from "citty"
import { Flag } from "../util/flag.ts"
import { aliasesOf } from "./args.ts"

export interface HelpStyle {
  width: number
  color: boolean
}

/** The style for a stream: its width and colour when it is a terminal, 80 plain columns otherwise. */
export function styleFor(stream: NodeJS.WriteStream): HelpStyle {
  const tty = Boolean(stream.isTTY)
  return {
    width: tty && stream.columns ? stream.columns : 80,
    color: tty && !Flag.noColor() && process.env.TERM !== "dumb",
  }
}

async function resolved<T>(value: Resolvable<T> | undefined): Promise<T | undefined> {
  return typeof value === "function" ? await (value as () => T | Promise<T>)() : await value
}

/** Words of `text` in lines of at most `width` characters (a longer word gets a line of its own). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = []
  let line = ""
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  if (line) lines.push(line)
  return lines.length ? lines : [""]
}

/** Rows of a two-column table: labels padded to a shared column, descriptions wrapped beside them. */
function table(rows: [string, string][], style: HelpStyle, paint: (text: string) => string): string[] {
  const indent = 2
  const widest = Math.max(...rows.map(([label]) => label.length))
  // A label column wider than about a third of the screen would squeeze the text: such labels stand alone.
  const column = Math.min(widest, Math.max(12, Math.floor(style.width * 0.36)))
  const textWidth = Math.max(20, style.width - indent - column - 2)
  const out: string[] = []
  for (const [label, description] of rows) {
    const text = wrap(description, textWidth)
    const pad = " ".repeat(indent + column + 2)
    if (label.length > column) {
      out.push(`${" ".repeat(indent)}${paint(label)}`)
      for (const line of text) out.push(`${pad}${line}`.trimEnd())
      continue
    }
    out.push(`${" ".repeat(indent)}${paint(label)}${" ".repeat(column - label.length + 2)}${text[0]}`.trimEnd())
    for (const line of text.slice(1)) out.push(`${pad}${line}`)
  }
  return out
}

function hint(name: string, def: ArgsDef[string]): string {
  if (def.type === "positional" || def.type === "boolean") return ""
  if (def.type === "enum" && def.options?.length) return `=<${def.options.join("|")}>`
  return `=<${def.valueHint ?? name}>`
}

export async function renderHelp(command: CommandDef, path: string[], style: HelpStyle): Promise<string> {
  const code = (open: number, close: number) => (text: string) =>
    style.color ? `\x1b[${open}m${text}\x1b[${close}m` : text
  const cyan = code(36, 39)
  const bold = code(1, 22)
  const meta = (await resolved(command.meta)) ?? {}
  const args = (await resolved(command.args)) ?? {}
  const name = ["drost", ...path].join(" ")
  const positional: [string, string][] = []
  const options: [string, string][] = []
  const usage: string[] = [name]
  for (const [key, def] of Object.entries(args as ArgsDef)) {
    if (def.type === "positional") {
      const label = key.toUpperCase()
      const required = def.required !== false && def.default === undefined
      positional.push([label, def.description ?? ""])
      usage.push(required ? `<${label}>` : `[${label}]`)
      continue
    }
    const aliases = aliasesOf(def)
    const label = [...aliases.map((alias: string) => `-${alias}`), `--${key}`].join(", ") + hint(key, def)
    const extra = def.default !== undefined && def.type !== "boolean" ? ` (default: ${def.default})` : ""
    options.push([label, `${def.description ?? ""}${extra}`])
  }
  if (options.length) usage.splice(1, 0, "[OPTIONS]")
  const commands: [string, string][] = []
  for (const [sub, def] of Object.entries((await resolved(command.subCommands)) ?? {})) {
    const subMeta = await resolved(((await resolved(def)) as CommandDef | undefined)?.meta)
    if (subMeta?.hidden) continue
    commands.push([sub, subMeta?.description ?? ""])
  }
  if (commands.length) usage.push("<COMMAND>")
  const lines: string[] = [
    ...wrap(
      `${meta.description ?? ""}${path.length === 0 && meta.version ? ` (drost ${meta.version})` : ""}`,
      style.width,
    ),
    "",
    ...wrap(`${bold("USAGE")}  ${usage.join(" ")}`, style.width),
  ]
  for (const [title, rows] of [
    ["ARGUMENTS", positional],
    ["OPTIONS", options],
    ["COMMANDS", commands],
  ] as const) {
    if (!rows.length) continue
    lines.push("", bold(title), ...table(rows as [string, string][], style, cyan))
  }
  if (commands.length) lines.push("", ...wrap(`Run ${name} <COMMAND> --help for a command's options.`, style.width))
  return `${lines.join("\n")}\n`
}
