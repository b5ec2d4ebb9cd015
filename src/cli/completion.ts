/**
 * `drost completion bash|zsh|fish`: shell completion generated from the live command tree, so it can
 * never drift from what `--help` says. Completes subcommands at any depth and each command's flags.
 */
import type { ArgsDef, CommandDef, Resolvable } from "citty"

interface Node {
  path: string[]
  description: string
  /** Long flags (`--name`) and their descriptions. */
  flags: { name: string; description: string }[]
  children: { name: string; description: string }[]
}

async function resolved<T>(value: Resolvable<T> | undefined): Promise<T | undefined> {
  return typeof value === "function" ? await (value as () => T | Promise<T>)() : await value
}

/** Every command of the tree, depth first, with its flags and subcommands. */
export async function walk(command: CommandDef, path: string[] = []): Promise<Node[]> {
  const meta = await resolved(command.meta)
  const args = ((await resolved(command.args)) ?? {}) as ArgsDef
  const subs = (await resolved(command.subCommands)) ?? {}
  const flags = Object.entries(args)
    .filter(([, def]) => def.type !== "positional")
    .flatMap(([name, def]) => {
      const description = def.description ?? ""
      return def.type === "boolean" && def.default === true
        ? [
            {
              name: `--no-${name}`,
              description: (def as { negativeDescription?: string }).negativeDescription ?? description,
            },
          ]
        : [{ name: `--${name}`, description }]
    })
  flags.push({ name: "--help", description: "Show help" })
  if (path.length === 0) flags.push({ name: "--version", description: "Print the version" })
  const children: Node["children"] = []
  const nested: Node[] = []
  for (const [name, value] of Object.entries(subs)) {
    const child = (await resolved(value)) as CommandDef
    const childMeta = await resolved(child.meta)
    children.push({ name, description: childMeta?.description ?? "" })
    nested.push(...(await walk(child, [...path, name])))
  }
  return [{ path, description: meta?.description ?? "", flags, children }, ...nested]
}

const single = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`
const firstSentence = (text: string) => text.split(/[.;:](\s|$)/)[0]!.slice(0, 90)

export function bash(nodes: Node[]): string {
  const cases = nodes.map(
    (node) =>
      `    ${single(node.path.join(" "))}) opts=${single([...node.children.map((child) => child.name), ...node.flags.map((flag) => flag.name)].join(" "))} ;;`,
  )
  return `# drost completion for bash: eval "$(drost completion bash)" in ~/.bashrc
_drost() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" word opts="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    [[ "$word" == -* ]] || path="\${path:+$path }$word"
  done
  case "$path" in
${cases.join("\n")}
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o default -F _drost drost
`
}

export function zsh(nodes: Node[]): string {
  const item = (name: string, description: string) =>
    single(`${name.replace(/:/g, "\\:")}:${firstSentence(description)}`)
  const cases = nodes.map(
    (node) =>
      `    ${single(node.path.join(" "))}) items=(${[...node.children.map((child) => item(child.name, child.description)), ...node.flags.map((flag) => item(flag.name, flag.description))].join(" ")}) ;;`,
  )
  return `#compdef drost
# drost completion for zsh: eval "$(drost completion zsh)" in ~/.zshrc (after compinit)
_drost() {
  local -a words_so_far items
  local word
  for word in \${words[2,CURRENT-1]}; do
    [[ $word == -* ]] || words_so_far+=($word)
  done
  case "\${(j: :)words_so_far}" in
${cases.join("\n")}
    *) items=() ;;
  esac
  _describe 'drost' items || _files
}
compdef _drost drost
`
}

export function fish(nodes: Node[]): string {
  const lines = [
    "# drost completion for fish: drost completion fish > ~/.config/fish/completions/drost.fish",
    "complete -c drost -f",
  ]
  for (const node of nodes) {
    // Condition: exactly this path of subcommands so far.
    const seen = node.path.map((name) => `__fish_seen_subcommand_from ${name}`)
    const deeper =
      node.children.length > 0
        ? [`not __fish_seen_subcommand_from ${node.children.map((child) => child.name).join(" ")}`]
        : []
    const condition = node.path.length === 0 ? ["__fish_use_subcommand"] : [...seen, ...deeper]
    const when = single(condition.join("; and "))
    for (const child of node.children)
      lines.push(`complete -c drost -n ${when} -a ${single(child.name)} -d ${single(firstSentence(child.description))}`)
    for (const flag of node.flags)
      lines.push(
        `complete -c drost -n ${when} -l ${single(flag.name.slice(2))} -d ${single(firstSentence(flag.description))}`,
      )
  }
  return `${lines.join("\n")}\n`
}

export const SHELLS = { bash, zsh, fish } as const
export type Shell = keyof typeof SHELLS
