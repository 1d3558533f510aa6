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
        test: { name: 'slow', include: [SLOW] },
      },
    ],
  },
});
