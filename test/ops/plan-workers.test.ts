// The Workers side of a plan: a plan fits only on what was measured, the upload size included, and plan.md says what
// is missing when nothing is proven to fit.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../bench/report.ts';
import { planMarkdown } from '../../ops/plan/markdown.ts';
import { buildPlan } from '../../ops/plan/plan.ts';
import { readWorkersPricing, type WorkersPricing } from '../../ops/plan/pricing.ts';
import type { Plan } from '../../ops/plan/schema.ts';
import { workersPlan } from '../../ops/plan/workers.ts';
import { ciQuickReport, planInputs } from '../helpers/plan-fixture.ts';

let report: Report;
let pricing: WorkersPricing;
/** A whole plan of the fixture for Workers alone, whose Workers section a test replaces. */
let base: Plan;

beforeAll(async () => {
  report = ciQuickReport();
  pricing = await readWorkersPricing();
  base = buildPlan(await planInputs({ peakRps: 1, target: 'workers' }));
});

function plan(from: Report) {
  return workersPlan({
    report: from,
    bundle: 'news-bag',
    textsPerRequest: 1,
    peakRps: 1,
    isolate: {
      where: 'isolate',
      metric: 'isolate',
      backend: 'wasm',
      batchSize: 32,
      minimumBytes: 80 * 1024 * 1024,
      recommendedBytes: 120 * 1024 * 1024,
      budgetBytes: 128 * 1024 * 1024,
      fits: true,
      source: 'a stated isolate need',
      planVerdict: 'pass',
      naiveBytes: null,
      naiveRatio: null,
      naiveWrong: null,
    },
    httpCpuMsPerRequest: null,
    pricing,
  });
}

describe('the Workers plan', () => {
  it('recommends Paid, not Free, when the measured upload is past Free’s 3 MiB', () => {
    expect(report.uploadSize?.gzipBytes).toBeGreaterThan(3 * 1024 * 1024);
    const workers = plan(report);
    expect(workers.checks.map((c) => [c.plan, c.upload.ok, c.fits])).toEqual([
      ['free', false, false],
      ['paid', true, true],
    ]);
    expect(workers.recommended).toBe('paid');
  });

  it('recommends no plan when the report has no upload size, rather than assume it fits', () => {
    const workers = plan({ ...report, uploadSize: null });
    expect(workers.checks.map((c) => [c.plan, c.upload.ok, c.fits])).toEqual([
      ['free', null, false],
      ['paid', null, false],
    ]);
    expect(workers.recommended).toBeNull();
  });

  it('says in plan.md what the report lacks, not that no plan fits, when the upload size is unknown', () => {
    const workers = plan({ ...report, uploadSize: null });
    const markdown = planMarkdown({ ...base, workers });
    expect(markdown).toContain('| fits | **not known** | **not known** |');
    expect(markdown).toContain(
      '- Recommended plan: none proven to fit: the report does not measure the upload size (bench with ' +
        '--upload-size-file).',
    );
  });
});
