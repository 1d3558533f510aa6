// The plan's load chart: replica counts in numeric order, and far enough right to show the plan's own SLA crossing.
import { describe, expect, it } from 'vitest';
import { planLoadSpec } from '../../ops/plan/chart.ts';
import { buildPlan } from '../../ops/plan/plan.ts';
import { fixtureReport, planInputs } from '../helpers/plan-fixture.ts';

describe('plan-load.svg of a news-transformer plan that needs about ten replicas', () => {
  it('lists the replica counts in the legend in numeric order, the plan marked', async () => {
    const plan = buildPlan(await planInputs({ report: fixtureReport('quick-http-news-transformer.json') }));
    const node = plan.node;
    expect(node?.replicasAtPeak).toBeGreaterThanOrEqual(9);
    const spec = JSON.stringify(planLoadSpec(plan));
    const sort = /"sort":(\[[^\]]*\])/.exec(spec)?.[1];
    const labels = JSON.parse(sort ?? '[]') as string[];
    const counts = labels.map((l) => Number.parseInt(l, 10));
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(labels).toContain(`${node?.replicasAtPeak} replicas (plan)`);
  });

  it("draws the load far enough right that the plan's own replica count misses the SLA there", async () => {
    const plan = buildPlan(await planInputs({ report: fixtureReport('quick-http-news-transformer.json') }));
    const node = plan.node;
    const own = node?.load.filter((p) => p.replicas === node.replicasAtPeak) ?? [];
    expect(own.length).toBeGreaterThan(0);
    expect(own.some((p) => p.p95Ms > plan.inputs.sla.p95Ms)).toBe(true);
  });
});
