// The plan's numbers: they agree with the capacity model, respect min 2 and the caps, and fail with a code.
import { readFileSync } from 'node:fs';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { profileFromReport, simulateQueue, sustainableRate } from '../../bench/capacity/model.ts';
import { parseReport, type Report, type ScenarioOf } from '../../bench/report.ts';
import { plannedBytes } from '../../bench/memory-plan.ts';
import { readSla } from '../../bench/sla.ts';
import { isPlanError, type PlanErrorCode } from '../../ops/plan/errors.ts';
import { countParameters } from '../../ops/plan/memory.ts';
import { buildPlan, p95Limit, rateWindow, type PlanInputs } from '../../ops/plan/plan.ts';
import {
  readNodePricing,
  readWorkersPricing,
  type NodePricing,
  type WorkersPricing,
} from '../../ops/plan/pricing.ts';
import type { Plan } from '../../ops/plan/schema.ts';
import { capacityPoint, capacityScenario, makeReport } from '../bench/fixtures.ts';

const MIB = 1024 * 1024;
const report: Report = parseReport(
  JSON.parse(readFileSync(new URL('../fixtures/reports/ci-quick.json', import.meta.url), 'utf8')),
  'ci-quick.json',
);
const parameters = countParameters(
  readFileSync(new URL('../../artifacts/news-bag/model.onnx', import.meta.url)),
);

let nodePricing: NodePricing;
let workersPricing: WorkersPricing;
let base: PlanInputs;

beforeAll(async () => {
  [nodePricing, workersPricing] = await Promise.all([readNodePricing(), readWorkersPricing()]);
  base = {
    report,
    reportPath: 'ci-quick.json',
    sla: { path: 'bench/sla.json', value: await readSla('bench/sla.json') },
    peakRps: 400,
    batchSize: 32,
    parameters,
    nodePricing,
    workersPricing,
  };
});

/** The code of the PlanError `run` throws; fails the test when it throws anything else or nothing. */
function codeOf(run: () => unknown): PlanErrorCode {
  try {
    run();
  } catch (error) {
    if (isPlanError(error)) return error.code;
    throw error;
  }
  throw new Error('expected a PlanError, nothing was thrown');
}

