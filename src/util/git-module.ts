/**
 * isomorphic-git, loaded on first use. The git tools and the evolution repository need it; a gateway
 * start, a supervisor and most CLI commands never do, and evaluating it costs a few milliseconds of
 * every start.
 */
export type Git = typeof import("isomorphic-git").default

let loaded: Promise<Git> | undefined

export const loadGit = (): Promise<Git> => (loaded ??= import("isomorphic-git").then((module) => module.default))
