/**
 * The one short line a turn that did not complete ends with in the chat, as every channel ends one
 * (docs/channels.md): what happened and the error id (the turn id; the event log and the gateway log
 * have the details). No DOM here: test/channels/contract/web.test.ts renders the same line.
 */
export function outcomeNote(status, data) {
  const reason = String(data?.reason ?? "")
  if (reason.startsWith("aborted by user")) return `⏹ Stopped. (error id ${data?.turnId})`
  const cause = reason.split(":")[0]?.slice(0, 80) || "no reason given"
  return `⚠️ Turn ${status === "interrupted" ? "interrupted" : "failed"} (${cause}). Send the message again. (error id ${data?.turnId})`
}