describe('buildPlan on a real quick report (news-bag, 2 cores)', () => {
  let plan: Plan;
  beforeAll(() => {
    plan = buildPlan(base);
  });

  it('takes the p95 limit from the SLA’s http-open rule', () => {
    expect(plan.inputs.sla).toMatchObject({ p95Ms: 100, source: 'SLA rule "http-open/*" maxP95Ms' });
  });

  it('plans each replica at the model’s sustainable rate less 25% headroom', () => {
    const profile = profileFromReport(report);
    if (profile === undefined) throw new Error('the fixture has HTTP scenarios');
    const model = sustainableRate(profile, { p95Ms: 100 }, { seed: 1 });
    expect(plan.node?.sustainableRps).toBe(model.ratePerSecond);
    expect(plan.node?.plannedRps).toBeCloseTo(model.ratePerSecond * 0.75, 9);
  });

  it('counts replicas as the peak over the planned rate, at least 2', () => {
    const node = plan.node;
    if (node === null) throw new Error('a node plan was asked for');
    expect(node.replicasAtPeak).toBe(Math.max(2, Math.ceil(400 / node.plannedRps)));
    expect(node.minReplicas).toBe(2);
  });

  it('needs more replicas than 2 for a peak past two planned rates', () => {
    const planned = plan.node?.plannedRps ?? 0;
    const big = buildPlan({ ...base, peakRps: Math.round(planned * 4.5) });
    expect(big.node?.replicasAtPeak).toBe(5);
  });

  it('gives the naive count beside the model’s p95 at it', () => {
    const profile = profileFromReport(report);
    if (profile === undefined) throw new Error('the fixture has HTTP scenarios');
    expect(plan.node?.naive.replicas).toBe(1);
    expect(plan.node?.naive.point).toEqual(simulateQueue(profile, 400, { seed: 1 }));
  });

  it('sizes the CPU request to the sustainable rate and the HPA target to the planned share of it', () => {
    const node = plan.node;
    if (node === null) throw new Error('a node plan was asked for');
    const cores = (node.resources.cpuPerRequestMs * node.sustainableRps) / 1000;
    expect(node.resources.cpuRequestMillicores).toBe(Math.ceil(cores * 100 - 1e-9) * 10);
    expect(node.autoscaling.hpaCpuUtilisationPct).toBe(75);
    expect(node.resources.cpuLimitMillicores).toBe(2000);
  });

  it('counts the one-session memory plan once per worker when the service’s RSS was not measured', () => {
    const rssPlan = report.memoryPlans.find((p) => p.bundle === 'news-bag' && p.metric === 'rss');
    if (rssPlan === undefined) throw new Error('the fixture has a native memory plan');
    expect(plan.memory.replica?.minimumBytes).toBe(plannedBytes(rssPlan, 32) * 2);
  });

  it('sets the memory limit to the calibrated need x 1.5', () => {
    const need = plan.memory.replica?.minimumBytes ?? 0;
    expect(plan.node?.resources.memoryRequestBytes).toBe(Math.ceil(need / MIB) * MIB);
    expect(plan.node?.resources.memoryLimitBytes).toBe(Math.ceil((need * 1.5) / MIB) * MIB);
  });

  it('sets the KEDA threshold to the planned rate on the service’s request counter', () => {
    const node = plan.node;
    expect(node?.autoscaling.kedaThresholdRps).toBeCloseTo(node?.plannedRps ?? 0, 0);
    expect(node?.autoscaling.kedaQuery).toMatch(/^sum\(rate\(shipshape_http_requests_total\{.*method="POST"/);
  });

  it('gives the KEDA query a rate window of 4x the default 30 s scrape interval', () => {
    expect(plan.inputs.deployment.scrapeIntervalSeconds).toBe(30);
    expect(plan.node?.autoscaling.kedaQuery).toMatch(/\}\[2m\]\)\)$/);
  });

  it('widens the KEDA rate window to 4 minutes for a 1-minute scrape interval', () => {
    const slow = buildPlan({ ...base, target: 'node', deployment: { scrapeIntervalSeconds: 60 } });
    expect(slow.node?.autoscaling.kedaQuery).toMatch(/\}\[4m\]\)\)$/);
  });

  it('defaults maxReplicas to 1.5x the replicas at the peak', () => {
    expect(plan.node?.maxReplicas).toBe(Math.ceil((plan.node?.replicasAtPeak ?? 0) * 1.5));
  });

  it('finds the Workers Free plan too small for the upload and the traffic, and Paid to fit', () => {
    const [free, paid] = plan.workers?.checks ?? [];
    expect(free).toMatchObject({ plan: 'free', fits: false, upload: { ok: false }, requests: { ok: false } });
    expect(paid).toMatchObject({ plan: 'paid', fits: true });
    expect(plan.workers?.recommended).toBe('paid');
  });

  it('prices Workers Paid from the table: base, requests and CPU past the included amounts', () => {
    const w = plan.workers;
    if (w === null || w.cpuMsPerRequest === null) throw new Error('the fixture has a WASM scenario');
    const requests = 400 * 730 * 3600;
    const expected =
      5 + ((requests - 10e6) / 1e6) * 0.3 + ((requests * w.cpuMsPerRequest - 30e6) / 1e6) * 0.02;
    expect(w.checks[1]?.monthlyUsd).toBeCloseTo(expected, 6);
  });

  it('prices a replica-month on the same 730 hours as the Workers month', () => {
    const node = plan.node;
    if (node === null) throw new Error('a node plan was asked for');
    const hourly =
      (node.resources.cpuRequestMillicores / 1000) * nodePricing.usdPerVcpuHour +
      (node.resources.memoryRequestBytes / 1024 ** 3) * nodePricing.usdPerGibHour;
    expect(node.cost.perReplicaMonthlyUsd).toBeCloseTo(hourly * 730, 9);
    expect(plan.workers?.requestsPerMonthAtPeak).toBe(400 * 730 * 3600);
  });

  it('flags the naive memory formula as far too low for news-bag, whose runtime dominates', () => {
    expect(plan.memory.replica?.naiveBytes).toBe(283_204 * 2 * 4);
    expect(plan.memory.replica?.naiveWrong).toMatch(/x too low: the runtime's own memory dominates/);
  });

  it('fits one news-bag isolate in 128 MiB at batch 32', () => {
    expect(plan.memory.isolate?.fits).toBe(true);
  });
});

