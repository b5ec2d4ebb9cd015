import { expect, test } from "bun:test"
import { FakeTelegram } from "../fake/telegram.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { OWNER, telegramConfig } from "./helpers.ts"

const PNG = Uint8Array.from(
  atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="),
  (c) => c.charCodeAt(0),
)

test("chat → session mapping survives /new, /session and a restart; commands are registered", async () => {
  const fake = await FakeTelegram.start()
  await using ws = await workspace({ config: telegramConfig(fake, { editIntervalMs: 250 }) })
  let first = ""
  let second = ""
  {
    await using gw = await spawnGateway(ws.path)
    fake.text(OWNER, "hello one")
    await fake.waitFor(
      () => fake.chat(OWNER).find((message) => message.text.includes('"hello one"')),
      10_000,
      "first answer",
    )
    fake.text(OWNER, "/session")
    first = (
      await fake.waitFor(
        () => fake.chat(OWNER).find((message) => message.text.startsWith("current session:")),
        10_000,
        "/session",
      )
    ).text.match(/ses_[a-z0-9]+/)![0]
    fake.text(OWNER, "/new")
    second = (
      await fake.waitFor(
        () => fake.chat(OWNER).find((message) => message.text.startsWith("new session")),
        10_000,
        "/new",
      )
    ).text.match(/ses_[a-z0-9]+/)![0]
    expect(second).not.toBe(first)
    expect(fake.commands.map((command) => command.command)).toEqual(
      expect.arrayContaining(["help", "new", "session", "sessions", "status"]),
    )
    expect(fake.commands.map((command) => command.command)).not.toContain("quit")
    expect(await gw.stop()).toBe(0)
  }
  {
    await using gw = await spawnGateway(ws.path)
    fake.text(OWNER, "/session")
    await fake.waitFor(
      () => fake.chat(OWNER).filter((message) => message.text === `current session: ${second}`).length === 1,
      10_000,
      "mapping after restart",
    )
    fake.text(OWNER, `/session ${first}`)
    await fake.waitFor(
      () => fake.chat(OWNER).find((message) => message.text.startsWith(`switched to ${first}`)),
      10_000,
      "switch back",
    )
    fake.text(OWNER, "hello again")
    await fake.waitFor(
      () => fake.chat(OWNER).find((message) => message.text.includes('"hello again"')),
      10_000,
      "answer in the first session",
    )
    const body = (await (await gw.api(`/sessions/${first}?limit=50`)).json()) as {
      messages: { role: string; parts: { text?: string }[] }[]
    }
    expect(body.messages.filter((message) => message.role === "user").map((message) => message.parts[0]?.text)).toEqual(
      ["hello one", "hello again"],
    )
    expect(await gw.stop()).toBe(0)
  }
  fake.stop()
}, 40_000)

test("media: a photo (largest size) and an image document become image input with the caption; an album is one turn; other kinds are declined", async () => {
  const fake = await FakeTelegram.start()
  await using ws = await workspace({ config: telegramConfig(fake, { albumWaitMs: 300 }) })
  await using gw = await spawnGateway(ws.path)
  const small = fake.file(new Uint8Array([1, 2, 3]), "photos/small.jpg")
  const large = fake.file(PNG, "photos/large.jpg")
  const base = (id: number) => ({
    message_id: id,
    date: 0,
    from: { id: OWNER, is_bot: false, first_name: "O" },
    chat: { id: OWNER, type: "private" },
  })
  const photo = [
    { file_id: small, file_unique_id: "s", width: 90, height: 90 },
    { file_id: large, file_unique_id: "l", width: 800, height: 600 },
  ]
  fake.push({ message: { ...base(1), photo, caption: "what is this?" } })
  await fake.waitFor(
    () => fake.chat(OWNER).find((message) => message.text.includes('"what is this?"')),
    10_000,
    "photo answer",
  )
  fake.push({ message: { ...base(2), photo, media_group_id: "alb1", caption: "album caption" } })
  fake.push({
    message: {
      ...base(3),
      document: { file_id: large, file_unique_id: "d", mime_type: "image/png", file_name: "x.png" },
      media_group_id: "alb1",
    },
  })
  await fake.waitFor(
    () => fake.chat(OWNER).find((message) => message.text.includes('"album caption"')),
    10_000,
    "album answer",
  )
  fake.push({ message: { ...base(4), video_note: { file_id: "v", file_unique_id: "v", length: 240, duration: 2 } } })
  await fake.waitFor(
    () => fake.chat(OWNER).find((message) => message.text.includes("video notes are not supported yet")),
    10_000,
    "video note refusal",
  )
  const session = ((await (await gw.api("/sessions?channel=telegram")).json()) as { sessions: { id: string }[] })
    .sessions[0]!.id
  const body = (await (await gw.api(`/sessions/${session}?limit=50`)).json()) as {
    messages: { role: string; parts: { type: string; text?: string; data?: string; mediaType?: string }[] }[]
  }
  const users = body.messages.filter((message) => message.role === "user")
  expect(users.length).toBe(2)
  expect(users[0]!.parts.map((part) => part.type)).toEqual(["text", "image"])
  expect(users[0]!.parts[1]!.data).toBe(Buffer.from(PNG).toString("base64"))
  expect(users[1]!.parts.map((part) => part.type)).toEqual(["text", "image", "image"])
  expect(users[1]!.parts[2]!.mediaType).toBe("image/png")
  expect(fake.callsOf("getFile").every((call) => call.params.file_id === large)).toBe(true)
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 40_000)
