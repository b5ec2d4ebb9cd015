// Vendor files imported `with { type: "file" }` resolve to a path (under /$bunfs/ in the compiled
// binary); TypeScript has no types for them on its own.
declare module "*/swagger-ui-bundle.js" {
  const path: string
  export default path
}
declare module "*/swagger-ui.css" {
  const path: string
  export default path
}
