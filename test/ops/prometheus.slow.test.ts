// The real-Prometheus check: Debian's prometheus scrapes `shipshape serve` on loopback every second with the rules
// `shipshape alerts` generates; its p95 must agree with the monitor's own, and the OOV alert must fire on drifted
// traffic. Slow (about a minute): it waits for real scrapes and rule evaluations.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { slaLatencyMs } from '../../cli/commands/serve.ts';
import { createAlertRules } from '../../ops/alerts/rules.ts';
import { manifestSchema } from '../../runtime/bundle/manifest.ts';
import { defaultThresholds, LATENCY_BOUNDS_MS } from '../../runtime/monitor/index.ts';
import type { HealthReport } from '../../runtime/monitor/types.ts';
import { bundleDir, ROOT } from '../helpers/bundle-copy.ts';
import { startServe, type ServeProcess } from '../helpers/cli.ts';

const PROMETHEUS = '/usr/bin/prometheus';
/** Lowered so the monitor gives verdicts on this test's few hundred requests and texts. */
const TEST_THRESHOLDS = { minRequests: 10, minTexts: 100 };
const P95_QUERY =
  'histogram_quantile(0.95, sum by (le) (rate(shipshape_http_request_duration_seconds_bucket{route="/v1/predict"}[1m])))';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` every 250 ms until it returns a value, or throws after `ms` naming what it waited for. */
async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${ms} ms waiting for ${what} (${String(last)})`);
    await sleep(250);
  }
}

interface PromVector {
  readonly status: string;
  readonly data: { readonly result: readonly { metric: Record<string, string>; value: [number, string] }[] };
}

/** The bucket of `LATENCY_BOUNDS_MS` a latency falls in (the index of the first bound at or above it). */
function bucketOf(ms: number): number {
  const i = LATENCY_BOUNDS_MS.findIndex((bound) => ms <= bound);
  return i === -1 ? LATENCY_BOUNDS_MS.length : i;
}

