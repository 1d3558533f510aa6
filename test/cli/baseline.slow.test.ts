// `shipshape baseline record/show/trend` and `shipshape bench --baseline` with a history, as child processes.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBaselineHistory, type BaselineHistory } from '../../bench/baseline-history.ts';
import { shipshape, type CliResult } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'shipshape-baseline-'));
// The runs are recorded oldest first (a history refuses a run older than its newest): a copy of the CI report dated
// that morning, then the two recorded reports.
const morning = join(dir, 'morning.json');
writeFileSync(
  morning,
  JSON.stringify({
    ...(JSON.parse(readFileSync('test/fixtures/reports/ci-quick.json', 'utf8')) as object),
    createdAt: '2026-12-03T06:00:00.000Z',
  }),
);
const REPORTS = [
  morning,
  'test/fixtures/reports/ci-quick.json',
  'test/fixtures/reports/quick-http-capacity.json',
];
const history = join(dir, 'history.json');
const latest = join(dir, 'latest.json');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('shipshape baseline', () => {
  const records: CliResult[] = [];
  let recorded: BaselineHistory;
  beforeAll(async () => {
    for (const report of REPORTS) {
      records.push(
        shipshape([
          'baseline',
          'record',
          '--report',
          report,
          '--history',
          history,
          '--keep',
          '2',
          '--latest',
          latest,
        ]),
      );
    }
    recorded = await readBaselineHistory(history);
  });

  it('records each report with exit 0 and says how many runs the history holds', () => {
    expect(records.map((r) => r.code)).toEqual([0, 0, 0]);
    expect(records[2]?.stderr).toContain('into ' + history + ': 2 run(s), dropped the oldest 1');
  });

  it('keeps the newest two runs with their source and machine', () => {
    expect(recorded.runs.map((r) => r.source)).toEqual(REPORTS.slice(1));
    expect(recorded.runs.map((r) => r.machine.loadAverage)).toEqual([
      [2.13, 2, 2.1],
      [6.97, 5.82, 3.87],
    ]);
  });

  it('copies the last report to --latest', () => {
    expect(readFileSync(latest, 'utf8')).toBe(readFileSync(REPORTS[2]!, 'utf8'));
  });

  it('refuses a report of another mode with BASELINE_MODE_MISMATCH and exit 1, leaving the history as it was', () => {
    const full = join(dir, 'full.json');
    const report = JSON.parse(readFileSync(REPORTS[0]!, 'utf8')) as { mode: string };
    writeFileSync(full, JSON.stringify({ ...report, mode: 'full' }));
    const before = readFileSync(history, 'utf8');
    const result = shipshape(['baseline', 'record', '--report', full, '--history', history, '--no-latest']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('shipshape: BASELINE_MODE_MISMATCH: ');
    expect(result.stderr).toContain('is a full run and the history holds quick runs');
    expect(readFileSync(history, 'utf8')).toBe(before);
  });

  it('shows the runs and each metric with its median and spread', () => {
    const result = shipshape(['baseline', 'show', '--history', history]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(': 2 quick runs, oldest first');
    expect(result.stdout).toMatch(
      /^1 +2026-12-03T12:07:56\.334Z .*AMD EPYC x2, 23\.5 GiB +2\.13 2\.00 2\.10 +23$/m,
    );
    // http-closed/c1's p95: 4.13 ms (ci-quick) and 6.94 ms (quick-http-capacity): median 5.54, spread 50.7%.
    expect(result.stdout).toMatch(/^http-closed\/c1 +p95Ms +2 +5\.54 +4\.13 +6\.94 +50\.7%$/m);
  });

  it('draws the trend as an SVG with one panel per scenario', () => {
    const out = join(dir, 'trend.svg');
    const result = shipshape(['baseline', 'trend', '--history', history, '--out', out]);
    expect(result.code).toBe(0);
    const svg = readFileSync(out, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('http-closed/c1');
    expect(svg).toContain('value / median (log)');
  });

  it('fails with BASELINE_INVALID on a history that is not one', () => {
    const result = shipshape(['baseline', 'show', '--history', REPORTS[0]!]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('shipshape: BASELINE_INVALID: ');
  });
});

describe('shipshape gate --baseline with a history', () => {
  it('reads the committed history and says how its regressions were judged', async () => {
    const runs = (await readBaselineHistory('bench/baseline-history.json')).runs.length;
    const result = shipshape([
      'gate',
      '--report',
      'test/fixtures/reports/ci-quick.json',
      '--baseline',
      'bench/baseline-history.json',
      '--sla',
      'bench/sla.json',
    ]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('against baseline `bench/baseline-history.json`');
    expect(result.stdout).toContain(
      runs >= 3
        ? `- Regressions are judged against the baseline history's ${runs} runs: beyond the threshold from their centre`
        : `- The baseline history has ${runs} run${runs === 1 ? '' : 's'}, fewer than regression.history.minRuns (3)`,
    );
    expect(result.code).toBe(result.stdout.includes('## shipshape gate: PASS') ? 0 : 1);
  });
});

describe('shipshape bench --baseline with a history', () => {
  // A scenario pattern nothing matches stops the command after it read the baseline and before it measures.
  const benchWith = (baseline: string): CliResult =>
    shipshape([
      'bench',
      '--quick',
      '--baseline',
      baseline,
      '--scenario',
      'no/such/scenario',
      '--out',
      join(dir, 'b.json'),
    ]);

  it('says once on stderr that a history without a latest report gives the charts no baseline', () => {
    const path = join(dir, 'no-latest.json');
    const committed = JSON.parse(readFileSync('bench/baseline-history.json', 'utf8')) as object;
    // JSON.stringify leaves out a field whose value is undefined.
    writeFileSync(path, JSON.stringify({ ...committed, latest: undefined }));
    const result = benchWith(path);
    expect(result.stderr.split('names no full report of its newest run')).toHaveLength(2);
    expect(result.stderr).toContain('no planned scenario matches "no/such/scenario"');
  });

  it('reads the committed history with its latest report without a word about the charts', () => {
    const result = benchWith('bench/baseline-history.json');
    expect(result.stderr).not.toContain('names no full report');
    expect(result.stderr).toContain('no planned scenario matches "no/such/scenario"');
  });

  it('refuses an invalid history with BASELINE_INVALID before measuring', () => {
    const path = join(dir, 'invalid-history.json');
    writeFileSync(
      path,
      JSON.stringify({ schemaVersion: 1, tool: 'shipshape-baseline-history', runs: 'none' }),
    );
    const result = benchWith(path);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('BASELINE_INVALID');
  });
});
