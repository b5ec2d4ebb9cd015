// Runs before any test file: a hermetic environment. No provider keys, no stray control tokens, no
// colours, and a private temp root for everything the tests write.
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

process.env.DROST_TEST_ROOT = mkdtempSync(join(tmpdir(), "drost-test-"))
process.env.NO_COLOR = "1"
process.env.DROST_LOG_LEVEL ??= "warn"
for (const key of [
  "OPENAI_API_KEY",
  "ANTHROPIC_API_KEY",
  "ANTHROPIC_AUTH_TOKEN",
  "ANTHROPIC_BASE_URL",
  "OPENAI_BASE_URL",
  "XAI_API_KEY",
  "TELEGRAM_BOT_TOKEN",
  "DROST_CONTROL_ADMIN_TOKEN",
  "DROST_CONTROL_READ_TOKEN",
  "DROST_WORKSPACE",
  "DROST_DB",
])
  delete process.env[key]
