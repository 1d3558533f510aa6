// The plan's chart: simulated p95 and shed share against total load for replica counts around the plan's, with the
// SLA's p95 line and the peak marked.
import type { TopLevelSpec } from 'vega-lite';
import type { Plan } from './schema.ts';

/** The vega-lite spec of plan-load.svg; null for a plan without a Node section. */
export function planLoadSpec(plan: Plan): TopLevelSpec | null {
  const node = plan.node;
  const profile = plan.profile;
  if (node === null || profile === null) return null;
  // Legend in replica order (8, 9, 10), not as text sorts the labels (10, 11, 8, 9).
  const order = [...new Set(node.load.map((p) => p.replicas))].sort((a, b) => a - b);
  const label = (replicas: number): string =>
    `${replicas} replica${replicas === 1 ? '' : 's'}${replicas === node.replicasAtPeak ? ' (plan)' : ''}`;
  const values = node.load.map((p) => ({
    replicas: label(p.replicas),
    totalRps: p.totalRps,
    p95Ms: p.p95Ms,
    shedPct: p.shedFraction * 100,
  }));
  const peak = { totalRps: plan.inputs.peakRps, label: `peak ${plan.inputs.peakRps}/s` };
  const sla = { p95Ms: plan.inputs.sla.p95Ms, label: `SLA p95 ${plan.inputs.sla.p95Ms} ms` };
  const x = { field: 'totalRps', type: 'quantitative' as const, title: 'total load (requests/s, Poisson)' };
  const color = { field: 'replicas', type: 'nominal' as const, title: 'replicas', sort: order.map(label) };
  const peakRule = {
    data: { values: [peak] },
    mark: { type: 'rule' as const, color: '#888', strokeDash: [4, 4] },
    encoding: { x: { field: 'totalRps', type: 'quantitative' as const } },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `${plan.inputs.bundle}: simulated p95 against load, per replica count`,
      subtitle:
        `M/G/c model, ${profile.servers} workers per replica, ${profile.capacityRps.toFixed(0)} requests/s ` +
        `capacity each, shedding past ${profile.maxQueueWaitMs} ms of queue wait; report ${plan.inputs.report.createdAt.slice(0, 16)}Z`,
    },
    hconcat: [
      {
        width: 380,
        height: 260,
        layer: [
          {
            data: { values },
            mark: { type: 'line', point: { size: 18 } },
            encoding: {
              x,
              y: { field: 'p95Ms', type: 'quantitative', title: 'p95 response time (ms)' },
              color,
            },
          },
          {
            data: { values: [sla] },
            mark: { type: 'rule', color: '#e45756', strokeWidth: 2 },
            encoding: { y: { field: 'p95Ms', type: 'quantitative' } },
          },
          {
            data: { values: [sla] },
            mark: { type: 'text', color: '#e45756', align: 'left', dx: 4, dy: -7, x: 0 },
            encoding: { y: { field: 'p95Ms', type: 'quantitative' }, text: { field: 'label' } },
          },
          peakRule,
          {
            data: { values: [peak] },
            mark: { type: 'text', color: '#555', align: 'left', dx: 4, y: 8 },
            encoding: { x: { field: 'totalRps', type: 'quantitative' }, text: { field: 'label' } },
          },
        ],
      },
      {
        width: 260,
        height: 260,
        layer: [
          {
            data: { values },
            mark: { type: 'line', point: { size: 18 } },
            encoding: { x, y: { field: 'shedPct', type: 'quantitative', title: 'requests shed (%)' }, color },
          },
          peakRule,
        ],
      },
    ],
    config: {
      font: 'DejaVu Sans, Liberation Sans, Arial, sans-serif',
      axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e5e5e5' },
      legend: { labelFontSize: 11, titleFontSize: 12 },
      title: { fontSize: 15 },
    },
  };
}
