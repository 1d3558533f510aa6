// The live health dashboard in real Chromium, served by the real Node server with a real monitor: in-distribution
// traffic, then German text the model has never seen, with a token on the service; and on the Worker in workerd,
// where the page shows the HEALTH Durable Object's aggregate.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHARTS } from '../../edge/web/health-history.ts';
import { CHECK_NAMES } from '../../runtime/monitor/types.ts';
import {
  CHROMIUM,
  IN_CI,
  ROOT,
  requireEdgeBuild,
  hasChromium,
  hasWorkerd,
  request,
  startNode,
  startWorkerd,
  type RunningServer,
} from './support.ts';
import { openChromiumPage, type ChromiumPage } from '../helpers/chromium-page.ts';

const HAS_CHROMIUM = hasChromium();
const HAS_WORKERD = hasWorkerd();
/** Where the screenshot for a human look goes (dist/ is not committed). */
const SCREENSHOT = join(ROOT, 'dist/dashboard.png');
const TOKEN = 'dashboard-test-token';
/**
 * Verdicts after 50 texts and 5 requests, so a test's few hundred texts are enough; a latency ceiling no loaded
 * machine reaches, since this test is about what the page shows, not about how fast the server is.
 */
const THRESHOLDS = { minTexts: 50, minRequests: 5, minFeedback: 5, maxP95LatencyMs: 5000 };
/** The page polls every 2 s; a verdict shows within a few polls. */
const SHOWN_WITHIN_MS = 30_000;

/** News texts made like the training corpus (training/shipshape_train/corpus.py), from a seed training never used. */
function inDistributionTexts(count: number): string[] {
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const script =
    'import json, random, sys\n' +
    'from shipshape_train.corpus import make_text\n' +
    'rng = random.Random(8008)\n' +
    'print(json.dumps([make_text(rng.randrange(4), rng) for _ in range(int(sys.argv[1]))]))';
  const out = execFileSync(python, ['-c', script, String(count)], {
    env: { ...process.env, PYTHONPATH: join(ROOT, 'training') },
    encoding: 'utf8',
  });
  return JSON.parse(out) as string[];
}

/** German news sentences: words news-bag's English vocabulary mostly lacks. */
const GERMAN_WORDS = (
  'die Bundesregierung beschließt neue Maßnahmen gegen steigende Energiepreise während Verbraucherschützer ' +
  'warnen dass Haushalte im kommenden Winter deutlich mehr zahlen müssen und Gewerkschaften fordern ' +
  'Entlastungen für Pendler Rentner Studierende sowie kleine Betriebe im ländlichen Raum'
).split(' ');

function germanTexts(count: number): string[] {
  return Array.from({ length: count }, (_, i) =>
    Array.from({ length: 12 }, (_, j) => GERMAN_WORDS[(i * 7 + j * 5) % GERMAN_WORDS.length]).join(' '),
  );
}

async function predict(url: string, texts: readonly string[]): Promise<void> {
  for (let start = 0; start < texts.length; start += 64) {
    const answer = await request(`${url}/v1/predict`, {
      headers: { Authorization: `Bearer ${TOKEN}` },
      json: { texts: texts.slice(start, start + 64) },
    });
    expect(answer.status).toBe(200);
  }
}

// The page's errors are collected from before it loads: the script builds the charts as it starts.
const openDashboard = (url: string): Promise<ChromiumPage> =>
  openChromiumPage(`${url}/dashboard`, { name: 'dashboard', viewport: { width: 1200, height: 900 } });

const text = async (page: Page, selector: string) => (await page.textContent(selector))?.trim();

