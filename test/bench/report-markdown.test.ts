// report.md: the verdict and the lines that matter on top, every table folded below; from real and constructed reports.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildMemoryPlan } from '../../bench/memory-plan.ts';
import { baselineFromReport, evaluateGate } from '../../bench/gate/index.ts';
import type { ReportGate } from '../../bench/report-content.ts';
import { renderReportMarkdown } from '../../bench/report-markdown.ts';
import { readReport, type Report } from '../../bench/report.ts';
import { parseSla } from '../../bench/sla.ts';
import {
  capacityPoint,
  capacityScenario,
  inProcessScenario,
  logNormalSamples,
  makeReport,
} from './fixtures.ts';

const MIB = 1024 * 1024;
const CI_QUICK = fileURLToPath(new URL('../fixtures/reports/ci-quick.json', import.meta.url));

/**
 * A gate over `report` with one rule on news-bag native b1 (ci-quick measured its p95 at 0.0709 ms); the gate adds
 * one memory-plan check per plan (five in ci-quick, all pass) and a warning per unstable scenario (two).
 */
function gateWith(report: Report, maxP95Ms: number, baseline?: Report): ReportGate {
  const sla = parseSla(
    { schemaVersion: 1, scenarios: [{ match: 'in-process/news-bag/native/b1', maxP95Ms }] },
    'test',
  );
  return {
    result: evaluateGate({ report, sla, ...(baseline ? { baseline: baselineFromReport(baseline) } : {}) }),
    sla: 'bench/sla.json',
    ...(baseline ? { baseline: 'bench/baseline.json' } : {}),
  };
}

/** The part of the Markdown before the first folded block. */
function top(md: string): string {
  return md.slice(0, md.indexOf('<details>'));
}

describe('the top of report.md', () => {
  it('opens with the verdict of a passing SLA and its check counts', async () => {
    const report = await readReport(CI_QUICK);
    const md = renderReportMarkdown(report, [], gateWith(report, 20));
    expect(md.split('\n')[2]).toBe(
      '**PASS** against the SLA `bench/sla.json`: 8 checks, 6 passed, 0 failed, 2 warnings, 0 skipped ' +
        '(before re-measurement, which `shipshape gate --remeasure` adds).',
    );
  });

  it('names each failed check with its value and limit above the details', async () => {
    const report = await readReport(CI_QUICK);
    const md = top(renderReportMarkdown(report, [], gateWith(report, 0.05)));
    expect(md).toContain(
      '**FAIL** against the SLA `bench/sla.json`: 8 checks, 5 passed, 1 failed, 2 warnings',
    );
    expect(md).toContain(
      '- Failed (1):\n  - `in-process/news-bag/native/b1`: p95 latency 0.0709 ms (limit <= 0.0500 ms)',
    );
  });

  it('gathers the scenarios a partial run did not measure into one bullet, naming the first eight', async () => {
    const report = await readReport(CI_QUICK);
    const sla = parseSla(
      {
        schemaVersion: 1,
        scenarios: Array.from({ length: 10 }, (_, i) => ({ match: `missing/s${i + 1}`, maxP95Ms: 1 })),
      },
      'test',
    );
    const md = top(
      renderReportMarkdown(report, [], { result: evaluateGate({ report, sla }), sla: 'sla.json' }),
    );
    expect(md).toContain(
      '- Failed (10):\n  - not measured in this run (10; a missing or errored scenario, or an SLA pattern nothing ' +
        'matched): `missing/s1`, `missing/s2`, `missing/s3`, `missing/s4`, `missing/s5`, `missing/s6`, `missing/s7`, ' +
        '`missing/s8` and 2 more.\n',
    );
  });

  it('counts the scenarios by status and lists the unstable ones by id', async () => {
    const report = await readReport(CI_QUICK);
    const md = top(renderReportMarkdown(report, [], gateWith(report, 20)));
    expect(md).toContain('- 23 scenarios: 21 ok, 2 unstable, in 175 s (quick run, AMD EPYC x2).');
    expect(md).toContain(
      '- Unstable or short of samples (2, their figures are less trustworthy): `in-process/news-bag/wasm/b1` and `http-closed/c4`.',
    );
  });

  it('states a baseline from another machine before the scenario counts', async () => {
    const report = await readReport(CI_QUICK);
    const baseline = { ...report, machine: { ...report.machine, cpuModel: 'Other CPU' } };
    const lines = top(renderReportMarkdown(report, [], gateWith(report, 20, baseline))).split('\n');
    expect(lines[4]).toBe(
      '- The baseline ran on "Other CPU" x2, this run on "AMD EPYC" x2: regressions may reflect the machine.',
    );
  });

  it('gives the headline figures per bundle and backend before the details', async () => {
    const report = await readReport(CI_QUICK);
    const md = top(renderReportMarkdown(report, [], gateWith(report, 20)));
    expect(md).toContain('| news-bag | native | 0.0709 (b1) | 75,011 (b64) | 119 |');
    expect(md).toContain('| news-transformer | wasm | 3.20 (b1) | 438 (b16) | 833 |');
  });

  it('says NOT EVALUATED when no SLA was given', () => {
    const md = renderReportMarkdown(makeReport([]));
    expect(md.split('\n')[2]).toBe('**NOT EVALUATED** no SLA given: nothing was checked.');
  });
});

