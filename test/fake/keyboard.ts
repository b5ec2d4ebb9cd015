/**
 * Inline keyboards as the Bot API checks them, for the fake: `reply_markup` arrives as an object (JSON
 * bodies) or a JSON string (form bodies); it must be `{ inline_keyboard: InlineKeyboardButton[][] }`,
 * each button a non-empty `text` plus exactly one action, and `callback_data` 1-64 bytes. The error
 * texts are Telegram's.
 */

export interface Button {
  text: string
  callback_data?: string
  url?: string
}

export interface Keyboard {
  inline_keyboard: Button[][]
}

/** One answerCallbackQuery, as the fake received it. */
export interface Answer {
  id: string
  text: string | undefined
  showAlert: boolean
}

const ACTIONS = [
  "url",
  "callback_data",
  "web_app",
  "login_url",
  "switch_inline_query",
  "switch_inline_query_current_chat",
  "switch_inline_query_chosen_chat",
  "copy_text",
  "callback_game",
  "pay",
]

const bad = (description: string) => ({ ok: false as const, description: `Bad Request: ${description}` })

export function checkMarkup(
  raw: unknown,
): { ok: true; keyboard: Keyboard | null } | { ok: false; description: string } {
  if (raw === undefined) return { ok: true, keyboard: null }
  let value = raw
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw)
    } catch {
      return bad("can't parse reply keyboard markup JSON object")
    }
  }
  if (!value || typeof value !== "object" || Array.isArray(value))
    return bad("can't parse reply keyboard markup JSON object")
  const rows = (value as { inline_keyboard?: unknown }).inline_keyboard
  if (rows === undefined) return bad("only inline keyboards are supported by this fake (reply_markup.inline_keyboard)")
  if (!Array.isArray(rows) || !rows.every(Array.isArray))
    return bad('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays')
  let count = 0
  for (const row of rows as unknown[][]) {
    for (const button of row) {
      count++
      if (!button || typeof button !== "object" || Array.isArray(button))
        return bad("can't parse inline keyboard button: InlineKeyboardButton should be an Object")
      const fields = button as Record<string, unknown>
      if (typeof fields.text !== "string")
        return bad('can\'t parse inline keyboard button: Field "text" must be of type String')
      if (!fields.text.trim()) return bad("BUTTON_TEXT_INVALID")
      const actions = ACTIONS.filter((key) => fields[key] !== undefined)
      if (actions.length === 0)
        return bad("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
      if (actions.length > 1)
        return bad("can't parse inline keyboard button: only one of the optional fields must be used")
      if (fields.callback_data !== undefined) {
        const data = fields.callback_data
        if (typeof data !== "string" || data.length === 0 || new TextEncoder().encode(data).length > 64)
          return bad("BUTTON_DATA_INVALID")
      }
      if (fields.url !== undefined && (typeof fields.url !== "string" || !/^(https?|tg):\/\//.test(fields.url)))
        return bad("BUTTON_URL_INVALID")
    }
  }
  if (count > 100) return bad("reply markup is too long")
  // An empty keyboard is how a bot removes one.
  return { ok: true, keyboard: count === 0 ? null : (value as Keyboard) }
}
