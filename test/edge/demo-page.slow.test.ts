// The demo page in real Chromium, served by the Worker in real workerd: the browser runtime on WebGPU (SwiftShader)
// or WASM, next to the edge API.
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHROMIUM,
  IN_CI,
  ROOT,
  requireEdgeBuild,
  hasChromium,
  hasWorkerd,
  startWorkerd,
  type RunningServer,
} from './support.ts';
import { openChromiumPage, type ChromiumPage } from '../helpers/chromium-page.ts';

const HAS_CHROMIUM = hasChromium();
const HAS_WORKERD = hasWorkerd();
/** Where the screenshot for a human look goes (dist/ is not committed). */
const SCREENSHOT = join(ROOT, 'dist/demo-page.png');
const SPORTS = 'The striker scored twice and the champions won the derby in extra time';

async function openPage(url: string, args: readonly string[]): Promise<ChromiumPage> {
  const opened = await openChromiumPage(`${url}/`, {
    name: 'demo',
    viewport: { width: 1100, height: 860 },
    args,
  });
  // The page marks itself once the browser predictor started; WebGPU on SwiftShader takes a few seconds.
  await opened.page
    .waitForSelector('body[data-browser-ready="true"]', { timeout: 90_000 })
    .catch(async (error: unknown) => {
      await opened.close();
      throw new Error(
        `the demo page never got ready (page errors: ${opened.pageErrors.join('; ') || 'none'}): ${String(error)}`,
      );
    });
  return opened;
}

async function typeAndRead(page: Page, text: string) {
  await page.fill('#text', '');
  await page.type('#text', text, { delay: 2 });
  // The prediction follows the last keystroke after a short debounce.
  await page.waitForFunction(
    () => document.querySelector('[data-testid="browser-label"]')?.textContent === 'Sports',
    undefined,
    {
      timeout: 30_000,
    },
  );
  return {
    label: await page.textContent('[data-testid="browser-label"]'),
    backend: await page.textContent('[data-testid="browser-backend"]'),
    latency: await page.textContent('[data-testid="browser-latency"]'),
    scores: await page.locator('[data-testid="browser-scores"] li').count(),
  };
}

describe.runIf(HAS_CHROMIUM && HAS_WORKERD)('the demo page (Chromium, served by the Worker)', () => {
  let server: RunningServer;
  beforeAll(async () => {
    requireEdgeBuild();
    server = await startWorkerd();
  });
  afterAll(async () => {
    await server?.close();
  });

  describe('with WebGPU (--enable-unsafe-webgpu: SwiftShader)', () => {
    let opened: ChromiumPage;
    beforeAll(async () => {
      opened = await openPage(server.url, ['--enable-unsafe-webgpu']);
    });
    afterAll(async () => {
      await opened?.close();
    });

    it('classifies typed text in the browser on webgpu and shows label, scores, backend and latency', async () => {
      const shown = await typeAndRead(opened.page, SPORTS);
      expect(shown).toMatchObject({ label: 'Sports', backend: 'webgpu', scores: 4 });
      expect(shown.latency).toMatch(/^\d+\.\d ms$/);
    });

    it('shows the edge API answer next to it when asked', async () => {
      const { page } = opened;
      await page.click('[data-testid="ask-edge"]');
      await page.waitForFunction(
        () => document.querySelector('[data-testid="edge-backend"]')?.textContent === 'wasm',
        undefined,
        {
          timeout: 30_000,
        },
      );
      expect(await page.textContent('[data-testid="edge-label"]')).toBe('Sports');
      expect(await page.textContent('[data-testid="edge-model"]')).toBe('news-bag 1.0.0');
      expect(await page.textContent('[data-testid="edge-latency"]')).toMatch(/^\d+\.\d ms round trip$/);
      expect(await page.locator('[data-testid="edge-scores"] li').count()).toBe(4);
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    });
  });

  describe('without WebGPU (no adapter)', () => {
    let opened: ChromiumPage;
    beforeAll(async () => {
      opened = await openPage(server.url, []);
    });
    afterAll(async () => {
      await opened?.close();
    });

    it('falls back to wasm, says why, and still classifies typed text', async () => {
      const shown = await typeAndRead(opened.page, SPORTS);
      expect(shown).toMatchObject({ label: 'Sports', backend: 'wasm', scores: 4 });
      expect(await opened.page.textContent('[data-testid="browser-note"]')).toContain('webgpu skipped');
    });
  });
});

describe.runIf(IN_CI && !(HAS_CHROMIUM && HAS_WORKERD))('the demo page without its components', () => {
  it('fails in CI because Chromium or workerd is missing', () => {
    throw new Error(`Chromium (${CHROMIUM}) or workerd is missing; install chromium and run npm ci.`);
  });
});
