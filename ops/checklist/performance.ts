// The checklist's performance items, read from a bench report: batching gain, the memory plan, and the release gate.
import { evaluateGate, formatNumber } from '../../bench/gate.ts';
import { plannedBytes } from '../../bench/memory-plan.ts';
import type { Report, Scenario } from '../../bench/report.ts';
import type { ChecklistContext, Finding } from './checklist.ts';

const fail = (evidence: string, detail: string): Finding => ({ verdict: 'fail', evidence, detail });
const pass = (evidence: string, detail = ''): Finding => ({ verdict: 'pass', evidence, detail });

const MIB = 1024 * 1024;
const mib = (bytes: number): string => `${(bytes / MIB).toFixed(1)} MiB`;

/** The report, or the finding that says it could not be read. */
function reportOf(context: ChecklistContext): Report | Finding {
  if (context.report.ok) return context.report.value;
  return fail(
    context.options.report,
    `The report cannot be read: ${context.report.reason}. Run \`npx shipshape bench --quick --serve --out ` +
      `${context.options.report}\`.`,
  );
}

function bundleName(context: ChecklistContext): string | undefined {
  return context.bundle.ok ? context.bundle.value.manifest.name : undefined;
}

function isMeasured(scenario: Scenario): boolean {
  return scenario.status !== 'skipped' && scenario.status !== 'errored';
}

/**
 * Batch inference implemented: the report measured this bundle in-process on the serving backend at a batch size
 * above 1, and the best such batch serves more items per second than batch 1.
 */
export function checkBatching(context: ChecklistContext): Finding {
  const report = reportOf(context);
  if (!('scenarios' in report)) return report;
  const name = bundleName(context);
  const backend = context.backend.name;
  const path = context.options.report;
  if (name === undefined) return fail(path, 'The bundle did not load, so its measurements cannot be found.');
  const measured = report.scenarios
    .filter(
      (s) =>
        s.kind === 'in-process' &&
        s.params.bundle === name &&
        (s.backend?.backend ?? s.params.backendRequested) === backend &&
        isMeasured(s) &&
        s.throughput !== undefined,
    )
    .map((s) => ({
      id: s.id,
      batchSize: Number(s.params.batchSize),
      itemsPerSecond: s.throughput!.itemsPerSecond,
    }))
    .sort((a, b) => a.batchSize - b.batchSize);
  const single = measured.find((m) => m.batchSize === 1);
  const batched = measured.filter((m) => m.batchSize > 1);
  const scope = `in-process/${name}/${backend}`;
  if (batched.length === 0 || single === undefined) {
    return fail(
      `${path}: ${scope}/* ${measured.length === 0 ? 'not measured' : `measured at batch ${measured.map((m) => m.batchSize).join(', ')}`}`,
      `The report has no ${single === undefined ? 'batch-1 measurement' : 'batch size above 1'} of ${name} on ` +
        `${backend}: run \`npx shipshape bench --scenario "${scope}/*"\` with batch 1 and a larger batch in ` +
        'inProcess.batchSizes (bench/bench.config.json).',
    );
  }
  const best = batched.reduce((a, b) => (b.itemsPerSecond > a.itemsPerSecond ? b : a));
  const gains = batched
    .map(
      (m) =>
        `b${m.batchSize} ${formatNumber(m.itemsPerSecond)} items/s (${(m.itemsPerSecond / single.itemsPerSecond).toFixed(2)}x)`,
    )
    .join(', ');
  const evidence = `${path}: ${scope}: b1 ${formatNumber(single.itemsPerSecond)} items/s; ${gains}`;
  const gain = best.itemsPerSecond / single.itemsPerSecond;
  if (!(gain > 1)) {
    return fail(
      evidence,
      `No batch size serves more items/s than batch 1 (best: b${best.batchSize} at ${gain.toFixed(2)}x): batching ` +
        'gains nothing here. Check that predictBatch runs one session per batch.',
    );
  }
  return pass(evidence);
}

/**
 * Memory usage optimized: the report's memory plan for this bundle and backend checked itself (verdict pass), and its
 * planned peak at the serving batch size fits the plan's budget (a Worker's 128 MiB on wasm, the RSS budget on
 * native).
 */
export function checkMemory(context: ChecklistContext): Finding {
  const report = reportOf(context);
  if (!('memoryPlans' in report)) return report;
  const name = bundleName(context);
  const backend = context.backend.name;
  const path = context.options.report;
  if (name === undefined) return fail(path, 'The bundle did not load, so its memory plan cannot be found.');
  const plan = report.memoryPlans.find((p) => p.bundle === name && p.backend === backend);
  if (plan === undefined) {
    return fail(
      `${path}: no memory plan for ${name} on ${backend}`,
      `The report has no memory plan for ${name} on ${backend}: run \`npx shipshape bench --scenario ` +
        `"in-process/${name}/${backend}/*"\` with three or more batch sizes.`,
    );
  }
  const batch = context.batchSize;
  const planned = plannedBytes(plan, batch);
  const evidence =
    `${path}: memory plan ${name}/${backend} (${plan.metric}) ${plan.verdict}; planned peak at batch ${batch} ` +
    `${mib(planned)} of ${mib(plan.budgetBytes)}`;
  if (plan.verdict !== 'pass') {
    return fail(
      evidence,
      `The memory plan did not check itself (${plan.verdict}: ${plan.detail}); a plan that misses its held-out ` +
        'measurement cannot promise the peak. Measure again on a quiet machine.',
    );
  }
  if (planned > plan.budgetBytes) {
    return fail(
      evidence,
      `At batch ${batch} the planned peak ${mib(planned)} exceeds the ${mib(plan.budgetBytes)} budget; the largest ` +
        `batch within it is ${plan.maxBatchSizeWithinBudget ?? 'none'}. Set SHIPSHAPE_BATCH_SIZE to it or lower.`,
    );
  }
  return pass(evidence, plan.detail);
}

/**
 * Latency requirements met: the release gate (`evaluateGate`, what `shipshape gate` runs) passes on the report and
 * the SLA, and on the baseline when one is given.
 */
export function checkLatency(context: ChecklistContext): Finding {
  const report = reportOf(context);
  if (!('scenarios' in report)) return report;
  const { options } = context;
  if (!context.sla.ok) {
    return fail(options.sla, `The SLA cannot be read: ${context.sla.reason}.`);
  }
  if (context.baseline !== undefined && !context.baseline.ok) {
    return fail(options.baseline!, `The baseline cannot be read: ${context.baseline.reason}.`);
  }
  const result = evaluateGate({
    report,
    sla: context.sla.value,
    ...(context.baseline?.ok === true ? { baseline: context.baseline.value } : {}),
  });
  const failed = result.checks.filter((c) => c.verdict === 'fail');
  const warned = result.checks.filter((c) => c.verdict === 'warn').length;
  const command =
    `shipshape gate --report ${options.report} --sla ${options.sla}` +
    (options.baseline === undefined ? '' : ` --baseline ${options.baseline}`);
  const evidence = `${command}: ${result.checks.length} checks, ${failed.length} failed, ${warned} warnings`;
  if (failed.length > 0) {
    const named = failed
      .slice(0, 5)
      .map((c) => `${c.scenario} ${c.metric} ${c.value} (limit ${c.limit})`)
      .join('; ');
    return fail(
      evidence,
      `The gate fails: ${named}${failed.length > 5 ? `; and ${failed.length - 5} more` : ''}. Make it faster, or ` +
        'change the SLA with the people it was promised to.',
    );
  }
  return pass(evidence);
}
