// A page in real headless Chromium with a profile of its own, for the tests of the pages the edge serves.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../bench/browser/chromium.ts';

export interface ChromiumPage {
  readonly context: BrowserContext;
  readonly page: Page;
  /** The page's uncaught errors, collected from before it loaded. */
  readonly pageErrors: string[];
  /** Ends Chromium and removes its profile. */
  close(): Promise<void>;
}

/**
 * Opens `url` in Chromium at `CHROMIUM_PATH` with the bench's `CHROMIUM_ARGS` plus `args`, in a fresh profile
 * under the temp directory (named after `name`). Resolves once the page has loaded; the caller waits for what it needs.
 */
export async function openChromiumPage(
  url: string,
  options: {
    readonly name: string;
    readonly viewport: { readonly width: number; readonly height: number };
    readonly args?: readonly string[];
  },
): Promise<ChromiumPage> {
  const profile = mkdtempSync(join(tmpdir(), `shipshape-${options.name}-`));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
    viewport: { ...options.viewport },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: string[] = [];
  // Before the page loads: a script that fails as it starts fails the page too.
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(url);
  return {
    context,
    page,
    pageErrors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
