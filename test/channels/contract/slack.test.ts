/** Slack passes the channel contract suite against the loopback fake of Socket Mode and the Web API (test/fake/slack.ts). */
import { slack } from "./slack-adapter.ts"
import { contractSuite } from "./suite.ts"

contractSuite(slack)
