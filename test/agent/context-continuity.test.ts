/**
 * /new with continuity, end to end: a Telegram chat (fake Bot API) talks to a model (fake OpenAI), sends
 * /new, and the fresh session starts from the model's summary of the old one. The chat's mapping moves
 * to the new session and survives a restart; the next request carries the summary, not the old messages.
 */
import { expect, test } from "bun:test"
import { FakeTelegram } from "../fake/telegram.ts"
import { fakeOpenAI, reply } from "../fake/openai.ts"
import { checkChat } from "../fake/validate.ts"
import { FAKE_KEY_ENV, fakeConfig } from "../lib/config.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

const OWNER = 111

test("/new continues from a summary of the previous session; the chat mapping moves and survives a restart", async () => {
  const tg = await FakeTelegram.start()
  await using llm = await fakeOpenAI()
  await using ws = await workspace({
    config: fakeConfig(llm.baseUrl, {
      channels: [{ kind: "telegram", token: tg.token, apiRoot: tg.apiRoot, allowedUsers: [OWNER], pollTimeoutSec: 2 }],
    }),
  })
  let second = ""
  {
    await using gw = await spawnGateway(ws.path, { env: FAKE_KEY_ENV })
    llm.queue(reply().text("Noted: the project is called Zephyr and ships on Friday."))
    tg.text(OWNER, "Our project is Zephyr, shipping Friday. Remind me to write the changelog.")
    await tg.waitFor(
      () => tg.chat(OWNER).find((message) => message.text.includes("Zephyr and ships")),
      10_000,
      "first answer",
    )
    const hits = llm.hits.length
    llm.queue(
      reply().text(
        "## Objective\nShip Zephyr on Friday.\n## Decisions\nNone yet.\n## Open threads\nWrite the changelog.",
      ),
    )
    tg.text(OWNER, "/new")
    const done = await tg.waitFor(
      () => tg.chat(OWNER).find((message) => message.text.startsWith("new session")),
      15_000,
      "/new",
    )
    expect(done.text).toContain("continuing from a summary of the previous one")
    second = done.text.split(" ")[2]!.replace(/,$/, "")
    // The summary request went to the previous session's provider, text only, with the old conversation.
    const summaryRequest = llm.hits.slice(hits).find((hit) => hit.path.endsWith("/chat/completions"))!
    expect(summaryRequest.body.tools ?? []).toEqual([])
    expect(JSON.stringify(summaryRequest.body.messages)).toContain("Remind me to write the changelog")
    const session = (await (await gw.api(`/sessions/${second}`)).json()) as {
      session: { metadata: { continuedFrom?: string }; channel: string }
    }
    expect(session.session.metadata.continuedFrom).toMatch(/^ses_/)
    expect(await gw.stop()).toBe(0)
  }
  {
    await using gw = await spawnGateway(ws.path, { env: FAKE_KEY_ENV })
    const before = llm.hits.length
    llm.queue(reply().text("We were getting Zephyr out on Friday; the changelog is still open."))
    tg.text(OWNER, "what were we doing?")
    await tg.waitFor(
      () => tg.chat(OWNER).find((message) => message.text.includes("changelog is still open")),
      10_000,
      "answer after restart",
    )
    const request = llm.hits.slice(before).find((hit) => hit.path.endsWith("/chat/completions"))!
    expect(checkChat(request.body)).toBeNull()
    const sent = JSON.stringify(request.body.messages)
    expect(sent).toContain("Write the changelog.")
    expect(sent).toContain("This session continues session ses_")
    expect(sent).not.toContain("Noted: the project is called Zephyr")
    // The message landed in the new session: the mapping moved and survived the restart.
    const body = (await (await gw.api(`/sessions/${second}`)).json()) as {
      messages: { role: string; parts: { text?: string }[] }[]
    }
    expect(body.messages.map((message) => message.parts[0]?.text)).toEqual([
      "what were we doing?",
      "We were getting Zephyr out on Friday; the changelog is still open.",
    ])
    expect(await gw.stop()).toBe(0)
  }
  tg.stop()
}, 45_000)

test("/new fresh starts blank; a continuation whose model fails gets the deterministic digest", async () => {
  await using llm = await fakeOpenAI()
  await using ws = await workspace({
    config: fakeConfig(llm.baseUrl),
  })
  await using gw = await spawnGateway(ws.path, { env: FAKE_KEY_ENV })
  const id = ((await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }).id
  llm.queue(reply().text("ok, budget is 300 euros"))
  await gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input: "the budget is 300 euros" } })
  llm.queue(reply().status(400, { message: "no" }))
  const next = (await (await gw.api(`/sessions/${id}/new`, { method: "POST", json: {} })).json()) as {
    session: { id: string }
    source: string
  }
  expect(next.source).toBe("fallback")
  const preview = (await (await gw.api(`/prompt?session=${next.session.id}`)).json()) as { history: unknown[] }
  // Before its first message, the new session's view is the digest alone.
  expect(preview.history.length).toBe(1)
  expect(JSON.stringify(preview.history)).toContain("Written without the model")
  llm.queue(reply().text("fine"))
  await gw.api(`/sessions/${next.session.id}/turn`, { method: "POST", json: { input: "go on" } })
  const sent = JSON.stringify(llm.hits.at(-1)!.body.messages)
  expect(sent).toContain("Objective (first request): the budget is 300 euros")
  const fresh = (await (await gw.api(`/sessions/${id}/new`, { method: "POST", json: { fresh: true } })).json()) as {
    session: { id: string }
    source: string
  }
  expect(fresh.source).toBe("none")
}, 30_000)
