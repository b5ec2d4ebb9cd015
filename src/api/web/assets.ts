/**
 * The dashboard's assets, produced by the macros in bundle.ts: inlined at compile time in the
 * executable; from source, bundled when this module is first imported (the first page request).
 */
import { clientScript, clientStyle } from "./bundle.ts" with { type: "macro" }

export const script: string = clientScript()
export const style: string = clientStyle()