describe.runIf(HAS_CHROMIUM)('the health dashboard (Chromium, served by the Node server)', () => {
  let server: RunningServer;
  let opened: ChromiumPage;
  beforeAll(async () => {
    requireEdgeBuild();
    server = await startNode({
      SHIPSHAPE_TOKEN: TOKEN,
      SHIPSHAPE_HEALTH_THRESHOLDS: JSON.stringify(THRESHOLDS),
    });
    opened = await openDashboard(server.url);
  });
  afterAll(async () => {
    await opened?.close();
    await server?.close();
  });

  it('says 401 and asks for the token while none is given', async () => {
    const { page } = opened;
    await page.waitForFunction(
      () => document.querySelector('[data-testid="error"]')?.textContent?.includes('401') === true,
      undefined,
      { timeout: SHOWN_WITHIN_MS },
    );
    expect(await text(page, '[data-testid="error"]')).toMatch(
      /^401 UNAUTHORIZED: .*Enter the service's token/,
    );
    expect(await page.getAttribute('[data-testid="status"]', 'data-status')).toBe('error');
  });

  it('shows the model and an ok status once the token is entered, and keeps the token for the tab', async () => {
    const { page } = opened;
    await predict(server.url, inDistributionTexts(400));
    await page.fill('[data-testid="token"]', TOKEN);
    // Leaving the field commits it (a change event), as a person tabbing away does.
    await page.press('[data-testid="token"]', 'Tab');
    await page.waitForSelector('[data-testid="status"][data-status="ok"]', { timeout: SHOWN_WITHIN_MS });
    expect(await text(page, '[data-testid="status-model"]')).toBe('news-bag 1.0.0');
    expect(await text(page, '[data-testid="error"]')).toBe('');
    expect(await page.evaluate(() => sessionStorage.getItem('shipshape.token'))).toBe(TOKEN);
  });

  it('lists every check, with oov_rate ok on in-distribution texts', async () => {
    const { page } = opened;
    await page.waitForSelector('tr[data-check="oov_rate"][data-status="ok"]', { timeout: SHOWN_WITHIN_MS });
    const rows = await page.$$eval('[data-testid="checks"] tbody tr', (trs) =>
      trs.map((tr) => (tr as HTMLElement).dataset.check),
    );
    expect(rows).toEqual([...CHECK_NAMES]);
    expect(await text(page, '[data-testid="alerts"]')).toBe('None.');
  });

  it('turns oov_rate bad and lists its alert after German texts', async () => {
    const { page } = opened;
    await predict(server.url, germanTexts(600));
    await page.waitForSelector('tr[data-check="oov_rate"][data-status="bad"]', { timeout: SHOWN_WITHIN_MS });
    await page.waitForSelector('[data-testid="alerts"] li[data-check="oov_rate"]', {
      timeout: SHOWN_WITHIN_MS,
    });
    expect(await page.getAttribute('[data-testid="status"]', 'data-status')).toMatch(/^(degraded|failing)$/);
    expect(await text(page, 'tr[data-check="oov_rate"] td.num')).toMatch(/^\d+\.\d\d %$/);
    expect(await text(page, '[data-testid="alerts"] li[data-check="oov_rate"]')).toContain('firing since');
  });

  it('draws every chart on a canvas of non-zero size, with its series in the legend', async () => {
    const { page } = opened;
    // Two polls at least, so every line has a segment (throughput needs two readings of the counters).
    await page.waitForFunction(() => Number(document.body.dataset.polls) >= 4, undefined, {
      timeout: SHOWN_WITHIN_MS,
    });
    const charts = await page.$$eval('[data-chart]', (cards) =>
      cards.map((card) => {
        const canvas = card.querySelector('canvas');
        return {
          key: (card as HTMLElement).dataset.chart,
          width: canvas?.width ?? 0,
          height: canvas?.height ?? 0,
          // uPlot's legend: one entry per drawn series (the time axis has none in a legend that is not live).
          legend: [...card.querySelectorAll('.u-legend .u-series .u-label')].map(
            (label) => label.textContent,
          ),
        };
      }),
    );
    expect(charts.map((chart) => chart.key)).toEqual(CHARTS.map((spec) => spec.key));
    for (const chart of charts) {
      const spec = CHARTS.find((candidate) => candidate.key === chart.key);
      expect(chart.width, chart.key).toBeGreaterThan(0);
      expect(chart.height, chart.key).toBeGreaterThan(0);
      expect(chart.legend, chart.key).toEqual(spec?.series.map((series) => series.label));
    }
  });

  it('plots the OOV rate above its ceiling at the last poll', async () => {
    const { page } = opened;
    // The ceiling is drawn from the same report as the check: the last point of both lines.
    const last = await page.$$eval('tr[data-check="oov_rate"] td.num', (cells) =>
      cells.map((cell) => cell.textContent),
    );
    const [value, threshold] = last.map((cell) => Number(/[\d.]+/.exec(cell ?? '')?.[0]));
    expect(value).toBeGreaterThan(threshold ?? Infinity);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(opened.pageErrors).toEqual([]);
  });
});

