// The release gate: checks a bench report against the SLA and, noise-aware, against a baseline report.
import { capacityChecks, memoryPlanChecks, slaChecks, uploadCheck } from './checks.ts';
import { baselineChecks } from './regression.ts';
import type { GateCheck, GateInput, GateResult } from './types.ts';

export type { CheckKind, GateCheck, GateInput, GateResult, Verdict } from './types.ts';
export { aboveLabel, formatNumber } from './format.ts';
export { cpuChange, cpuExplains, windowSpreadPct } from './regression.ts';
export { renderGateSummary } from './render.ts';
export { confirmFailures, scenariosToRemeasure, type Remeasurement } from './remeasure.ts';

/** Runs every check. The gate passes when no check fails; skipped checks never fail it. */
export function evaluateGate(input: GateInput): GateResult {
  const { report, sla, baseline } = input;
  const notes: string[] = [];
  const checks: GateCheck[] = [
    ...slaChecks(report, sla.scenarios),
    ...uploadCheck(sla, input.uploadSize ?? report.uploadSize),
    ...memoryPlanChecks(report, sla.enforceMemoryPlan),
    ...capacityChecks(report, sla.scenarios),
  ];
  if (baseline) {
    if (
      baseline.machine.cpuModel !== report.machine.cpuModel ||
      baseline.machine.cores !== report.machine.cores
    ) {
      notes.push(
        `The baseline ran on "${baseline.machine.cpuModel}" x${baseline.machine.cores}, this run on ` +
          `"${report.machine.cpuModel}" x${report.machine.cores}: regressions may reflect the machine.`,
      );
    }
    if (baseline.mode !== report.mode)
      notes.push(`The baseline is a ${baseline.mode} run, this is a ${report.mode} run.`);
    checks.push(...baselineChecks(report, baseline, sla.regression));
  } else {
    notes.push('No baseline given: only the SLA was checked.');
  }
  for (const s of report.scenarios) {
    if (s.status === 'unstable' || s.status === 'insufficient-samples')
      notes.push(`${s.id}: ${s.status} (${s.reason ?? ''})`);
  }
  return { passed: checks.every((c) => c.verdict !== 'fail'), checks, notes };
}