describe('buildPlan on a report with the capacity self-check', () => {
  it('takes the CPU per request measured at the planned rate and the service’s peak RSS', () => {
    const check = capacityScenario(
      'http-capacity/news-bag',
      capacityPoint(600, 20),
      capacityPoint(1200, 150),
    );
    const plan = buildPlan({ ...base, report: { ...report, scenarios: [...report.scenarios, check] } });
    expect(plan.profile?.capacityRps).toBe(820);
    expect(plan.node?.resources.cpuPerRequestMs).toBe(1.2);
    const rssPlan = report.memoryPlans.find((p) => p.bundle === 'news-bag' && p.metric === 'rss');
    if (rssPlan === undefined) throw new Error('the fixture has a native memory plan');
    const estimate = plannedBytes(rssPlan, 32) * 2;
    expect(plan.memory.replica?.minimumBytes).toBe(Math.max(300 * MIB, estimate));
    expect(plan.memory.replica?.source).toContain("the service's measured peak RSS 300.0 MiB");
  });
});

describe('buildPlan against the bench’s own capacity self-check', () => {
  // A quick `http-**` run on a busy 2-core machine: its self-check failed (the load generator fell behind), but
  // the model's numbers on its measured profile are the plan's, whatever the machine did.
  const measured = parseReport(
    JSON.parse(
      readFileSync(new URL('../fixtures/reports/quick-http-capacity.json', import.meta.url), 'utf8'),
    ),
    'quick-http-capacity.json',
  );
  const section = measured.scenarios.find((s) => s.kind === 'http-capacity')?.capacity;

  it('finds the same sustainable and planned rates as the self-check', () => {
    if (section === undefined) throw new Error('the fixture has a capacity section');
    const plan = buildPlan({ ...base, report: measured, parameters: null });
    expect(plan.node?.sustainableRps).toBe(section.model.sustainableRatePerSecond);
    expect(plan.node?.plannedRps).toBeCloseTo(section.plannedRatePerSecond, 9);
  });

  it('sizes the replica’s memory from the service’s measured peak RSS when there is no memory plan', () => {
    const plan = buildPlan({ ...base, report: measured, parameters: null });
    expect(plan.memory.replica?.minimumBytes).toBe(section?.peakRssBytes);
    expect(plan.node?.resources.memoryLimitBytes).toBe(
      Math.ceil(((section?.peakRssBytes ?? 0) * 1.5) / MIB) * MIB,
    );
  });
});

