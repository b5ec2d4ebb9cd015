/**
 * HTML entity decoding for the text tools hand the model (html-text.ts, search-backends.ts). Its own
 * file so the search backends do not load linkedom and Readability (html-text.ts) at every start.
 */
import { decodeHTML } from "entities"

/** Decode every HTML entity; a no-break space becomes a plain one (the model gains nothing from it). */
export function decodeEntities(text: string): string {
  return decodeHTML(text).replace(/\u00a0/g, " ")
}
