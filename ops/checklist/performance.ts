// The checklist's performance items, read from a bench report: batching gain, the memory plan, and the release gate.
import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { confirmFailures, evaluateGate, formatNumber } from '../../bench/gate/index.ts';
import { plannedBytes } from '../../bench/memory-plan.ts';
import { readReport, type Report, type Scenario } from '../../bench/report.ts';
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
    `The report cannot be read: ${context.report.reason.replace(/\.$/, '')}. Run \`npx shipshape bench --quick --serve --out ` +
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
  const vouched = plan.maxBatchSizeWithinBudget;
  if (vouched !== null && batch > vouched) {
    // The line fits, but the plan stops at its cap (memory.maxBatchSizeCap): past it, nothing was promised, and a
    // plan whose memory did not grow with the batch (slope 0) says nothing of a batch 20 times the largest measured.
    const largest = Math.max(0, ...plan.points.map((p) => p.batchSize));
    return fail(
      evidence,
      `At batch ${batch} the plan cannot promise the peak within the ${mib(plan.budgetBytes)} budget: the largest ` +
        `batch it vouches for is ${vouched} (memory.maxBatchSizeCap; measured up to b=${largest}). Set ` +
        'SHIPSHAPE_BATCH_SIZE to it or lower, or measure larger batches and raise the cap.',
    );
  }
  return pass(evidence, plan.detail);
}

/** Re-measurement reports `shipshape gate --remeasure` wrote next to `path` (`STEM-remeasure-N.json`), newer than it. */
async function remeasuredReports(path: string): Promise<{ path: string; report: Report }[]> {
  const found: { path: string; report: Report }[] = [];
  let written: number;
  try {
    written = (await stat(path)).mtimeMs;
  } catch {
    return found;
  }
  const stem = join(dirname(path), basename(path).replace(/\.json$/i, ''));
  for (let round = 1; round <= 5; round++) {
    const sibling = `${stem}-remeasure-${round}.json`;
    try {
      // One left over from an earlier run must not excuse this report's failures.
      if ((await stat(sibling)).mtimeMs < written) break;
      found.push({ path: sibling, report: await readReport(sibling) });
    } catch {
      break;
    }
  }
  return found;
}

/**
 * Latency requirements met: the release gate (`evaluateGate`, what `shipshape gate` runs) passes on the report and
 * the SLA, and on the baseline when one is given. Like the gate, a failing timing check that a re-measurement
 * written next to the report by `shipshape gate --remeasure` did not reproduce is a warning (`confirmFailures`).
 */
export async function checkLatency(context: ChecklistContext): Promise<Finding> {
  const report = reportOf(context);
  if (!('scenarios' in report)) return report;
  const { options } = context;
  if (!context.sla.ok) {
    return fail(options.sla, `The SLA cannot be read: ${context.sla.reason}.`);
  }
  if (context.baseline !== undefined && !context.baseline.ok) {
    return fail(options.baseline!, `The baseline cannot be read: ${context.baseline.reason}.`);
  }
  const sla = context.sla.value;
  const baseline = context.baseline?.ok === true ? context.baseline.value : undefined;
  const judge = (measured: Report) =>
    evaluateGate({ report: measured, sla, ...(baseline === undefined ? {} : { baseline }) });
  const rounds = await remeasuredReports(options.report);
  const result = confirmFailures(
    judge(report),
    rounds.map((round) => ({
      report: round.path,
      scenarios: round.report.scenarios.map((s) => s.id),
      result: judge(round.report),
    })),
  );
  const failed = result.checks.filter((c) => c.verdict === 'fail');
  const warned = result.checks.filter((c) => c.verdict === 'warn').length;
  const command =
    `shipshape gate --report ${options.report} --sla ${options.sla}` +
    (options.baseline === undefined ? '' : ` --baseline ${options.baseline}`);
  const evidence =
    `${command}: ${result.checks.length} checks, ${failed.length} failed, ${warned} warnings` +
    (rounds.length === 0 ? '' : ` (with the re-measurements ${rounds.map((r) => r.path).join(', ')})`);
  const reads = rounds.map((round) => round.path);
  if (failed.length > 0) {
    // The gate's own detail says what to do: a scenario missing wants measuring, not a faster service.
    const named = failed
      .slice(0, 5)
      .map(
        (c) =>
          `${c.scenario} ${c.metric} ${c.value} (limit ${c.limit})${c.detail === '' ? '' : `: ${c.detail}`}`,
      )
      .join('; ');
    const slow = failed.some((c) => c.kind === 'sla' || c.kind === 'regression');
    return {
      ...fail(
        evidence,
        `The gate fails: ${named}${failed.length > 5 ? `; and ${failed.length - 5} more` : ''}.` +
          (slow ? ' Make it faster, or change the SLA with the people it was promised to.' : ''),
      ),
      reads,
    };
  }
  if (!result.checks.some((c) => c.kind === 'sla' && (c.verdict === 'pass' || c.verdict === 'warn'))) {
    // A gate whose SLA checks no measurement (no rules, or only optional ones the report lacks) passes anything.
    return {
      ...fail(
        evidence,
        `No SLA limit of ${options.sla} was checked against a measurement of ${options.report}: the gate ` +
          'passing proves nothing. Give the SLA its latency rules and measure the scenarios they match.',
      ),
      reads,
    };
  }
  return { ...pass(evidence), reads };
}