describe('the profile a plan is made from, and whether it was self-checked', () => {
  // A quick `http-**` run: http-closed on news-bag (1 text per request), the self-check on news-transformer (32).
  const both = parseReport(
    JSON.parse(
      readFileSync(new URL('../fixtures/reports/quick-http-news-transformer.json', import.meta.url), 'utf8'),
    ),
    'quick-http-news-transformer.json',
  );
  const check = both.scenarios.find((s) => s.id === 'http-capacity/news-transformer');

  it('plans from the self-checked profile by default, and records the check and its verdict', () => {
    const plan = buildPlan({ ...base, report: both, parameters: null });
    expect(plan.inputs).toMatchObject({ bundle: 'news-transformer', textsPerRequest: 32 });
    expect(plan.profile?.selfCheck).toEqual({
      scenario: 'http-capacity/news-transformer',
      status: check?.status,
      verdict: check?.capacity?.verdict,
      detail: check?.capacity?.detail,
    });
  });

  it('plans from the same profile with --bundle naming the self-checked bundle, as a name or a folder', () => {
    const byName = buildPlan({ ...base, report: both, parameters: null, bundle: 'news-transformer' });
    const byDir = buildPlan({
      ...base,
      report: both,
      parameters: null,
      bundle: 'artifacts/news-transformer/',
    });
    expect(byName.node?.sustainableRps).toBe(check?.capacity?.model.sustainableRatePerSecond);
    expect(byDir.node?.sustainableRps).toBe(check?.capacity?.model.sustainableRatePerSecond);
  });

  it('cautions that a self-check measured on a machine that changed under it was unstable', () => {
    const plan = buildPlan({ ...base, report: both, parameters: null });
    expect(check?.status).toBe('unstable');
    expect(plan.profile?.caution).toMatch(
      /^the bench's self-check of this profile passed, but its measurement was unstable/,
    );
  });

  it('falls back to http-closed for --bundle news-bag, saying loudly it was not self-checked and why news-bag is HTTP-bound', () => {
    const plan = buildPlan({ ...base, report: both, parameters: null, bundle: 'news-bag' });
    expect(plan.inputs).toMatchObject({ bundle: 'news-bag', textsPerRequest: 1 });
    expect(plan.profile?.selfCheck).toBeNull();
    expect(plan.profile?.source).toMatch(/^http-closed\/c1 /);
    expect(plan.profile?.caution).toMatch(
      /^this plan was NOT self-checked: .* no http-capacity scenario for news-bag/,
    );
    expect(plan.profile?.caution).toMatch(/HTTP-bound: a request of 1 text\(s\) takes/);
  });

  it('does not take the CPU or peak RSS of another bundle’s self-check for a fallback plan', () => {
    const plan = buildPlan({ ...base, report: both, parameters: null, bundle: 'news-bag' });
    expect(plan.node?.resources.cpuSource).toMatch(/^http-closed\//);
  });

  it('says a plan from a report without a self-check was not self-checked', () => {
    const plan = buildPlan(base);
    expect(plan.profile?.selfCheck).toBeNull();
    expect(plan.profile?.caution).toMatch(/^this plan was NOT self-checked/);
  });

  it('names a self-check that ran but measured nothing when it falls back to http-closed', () => {
    const errored = {
      ...report,
      scenarios: [
        ...report.scenarios,
        {
          id: 'http-capacity/news-bag',
          kind: 'http-capacity' as const,
          status: 'errored' as const,
          reason: 'the model finds no rate within p95 100 ms',
          params: {},
          durationMs: 1,
        },
      ],
    };
    expect(buildPlan({ ...base, report: errored }).profile?.caution).toMatch(
      /^this plan was NOT self-checked: ci-quick\.json's http-capacity\/news-bag is errored \(the model finds no rate/,
    );
  });

  it('refuses to choose between self-checks of two bundles without --bundle, listing them', () => {
    const twice = {
      ...both,
      scenarios: [
        ...both.scenarios,
        ...both.scenarios
          .filter(
            (s): s is ScenarioOf<'http-capacity'> => s.kind === 'http-capacity' && s.capacity !== undefined,
          )
          .map((s) => ({
            ...s,
            id: 'http-capacity/news-bag',
            capacity: { ...(s.capacity as NonNullable<typeof s.capacity>), bundle: 'news-bag' },
          })),
      ],
    };
    expect(codeOf(() => buildPlan({ ...base, report: twice, parameters: null }))).toBe(
      'PLAN_PROFILE_AMBIGUOUS',
    );
    expect(
      buildPlan({ ...base, report: twice, parameters: null, bundle: 'news-bag' }).profile?.selfCheck
        ?.scenario,
    ).toBe('http-capacity/news-bag');
  });

  it('refuses --bundle for a bundle the report has no HTTP measurements of', () => {
    expect(codeOf(() => buildPlan({ ...base, report: both, parameters: null, bundle: 'news-other' }))).toBe(
      'PLAN_NO_HTTP_PROFILE',
    );
  });
});

describe('buildPlan limits and caps', () => {
  it('keeps the replicas at --min-replicas when the peak needs fewer', () => {
    expect(buildPlan({ ...base, peakRps: 10, minReplicas: 3 }).node?.replicasAtPeak).toBe(3);
  });

  it('takes maxReplicas from the cost cap at the priced replica', () => {
    const plan = buildPlan({ ...base, maxMonthlyUsd: 500 });
    const perReplica = plan.node?.cost.perReplicaMonthlyUsd ?? 0;
    expect(plan.node?.maxReplicas).toBe(Math.floor(500 / perReplica));
  });

  it('refuses a cost cap that cannot pay for the replicas at the peak', () => {
    expect(codeOf(() => buildPlan({ ...base, maxMonthlyUsd: 50 }))).toBe('PLAN_OVER_BUDGET');
  });

  it('refuses --max-replicas below the replicas at the peak', () => {
    expect(codeOf(() => buildPlan({ ...base, peakRps: 5000, maxReplicas: 2 }))).toBe('PLAN_OVER_BUDGET');
  });

  it('refuses a p95 limit below the service time itself', () => {
    expect(codeOf(() => buildPlan({ ...base, p95Ms: 1 }))).toBe('PLAN_SLA_UNREACHABLE');
  });

  it('refuses a report without HTTP measurements', () => {
    expect(codeOf(() => buildPlan({ ...base, report: makeReport([]) }))).toBe('PLAN_NO_HTTP_PROFILE');
  });

  it('refuses an SLA without an http-open p95 when --p95-ms is not given', () => {
    expect(
      codeOf(() =>
        p95Limit(
          { ...(base.sla.value as NonNullable<PlanInputs['sla']['value']>), scenarios: [] },
          undefined,
        ),
      ),
    ).toBe('PLAN_NO_P95_LIMIT');
  });

  it('plans Workers alone from a report without HTTP measurements', () => {
    const inProcessOnly = {
      ...report,
      scenarios: report.scenarios.filter((s) => !s.kind.startsWith('http-')),
    };
    const plan = buildPlan({ ...base, report: inProcessOnly, target: 'workers' });
    expect(plan.profile).toBeNull();
    expect(plan.node).toBeNull();
    expect(plan.inputs.bundle).toBe('news-bag');
    expect(plan.workers?.recommended).toBe('paid');
  });

  it('leaves the Node section out for --target workers', () => {
    const plan = buildPlan({ ...base, target: 'workers' });
    expect(plan.node).toBeNull();
    expect(plan.workers).not.toBeNull();
  });
});

describe('pricing files', () => {
  it('refuses a pricing file without its source', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipshape-pricing-'));
    const path = join(dir, 'node.json');
    const pricing = JSON.parse(
      readFileSync(new URL('../../ops/pricing/node.json', import.meta.url), 'utf8'),
    ) as Record<string, unknown>;
    writeFileSync(path, JSON.stringify({ ...pricing, source: undefined }));
    await expect(readNodePricing(path)).rejects.toMatchObject({ code: 'PLAN_PRICING_INVALID' });
  });
});

describe('countParameters', () => {
  it('counts news-transformer’s initializers and weighted layers', () => {
    const count = countParameters(
      readFileSync(new URL('../../artifacts/news-transformer/model.onnx', import.meta.url)),
    );
    expect(count).toEqual({ parameters: 840_836, layers: 11 });
  });
});

describe('rateWindow', () => {
  it('holds at least four scrape intervals, in whole minutes', () => {
    expect([15, 30, 45, 60, 90].map(rateWindow)).toEqual(['1m', '2m', '3m', '4m', '6m']);
  });
});