describe.runIf(HAS_CHROMIUM)('the health dashboard of a failing service (Chromium, Node server)', () => {
  let server: RunningServer;
  let opened: ChromiumPage;
  beforeAll(async () => {
    requireEdgeBuild();
    // A p95 ceiling of 1 µs: every real request is over it, so p95_latency (critical) fails and /v1/health
    // answers 503 with the report.
    server = await startNode({
      SHIPSHAPE_HEALTH_THRESHOLDS: JSON.stringify({ minRequests: 5, maxP95LatencyMs: 0.001 }),
    });
    for (let i = 0; i < 5; i++) {
      await request(`${server.url}/v1/predict`, { json: { texts: inDistributionTexts(4) } });
    }
    opened = await openDashboard(server.url);
  });
  afterAll(async () => {
    await opened?.close();
    await server?.close();
  });

  it('shows the 503 report as failing, with its critical alert, rather than as an error', async () => {
    const { page } = opened;
    expect((await request(`${server.url}/v1/health`)).status).toBe(503);
    await page.waitForSelector('[data-testid="status"][data-status="failing"]', { timeout: SHOWN_WITHIN_MS });
    await page.waitForSelector('[data-testid="alerts"] li[data-check="p95_latency"]', {
      timeout: SHOWN_WITHIN_MS,
    });
    expect(await text(page, '[data-testid="status-word"]')).toBe('failing');
    expect(await text(page, '[data-testid="alerts"] li[data-check="p95_latency"] .severity-critical')).toBe(
      'critical',
    );
    expect(await text(page, '[data-testid="error"]')).toBe('');
    expect(opened.pageErrors).toEqual([]);
  });
});

describe.runIf(HAS_WORKERD)('the health dashboard on the Worker', () => {
  let server: RunningServer;
  beforeAll(async () => {
    requireEdgeBuild();
    server = await startWorkerd({ SHIPSHAPE_HEALTH_THRESHOLDS: JSON.stringify(THRESHOLDS) });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('serves the page at /dashboard from the static assets', async () => {
    const response = await fetch(`${server.url}/dashboard`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await response.text()).toContain('<title>shipshape · live health</title>');
  });

  it("serves the page's script and styles", async () => {
    for (const path of ['/app/dashboard.js', '/app/dashboard.css']) {
      expect((await fetch(`${server.url}${path}`)).status, path).toBe(200);
    }
  });

  describe.runIf(HAS_CHROMIUM)('in Chromium', () => {
    let opened: ChromiumPage;
    beforeAll(async () => {
      opened = await openDashboard(server.url);
    });
    afterAll(async () => {
      await opened?.close();
    });

    it('shows the aggregate of every isolate, with oov_rate bad after German texts', async () => {
      const { page } = opened;
      const german = germanTexts(600);
      for (let start = 0; start < german.length; start += 64) {
        const texts = german.slice(start, start + 64);
        expect((await request(`${server.url}/v1/predict`, { json: { texts } })).status).toBe(200);
      }
      await page.waitForSelector('tr[data-check="oov_rate"][data-status="bad"]', {
        timeout: SHOWN_WITHIN_MS,
      });
      expect(await text(page, '[data-testid="status-model"]')).toBe('news-bag 1.0.0');
      expect(await text(page, '[data-testid="status-scope"]')).toBe('all isolates');
      await page.waitForSelector('[data-testid="alerts"] li[data-check="oov_rate"]', {
        timeout: SHOWN_WITHIN_MS,
      });
      expect(opened.pageErrors).toEqual([]);
    });
  });
});

describe.runIf(IN_CI && !(HAS_CHROMIUM && HAS_WORKERD))('the health dashboard without its components', () => {
  it('fails in CI because Chromium or workerd is missing', () => {
    throw new Error(`Chromium (${CHROMIUM}) or workerd is missing; install chromium and run npm ci.`);
  });
});