/** In-distribution texts: the test-split cases of the bundle's parity file. */
function parityTexts(): string[] {
  return readFileSync(join(bundleDir('news-bag'), 'parity.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { tags: string[]; text: string })
    .filter((c) => c.tags.includes('test-split') && c.text.trim() !== '')
    .map((c) => c.text);
}

/** Texts of made-up words, none of them in any vocabulary: the unknown-token rate goes to 1. */
function gibberish(count: number): string[] {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const word = () =>
    Array.from({ length: 5 + Math.floor(next() * 5) }, () => 'qxzjvkwy'[Math.floor(next() * 8)]).join('');
  return Array.from({ length: count }, () => Array.from({ length: 12 }, word).join(' '));
}

describe('real Prometheus against shipshape serve', () => {
  const work = mkdtempSync(join(tmpdir(), 'shipshape-prometheus-'));
  let serve: ServeProcess | undefined;
  let prometheus: ChildProcess | undefined;
  let prometheusLog = '';
  let promUrl = '';
  let requestsSent = 0;
  let p95: { prometheusMs: number; monitorMs: number; requests: number } | undefined;
  let oovAlert: PromVector['data']['result'] = [];
  let sloAlerts: PromVector['data']['result'] = [];
  let ratios: { errors: PromVector['data']['result']; slow: PromVector['data']['result'] } | undefined;
  let beforeDrift: { alerts: PromVector['data']['result']; texts: number } | undefined;

  const query = async (expr: string): Promise<PromVector['data']['result']> => {
    const response = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await response.json()) as PromVector;
    if (body.status !== 'success') throw new Error(`query ${expr}: ${JSON.stringify(body)}`);
    return body.data.result;
  };

  const predict = async (texts: readonly string[]) => {
    const response = await fetch(`${serve!.url}/v1/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ texts }),
    });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`/v1/predict answered ${response.status}`);
    requestsSent++;
  };

  /** Resolves once Prometheus has scraped every request sent so far. */
  const scrapedAll = () =>
    waitFor(`Prometheus to scrape ${requestsSent} requests`, 15_000, async () => {
      const [sample] = await query('sum(shipshape_http_request_duration_seconds_count{route="/v1/predict"})');
      return sample !== undefined && Number(sample.value[1]) === requestsSent ? true : undefined;
    });

  beforeAll(async () => {
    if (!existsSync(PROMETHEUS)) {
      throw new Error(
        `${PROMETHEUS} is missing: install Debian's prometheus package (apt-get install prometheus).`,
      );
    }
    // The rules as `shipshape alerts` writes them, with every `for:` at 1 s: this check cannot wait 10 minutes
    // (the promtool unit tests prove the rules with their real `for:`).
    const manifest = manifestSchema.parse(
      JSON.parse(readFileSync(join(bundleDir('news-bag'), 'manifest.json'), 'utf8')),
    );
    const maxP95LatencyMs = await slaLatencyMs(join(ROOT, 'bench/sla.json'));
    const rules = createAlertRules({
      manifest,
      thresholds: {
        ...defaultThresholds(manifest, maxP95LatencyMs === undefined ? {} : { maxP95LatencyMs }),
      },
      pendingFor: '1s',
    });
    writeFileSync(join(work, 'shipshape.rules.yml'), stringify(rules.rules, { lineWidth: 0 }));

    serve = await startServe(['--bundle', 'artifacts/news-bag'], {
      SHIPSHAPE_METRICS_PUBLIC: '1',
      SHIPSHAPE_HEALTH_THRESHOLDS: JSON.stringify(TEST_THRESHOLDS),
      SHIPSHAPE_ACCESS_LOG: 'off',
    });
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    writeFileSync(
      join(work, 'prometheus.yml'),
      stringify({
        global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
        rule_files: [join(work, 'shipshape.rules.yml')],
        scrape_configs: [{ job_name: 'shipshape', static_configs: [{ targets: [new URL(serve.url).host] }] }],
      }),
    );
    // `timeout` kills Prometheus even if this test process dies before afterAll runs.
    prometheus = spawn(
      'timeout',
      [
        '--signal=KILL',
        '300',
        PROMETHEUS,
        `--config.file=${join(work, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(work, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout?.on('data', (chunk: Buffer) => (prometheusLog += chunk.toString()));
    prometheus.stderr?.on('data', (chunk: Buffer) => (prometheusLog += chunk.toString()));
    await waitFor('Prometheus to be ready', 30_000, async () =>
      (await fetch(`${promUrl}/-/ready`)).ok ? true : undefined,
    );

    // One request, scraped before the measured traffic: the histogram series then exist in Prometheus with the
    // counts they start from, so rate() over the window counts every later request.
    await predict(['The striker scored twice in the final']);
    await scrapedAll();

    const texts = parityTexts();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < texts.length; i += 4) await predict(texts.slice(i, i + 4));
      for (const text of texts.slice(0, 60)) await predict([text]);
    }
    await scrapedAll();
    const health = (await (await fetch(`${serve.url}/v1/health`)).json()) as HealthReport;
    const [sample] = await query(P95_QUERY);
    const measured = {
      prometheusMs: Number(sample?.value[1]) * 1000,
      monitorMs: health.checks.p95_latency.value ?? NaN,
      requests: requestsSent,
    };
    p95 = measured;

    await sleep(2500); // two rule evaluations over every scraped request
    const [texts30m] = await query('sum(increase(shipshape_texts_total[30m]))');
    beforeDrift = {
      alerts: await query('ALERTS{alertname="ShipshapeOovRateHigh"}'),
      texts: Number(texts30m?.value[1]),
    };

    const drifted = gibberish(640);
    for (let i = 0; i < drifted.length; i += 32) await predict(drifted.slice(i, i + 32));
    const sentAt = Date.now();
    oovAlert = await waitFor('ShipshapeOovRateHigh to fire', 30_000, async () => {
      const firing = await query('ALERTS{alertname="ShipshapeOovRateHigh",alertstate="firing"}');
      return firing.length > 0 ? firing : undefined;
    });
    sloAlerts = await query('ALERTS{slo!=""}');
    ratios = {
      errors: await query('shipshape:inference_errors:ratio_rate5m'),
      slow: await query('shipshape:inference_slow:ratio_rate5m'),
    };
    const [oovRate] = await query(
      'sum(rate(shipshape_unknown_tokens_total[30m])) / sum(rate(shipshape_tokens_total[30m]))',
    );
    // Figures for the README, not assertions: timings on shared cores vary.
    console.info(
      `prometheus p95 ${measured.prometheusMs.toFixed(2)} ms, monitor p95 ${measured.monitorMs.toFixed(2)} ms over ` +
        `${measured.requests} requests; OOV rate ${Number(oovRate?.value[1]).toFixed(4)} after ` +
        `${drifted.length} drifted texts, ShipshapeOovRateHigh firing ${Date.now() - sentAt} ms after the last one`,
    );
  }, 150_000);

  afterAll(async () => {
    const stopped = serve?.stop();
    if (prometheus !== undefined && prometheus.exitCode === null && prometheus.signalCode === null) {
      const exited = new Promise((resolve) => prometheus!.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000).then(() => prometheus!.kill('SIGKILL'))]);
    }
    await stopped;
    rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it("gives a p95 from Prometheus's histogram_quantile within one latency bucket of the monitor's own", () => {
    expect(p95, prometheusLog).toBeDefined();
    const { prometheusMs, monitorMs } = p95!;
    expect(Number.isFinite(prometheusMs) && Number.isFinite(monitorMs), JSON.stringify(p95)).toBe(true);
    expect(Math.abs(bucketOf(prometheusMs) - bucketOf(monitorMs)), JSON.stringify(p95)).toBeLessThanOrEqual(
      1,
    );
  });

  it('keeps the OOV alert quiet on in-distribution traffic past the minimum of 500 texts', () => {
    expect(beforeDrift?.texts).toBeGreaterThanOrEqual(500);
    expect(beforeDrift?.alerts).toEqual([]);
  });

  it('records the SLO ratios from the live metrics: no 5xx, and (almost) no request over the SLA line', () => {
    expect(ratios?.errors.map((r) => [r.metric.job, r.value[1]])).toEqual([['shipshape', '0']]);
    expect(ratios?.slow.map((r) => r.metric.job)).toEqual(['shipshape']);
    expect(Number(ratios?.slow[0]?.value[1])).toBeLessThan(0.05);
  });

  it('keeps every SLO burn-rate alert quiet on a service that answers every request fast and without error', () => {
    expect(sloAlerts).toEqual([]);
  });

  it('fires the OOV alert, with its labels, once drifted traffic arrives', () => {
    expect(oovAlert).toHaveLength(1);
    expect(oovAlert[0]!.metric).toMatchObject({
      alertname: 'ShipshapeOovRateHigh',
      alertstate: 'firing',
      job: 'shipshape',
      model: 'news-bag',
      severity: 'ticket',
      check: 'oov_rate',
    });
  });
});
