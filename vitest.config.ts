// The test tiers: `fast` (unit tests and in-process app.request() tests, `npm run test:fast`) and `slow` (files named
// *.slow.test.ts: workerd, Chromium, child processes, memory, re-measurement). `npm test` runs both.
import { defineConfig } from 'vitest/config';

const SLOW = 'test/**/*.slow.test.ts';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: { name: 'fast', include: ['test/**/*.test.ts'], exclude: [SLOW], isolate: false },
      },
      {
        extends: true,
        // The Worker and the demo page, built once before any slow file starts (test/edge/edge-build.ts).
        test: { name: 'slow', include: [SLOW], globalSetup: ['test/edge/edge-build.ts'] },
      },
    ],
  },
});
