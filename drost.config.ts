import { defineConfig } from "drost"

// The repository's own workspace runs on the offline demo provider, so `npm start` works with no key.
// Add real providers here (see docs/providers.md); the first profile is the default.
export default defineConfig({
  workspaceDir: ".",
  providers: {
    defaultSessionProvider: "demo",
    profiles: [{ id: "demo", kind: "demo" }],
  },
  controlApi: { port: 7420 },
})
