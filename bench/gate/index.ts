// The release gate: checks a bench report against the SLA and, noise-aware, against a baseline (one report or a
// history of runs). The checks live by job: checks.ts (the report alone), regression.ts (against the baseline),
// remeasure.ts (confirming failures), render.ts (the Markdown summary).
import type { Report } from '../report.ts';
import type { Sla } from '../sla.ts';
import type { Baseline } from './baseline.ts';
import { capacityChecks, memoryPlanChecks, slaChecks, stabilityChecks, uploadCheck } from './checks.ts';
import { baselineChecks } from './regression.ts';
import type { GateCheck, GateInput, GateResult } from './types.ts';

export type { CheckKind, GateCheck, GateInput, GateResult, UnkeyedCheck, Verdict } from './types.ts';
export { checkKey, keyed } from './types.ts';
export type { Baseline, ScenarioBaseline } from './baseline.ts';
export { baselineFromReport } from './baseline.ts';
export type { MetricId, ScenarioMetricId } from './metrics.ts';
export { aboveLabel, formatNumber } from './format.ts';
export { cpuChange, cpuExplains, judgeChange, windowSpreadPct } from './regression.ts';
export { renderGateSummary } from './render.ts';
export { confirmFailures, REMEASURE_POLICY, scenariosToRemeasure, type Remeasurement } from './remeasure.ts';

/**
 * What a reader must know before trusting any regression verdict: the baseline's runs were made on another
 * machine, or in another mode, than this report.
 */
export function baselineCaveats(report: Report, baseline: Baseline): string[] {
  const caveats: string[] = [];
  const elsewhere = baseline.runs.filter(
    (r) => r.machine.cpuModel !== report.machine.cpuModel || r.machine.cores !== report.machine.cores,
  );
  for (const machine of new Set(elsewhere.map((r) => `"${r.machine.cpuModel}" x${r.machine.cores}`))) {
    const count = elsewhere.filter((r) => `"${r.machine.cpuModel}" x${r.machine.cores}` === machine).length;
    caveats.push(
      `The baseline${baseline.runs.length > 1 ? ` (${count} of its ${baseline.runs.length} runs)` : ''} ran on ${machine}, ` +
        `this run on "${report.machine.cpuModel}" x${report.machine.cores}: regressions may reflect the machine.`,
    );
  }
  const modes = [...new Set(baseline.runs.map((r) => r.mode))].filter((m) => m !== report.mode);
  for (const mode of modes) caveats.push(`The baseline is a ${mode} run, this is a ${report.mode} run.`);
  return caveats;
}

/** How the regressions were judged against a history: its bound, or (too few runs) its latest run alone. */
function historyNote(baseline: Baseline, policy: Sla['regression']): string {
  const n = baseline.runs.length;
  const { minRuns, alpha, ceilingFactor } = policy.history;
  return n >= minRuns
    ? `Regressions are judged against the baseline history's ${n} runs: beyond the threshold from their centre and ` +
        `either outside their ${Number(((1 - alpha) * 100).toFixed(2))}% prediction bound (log scale, Student's t) ` +
        `or beyond ${ceilingFactor} x the threshold; a wall-clock one fails only when CPU per request moved beyond ` +
        'its own threshold too.'
    : `The baseline history has ${n} run${n === 1 ? '' : 's'}, fewer than regression.history.minRuns (${minRuns}): ` +
        'regressions are judged against its latest run alone.';
}

/**
 * Runs every check. The gate passes when no check fails; skipped checks and warnings never fail it.
 * Without a baseline only the SLA (and the report's own plans) are checked.
 */
export function evaluateGate(input: GateInput): GateResult {
  const { report, sla, baseline } = input;
  const notes: string[] = [];
  const checks: GateCheck[] = [
    ...stabilityChecks(report),
    ...slaChecks(report, sla.scenarios),
    ...uploadCheck(sla, input.uploadSize ?? report.uploadSize),
    ...memoryPlanChecks(report, sla.enforceMemoryPlan),
    ...capacityChecks(report, sla.scenarios),
  ];
  let caveats: string[] = [];
  if (baseline) {
    caveats = baselineCaveats(report, baseline);
    if (baseline.source === 'history') notes.push(historyNote(baseline, sla.regression));
    notes.push(...(baseline.notes ?? []));
    checks.push(...baselineChecks(report, baseline, sla.regression));
  } else {
    notes.push('No baseline given: only the SLA was checked.');
  }
  return { passed: checks.every((c) => c.verdict !== 'fail'), checks, notes, caveats };
}