describe('the details of report.md', () => {
  it('folds every table, the gate checks and the charts into <details> blocks', async () => {
    const report = await readReport(CI_QUICK);
    const md = renderReportMarkdown(report, ['report-latency.svg'], gateWith(report, 20));
    const summaries = [...md.matchAll(/<details>\n<summary>(.*)<\/summary>\n\n/g)].map((m) => m[1]);
    expect(summaries).toEqual([
      'Run, machine and versions',
      'Per batch size',
      'Cold start (fresh process per trial)',
      'HTTP',
      'Overload (open loop at a multiple of the measured capacity)',
      'Memory plan',
      'Gate: all 8 checks',
      'Charts',
    ]);
    expect(md.match(/<\/details>/g)).toHaveLength(summaries.length);
  });

  it('keeps every measured scenario in a table row inside the details', async () => {
    const report = await readReport(CI_QUICK);
    const details = renderReportMarkdown(report).slice(top(renderReportMarkdown(report)).length);
    for (const s of report.scenarios) expect(details).toContain(`| \`${s.id}\` |`);
  });

  it('escapes a pipe in a reason so that the table keeps its columns', () => {
    const scenario = inProcessScenario('in-process/news-bag/native/b1', logNormalSamples(200, 1, 1));
    const md = renderReportMarkdown(makeReport([{ ...scenario, status: 'unstable', reason: 'p95 a|b' }]));
    expect(md).toContain('| native | unstable: p95 a\\|b |');
  });
});

describe('report.md sections', () => {
  it('has a capacity table with both points, measured and predicted, and the verdict', () => {
    const md = renderReportMarkdown(
      makeReport([
        capacityScenario(
          'http-capacity/news-bag',
          capacityPoint(600, 40),
          capacityPoint(1200, 400, { shed: 300, predictedP95Ms: 105 }),
        ),
      ]),
    );
    expect(md).toContain('<summary>Capacity plan self-check</summary>');
    expect(md).toContain(
      '| `http-capacity/news-bag` | 2 | 820 / 810 | 800 | planned | 600 | 600 | 13.3 | 40.0 | 10.0 | 60.0 | 0 | 0 | 1.20 | 0.300 | 1.00 | 0.100 |',
    );
    expect(md).toContain(
      '| `http-capacity/news-bag` | 2 | 820 / 810 | 800 | 1.5x sustainable | 1,200 | 840 | 133 | 400 | 105 | 600 | 300 | 0 | 1.20 | 0.300 | 1.00 | 0.100 |',
    );
    expect(md).toContain(
      '- `http-capacity/news-bag` (pass; p95 limit 100 ms, headroom 25%, service peak RSS 300.0 MiB): constructed',
    );
  });

  it('has a row per measured scenario and links the charts', () => {
    const plan = buildMemoryPlan({
      bundle: 'news-bag',
      backend: 'wasm',
      metric: 'isolate',
      weightsBytes: MIB,
      points: [1, 8, 64].map((b) => ({ batchSize: b, measuredBytes: 60 * MIB + b * 0.2 * MIB })),
    });
    const md = renderReportMarkdown(
      makeReport(
        [1, 8, 64].map((b, i) =>
          inProcessScenario(`in-process/news-bag/wasm/b${b}`, logNormalSamples(200, b, i), { batchSize: b }),
        ),
        { memoryPlans: [plan] },
      ),
      ['r-latency.svg'],
    );
    expect(md).toContain('| `in-process/news-bag/wasm/b64` | wasm | ok |');
    expect(md).toContain('![r-latency.svg](r-latency.svg)');
    expect(md).toContain('<summary>Memory plan</summary>');
  });
});
