import { describe, expect, test } from "bun:test"
import { REDACTED, redact, redactText } from "../../src/util/redact.ts"

describe("redaction", () => {
  test("secret-looking keys lose their values at any depth", () => {
    const out: unknown = redact({
      apiKey: "abc",
      nested: { password: "p", api_key: "k", authorization: "x", token: 5, fine: "ok" },
      list: [{ secret: "s" }],
    })
    expect(out).toEqual({
      apiKey: REDACTED,
      nested: { password: REDACTED, api_key: REDACTED, authorization: REDACTED, token: REDACTED, fine: "ok" },
      list: [{ secret: REDACTED }],
    })
  })

  test("bearer tokens and key shapes are scrubbed inside any string", () => {
    expect(redactText("curl -H 'Authorization: Bearer abcdef123456' x")).toBe(
      `curl -H 'Authorization: Bearer ${REDACTED}' x`,
    )
    expect(redactText("key sk-proj-abcdefghijklmnop used")).toBe(`key ${REDACTED} used`)
    expect(redactText("bot 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1 ok")).toBe(`bot ${REDACTED} ok`)
    expect(redactText("nothing secret here")).toBe("nothing secret here")
  })
})
