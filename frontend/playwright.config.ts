import { defineConfig, devices } from "@playwright/test";

// The real service (uvicorn, the built app in dist/), on the scripted story model at a
// realistic token rate, with a fresh SQLite database per run: see e2e/serve.sh.
const port = Number(process.env.STORYSTREAM_E2E_PORT ?? 8765);
const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: "e2e",
  outputDir: "test-results",
  // One service, one story model slot at a time on a small machine: tests run in order.
  workers: 1,
  fullyParallel: false,
  timeout: 120_000,
  expect: { timeout: 20_000 },
  reporter: [["list"]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--no-sandbox"],
    },
  },
  projects: [
    { name: "tablet", use: { ...devices["Desktop Chrome"], viewport: { width: 1024, height: 768 } } },
  ],
  webServer: {
    // Built first, so the suite always tests the current source.
    command: `npm run --silent build >/dev/null && sh e2e/serve.sh ${port}`,
    url: `${baseURL}/healthz`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "ignore",
    // The service logs at INFO; run `sh e2e/serve.sh 8765` to see them.
    stderr: "ignore",
  },
});
