/**
 * The Slack channel as the channel registry sees it (src/channels/registry.ts): one app per `channels`
 * entry of kind "slack", its schedule delivery, and `drost setup`'s live check (auth.test).
 */
import { WebClient } from "@slack/web-api"
import type { SlackConfig } from "../../core/slack-config.ts"
import type { ChannelDefinition, LiveCheck } from "../contract.ts"
import { createSlackChannel, DEFAULT_API_URL, registerSlackDelivery, slackProblem } from "./channel.ts"
import { resolveSlackTokens } from "./token.ts"

/** Both tokens, live: auth.test with the bot token, apps.connections.open with the app token (the URL is not used). */
export async function checkSlack(
  config: Pick<SlackConfig, "appToken" | "appTokenEnv" | "botToken" | "botTokenEnv" | "authProfile" | "apiUrl">,
  stateDir: string,
): Promise<LiveCheck> {
  const tokens = resolveSlackTokens(config, stateDir)
  if (!tokens.ok) return { ok: false, problem: tokens.problem }
  const options = { slackApiUrl: config.apiUrl ?? DEFAULT_API_URL, retryConfig: { retries: 0 } }
  try {
    const me = await new WebClient(tokens.botToken, options).auth.test()
    try {
      await new WebClient(tokens.appToken, options).apps.connections.open({})
    } catch (error) {
      return { ok: false, problem: slackProblem(error, "the app-level token").problem }
    }
    return { ok: true, identity: `@${me.user} in ${me.team} (${me.team_id}), Socket Mode ready` }
  } catch (error) {
    return { ok: false, problem: slackProblem(error, "the bot token").problem }
  }
}

export const slack: ChannelDefinition<SlackConfig> = {
  kind: "slack",
  create: (gw, config, component) => createSlackChannel(gw, config, component),
  registerDelivery: registerSlackDelivery,
  check: checkSlack,
}
