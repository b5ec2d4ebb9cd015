/**
 * Shared setup for the Telegram channel tests: a fake Bot API, a workspace whose config points the
 * channel at it, and readers for the gateway's event log.
 */
import { existsSync, readFileSync } from "node:fs"
import { demoConfig } from "../lib/config.ts"
import type { Workspace } from "../lib/workspace.ts"
import type { FakeTelegram } from "../fake/telegram.ts"

export const OWNER = 111

export function telegramConfig(
  fake: FakeTelegram,
  channel: Record<string, unknown> = {},
  demo: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
) {
  return demoConfig(
    {
      channels: [
        {
          kind: "telegram",
          token: fake.token,
          apiRoot: fake.apiRoot,
          allowedUsers: [OWNER],
          pollTimeoutSec: 2,
          ...channel,
        },
      ],
      ...extra,
    },
    demo,
  )
}

export interface LoggedEvent {
  type: string
  data: Record<string, unknown>
}

export function events(ws: Workspace): LoggedEvent[] {
  const file = ws.file(".drost/logs/events.jsonl")
  if (!existsSync(file)) return []
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LoggedEvent)
}

/** Wait until the event log (flushed every 200 ms) has an event matching `predicate`. */
export async function waitEvent(
  ws: Workspace,
  type: string,
  predicate: (data: Record<string, unknown>) => boolean = () => true,
  timeoutMs = 10_000,
) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = events(ws).find((event) => event.type === type && predicate(event.data))
    if (found) return found
    if (Date.now() > deadline) throw new Error(`no ${type} event within ${timeoutMs} ms`)
    await Bun.sleep(50)
  }
}

/** The final text of a chat's messages, in order. */
export const texts = (fake: FakeTelegram, chatId: number) => fake.chat(chatId).map((message) => message.text)
