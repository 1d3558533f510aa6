// CI's path end to end: `shipshape baseline record` builds a history of 3 runs, and `shipshape gate --remeasure 1`
// (a real child process) judges a real run of one tiny scenario against it and re-measures it for real. A history
// of a faster past cannot be caused on demand, so scaled copies of the real run stand in for its runs.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReport, type Report } from '../../bench/report.ts';
import { shipshape } from '../helpers/cli.ts';
import { scaleTimings } from './fixtures.ts';

const ROOT = join(import.meta.dirname, '../..');
const SCENARIO = 'in-process/news-bag/native/b1';

describe('shipshape gate against a baseline history, with --remeasure 1', () => {
  let dir: string;
  let report: string;
  let bench: { code: number | null; stdout: string; stderr: string };
  const run = (args: string[]) => shipshape(args, '', { CI: '1' });

  /** Records scaled copies of the run, one a day, into `name` (a history of 3). */
  function historyOf(name: string, factors: readonly number[]): string {
    const real = parseReport(JSON.parse(readFileSync(report, 'utf8')), report);
    const history = join(dir, name);
    factors.forEach((factor, i) => {
      const copy: Report = { ...scaleTimings(real, factor), createdAt: `2026-12-0${i + 1}T06:00:00.000Z` };
      const path = join(dir, `${name}-run-${i}.json`);
      writeFileSync(path, JSON.stringify(copy));
      const recorded = run([
        'baseline',
        'record',
        '--report',
        path,
        '--history',
        history,
        '--latest',
        join(dir, `${name}-latest.json`),
      ]);
      expect(recorded.code, recorded.stderr).toBe(0);
    });
    return history;
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'shipshape-history-gate-'));
    writeFileSync(
      join(dir, 'bench.config.json'),
      JSON.stringify({
        bundles: [join(ROOT, 'artifacts/news-bag')],
        stability: { windows: 2, tolerancePct: 10_000, maxTrials: 2 },
        inProcess: {
          backends: ['native'],
          batchSizes: [1],
          windowMs: 100,
          minSamplesPerWindow: 30,
          warmupMs: 50,
          maxWarmupMs: 200,
        },
        coldStart: { enabled: false },
        http: { enabled: false },
        browser: { enabled: false },
      }),
    );
    report = join(dir, 'report.json');
    bench = run([
      'bench',
      '--config',
      join(dir, 'bench.config.json'),
      '--scenario',
      SCENARIO,
      '--no-charts',
      '--out',
      report,
    ]);
    // The SLA's limits far above any machine's; the regression policy is bench/sla.json's defaults.
    writeFileSync(
      join(dir, 'sla.json'),
      JSON.stringify({ schemaVersion: 1, scenarios: [{ match: 'in-process/**', maxP95Ms: 60_000 }] }),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const gate = (history: string) =>
    run([
      'gate',
      '--report',
      report,
      '--baseline',
      history,
      '--sla',
      join(dir, 'sla.json'),
      '--remeasure',
      '1',
    ]);

  it('measures the one scenario', () => {
    expect(bench.code, bench.stderr).toBe(0);
  });

  it('fails a run 1,000 times slower than its history of 3 runs when the re-measurement reproduces it', () => {
    const result = gate(historyOf('faster-past.json', [0.001, 0.0011, 0.0009]));
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stderr).toContain(
      `gate: re-measuring 1 scenario(s) with a failing check (round 1 of 1): ${SCENARIO}\n`,
    );
    expect(result.stdout).toMatch(
      /\| \*\*FAIL\*\* \| `in-process\/news-bag\/native\/b1` \| p95 latency vs baseline \| [^|]+\| [^|]+\| reproduced in 1 re-measurement\(s\) [^|]*; regression: history of 3 runs: centre [^|]*; CPU per request \+[\d.]+% vs its history \(beyond 25%/,
    );
  });

  it('passes a run inside its history of 3 runs of the same speed, judging it by the history', () => {
    const result = gate(historyOf('same-speed.json', [1, 1.05, 0.95]));
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^## shipshape gate: PASS\n/);
    expect(result.stdout).toContain("Regressions are judged against the baseline history's 3 runs");
  });
});
