/**
 * The chat's slash commands over the Control API: `drost chat` (and any client) runs `/status`,
 * `/tools`, `/session <id>` … through the same registry as the terminal chat and Telegram, and gets
 * the same text back, so every surface shows the same answer. The client keeps its current session:
 * it sends it with each command and takes the one the command leaves current (after /new, /session).
 */
import { Elysia, t } from "elysia"
import { dispatch } from "../gateway/commands.ts"
import type { Gateway } from "../gateway/gateway.ts"
import { described, problem } from "./schemas.ts"

const CommandResult = t.Object(
  {
    text: t.String({ description: "The answer, plain text, as the terminal chat prints it" }),
    listing: t.Boolean({ description: "A listing in columns: show it in a fixed-width font, lines kept" }),
    quit: t.Boolean({ description: "The command asks the client to leave the chat (/quit)" }),
    sessionId: t.Union([t.String(), t.Null()], {
      description: "The current session after the command (changed by /new and /session)",
    }),
  },
  {
    examples: [
      {
        text: "switched to ses_01HZX3 (12 messages)",
        listing: false,
        quit: false,
        sessionId: "ses_01HZX3",
      },
    ],
  },
)

export function commandRoutes(gw: Gateway) {
  return new Elysia({ prefix: "/control/v1" }).post(
    "/commands",
    async ({ body, status }) => {
      const sessionId = body.sessionId ?? null
      if (sessionId && !(await gw.data.sessions.get(sessionId)))
        return status(404, { error: "NotFound", message: `unknown session "${sessionId}"` })
      let current = sessionId
      const reply = await dispatch(
        gw,
        { channel: body.channel ?? "api", sessionId, setSession: (id) => (current = id), width: body.width },
        body.line,
      )
      if (!reply)
        return status(400, {
          error: "NotACommand",
          message: `"${body.line.slice(0, 40)}" is not a slash command; send messages with POST /control/v1/sessions/{id}/turn`,
        })
      return { text: reply.text, listing: reply.listing === true, quit: reply.quit === true, sessionId: current }
    },
    {
      body: t.Object(
        {
          line: t.String({ minLength: 1, maxLength: 100_000, description: "The command as typed, e.g. /tools" }),
          sessionId: t.Optional(t.Union([t.String({ maxLength: 200 }), t.Null()], { description: "Current session" })),
          channel: t.Optional(
            t.String({
              pattern: "^[a-z][a-z0-9-]{0,31}$",
              description: "Channel the command comes from (sessions /new creates get it; default api)",
            }),
          ),
          width: t.Optional(
            t.Integer({ minimum: 20, maximum: 1000, description: "Columns a listing may use (default 100)" }),
          ),
        },
        // The first example is what Swagger UI's Execute sends: one that works on any gateway.
        {
          examples: [
            { line: "/help" },
            { line: "/session ses_01HZX3", sessionId: "ses_01HZX0", channel: "terminal", width: 100 },
          ],
        },
      ),
      response: {
        200: described(CommandResult, "The command's answer"),
        400: problem("Not a slash command (NotACommand), or an invalid body (`fields`)"),
        404: problem("Unknown session (`sessionId`)"),
      },
      detail: {
        operationId: "runCommand",
        tags: ["sessions"],
        summary: "Run a chat slash command",
        description:
          "Runs one of the chat commands (/help lists them) for a session, exactly as the terminal chat and Telegram do, and returns its text. The admin token is needed: commands can switch providers, run tools and restart the gateway. `sessionId` in the answer is the session current after the command.",
      },
    },
  )
}
