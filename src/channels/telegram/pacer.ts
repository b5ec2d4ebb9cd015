/** Telegram paces per chat with the shared pacer (src/channels/pacer.ts). */
export { createPacer, createPacers, type Pacer } from "../pacer.ts"
