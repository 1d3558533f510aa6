// The plan tests' shared input: the CI quick report fixture and the plan inputs built on it.
import { readFileSync } from 'node:fs';
import { parseReport, type Report } from '../../bench/report.ts';
import { readSla } from '../../bench/sla.ts';
import type { PlanInputs } from '../../ops/plan/plan.ts';
import { readNodePricing, readWorkersPricing } from '../../ops/plan/pricing.ts';

/** A report under test/fixtures/reports/, parsed. */
export function fixtureReport(file: string): Report {
  return parseReport(
    JSON.parse(readFileSync(new URL(`../fixtures/reports/${file}`, import.meta.url), 'utf8')),
    file,
  );
}

/** test/fixtures/reports/ci-quick.json, parsed. */
export function ciQuickReport(): Report {
  return fixtureReport('ci-quick.json');
}

/** Plan inputs from the CI quick report, bench/sla.json and the shipped prices, with `overrides` on top. */
export async function planInputs(overrides: Partial<PlanInputs> = {}): Promise<PlanInputs> {
  return {
    report: ciQuickReport(),
    reportPath: 'ci-quick.json',
    sla: { path: 'bench/sla.json', value: await readSla('bench/sla.json') },
    peakRps: 400,
    batchSize: 32,
    parameters: null,
    nodePricing: await readNodePricing(),
    workersPricing: await readWorkersPricing(),
    ...overrides,
  };
}
