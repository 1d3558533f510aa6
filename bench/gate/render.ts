// The gate's Markdown summary for a CI job (`$GITHUB_STEP_SUMMARY`) and the terminal.
import type { Report } from '../report.ts';
import type { GateCheck, GateResult, Verdict } from './types.ts';

const verdictText: Record<Verdict, string> = {
  pass: 'pass',
  fail: '**FAIL**',
  warn: 'warn',
  skipped: 'skipped',
};

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Renders the result as Markdown for a CI job summary (`$GITHUB_STEP_SUMMARY`): one table row per check. */
export function renderGateSummary(
  result: GateResult,
  sources: { report: string; baseline?: string; sla: string; reportInfo?: Report },
): string {
  const failed = result.checks.filter((c) => c.verdict === 'fail');
  const skipped = result.checks.filter((c) => c.verdict === 'skipped');
  const warned = result.checks.filter((c) => c.verdict === 'warn');
  const lines: string[] = [];
  lines.push(`## shipshape gate: ${result.passed ? 'PASS' : 'FAIL'}`, '');
  // Another machine or mode under the baseline changes how every regression verdict reads: say so first.
  if (result.caveats !== undefined && result.caveats.length > 0) {
    lines.push(...result.caveats.map((c) => `> **Note:** ${c}`), '');
  }
  lines.push(
    `Report \`${sources.report}\`${sources.baseline ? ` against baseline \`${sources.baseline}\`` : ''} with SLA \`${sources.sla}\`.`,
  );
  const info = sources.reportInfo;
  if (info) {
    lines.push(
      `Run: ${info.mode}, ${info.createdAt}, node ${info.versions.node}, onnxruntime-node ${info.versions.onnxruntimeNode ?? 'n/a'}, ` +
        `onnxruntime-web ${info.versions.onnxruntimeWeb ?? 'n/a'}, ${info.machine.cpuModel} x${info.machine.cores}.`,
    );
  }
  lines.push(
    '',
    `**${result.checks.length} checks: ${result.checks.length - failed.length - warned.length - skipped.length} passed, ` +
      `${failed.length} failed, ${warned.length} warnings, ${skipped.length} skipped.**`,
    '',
  );
  const table = (checks: readonly GateCheck[]): void => {
    lines.push('| verdict | scenario | check | value | limit | detail |', '|---|---|---|---|---|---|');
    for (const c of checks) {
      lines.push(
        `| ${verdictText[c.verdict]} | \`${cell(c.scenario)}\` | ${cell(c.metric)} | ${cell(c.value)} | ${cell(c.limit)} | ${cell(c.detail)} |`,
      );
    }
    lines.push('');
  };
  if (failed.length > 0) {
    lines.push('### Failed checks', '');
    table(failed);
  }
  if (warned.length > 0) {
    // Unstable measurements first: they say how far to trust every other figure of their scenario.
    const unstable = warned.filter((c) => c.kind === 'stability');
    lines.push('### Warnings', '');
    table([...unstable, ...warned.filter((c) => c.kind !== 'stability')]);
  }
  const capacity = result.checks.filter((c) => c.kind === 'capacity-plan');
  if (capacity.length > 0) {
    lines.push(
      '### Capacity plan',
      '',
      'The queueing model plans a per-replica rate within the p95 limit; the bench loads one replica open-loop at ' +
        'that rate (the SLA must hold) and at a clearly higher one (it must not).',
      '',
      // A pass is the value's story; any other verdict says why (or, re-measured, what the re-measurement gave).
      ...capacity.map(
        (c) =>
          `- ${verdictText[c.verdict]} \`${c.scenario}\`: ${c.value}.` +
          (c.verdict === 'pass' ? '' : ` ${c.detail}`),
      ),
      '',
    );
  }
  lines.push('### All checks', '');
  table(result.checks);
  if (result.notes.length > 0) {
    lines.push('### Notes', '', ...result.notes.map((n) => `- ${n}`), '');
  }
  return lines.join('\n');
}
