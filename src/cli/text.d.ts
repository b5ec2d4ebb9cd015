// Markdown files imported `with { type: "text" }` are inlined by Bun's bundler as strings (also into the
// compiled binary).
declare module "*.md" {
  const text: string
  export default text
}
