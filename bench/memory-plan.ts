// The memory plan: predicts peak memory per batch size from the model's weights and a linear activation fit.
import { linearRegression, mean } from 'simple-statistics';
import type { MemoryPlan } from './report.ts';

export interface MemoryPoint {
  readonly batchSize: number;
  /** Peak memory measured at this batch size (the plan's metric: RSS, or isolate memory). */
  readonly measuredBytes: number;
  /**
   * The part of `measuredBytes` that grows with the batch, when it can be measured apart (the WASM heap, inside
   * isolate memory). The slope is fitted on it alone, so JS-heap noise cannot tilt it; the rest is a constant.
   */
  readonly scalingBytes?: number;
}

export interface MemoryPlanInput {
  readonly bundle: string;
  readonly backend: MemoryPlan['backend'];
  readonly metric: MemoryPlan['metric'];
  /** Weight bytes: the ONNX file's size (initializers dominate it). */
  readonly weightsBytes: number;
  /** Measured peak memory per batch size (at least two batch sizes to fit, three to check). */
  readonly points: readonly MemoryPoint[];
  /** Default 128 MiB: a Cloudflare Worker isolate's limit. */
  readonly budgetBytes?: number;
  /** Largest |planned - measured| / measured, in percent, at the check point. Default 25. */
  readonly tolerancePct?: number;
  /** The largest batch size the plan will recommend when memory hardly grows with it. Default 4096. */
  readonly maxBatchSizeCap?: number;
}

export const WORKER_MEMORY_BYTES = 128 * 1024 * 1024;

/** planned(b) = overhead + weights + bytesPerItem * b. */
export function plannedBytes(
  plan: Pick<MemoryPlan, 'overheadBytes' | 'weightsBytes' | 'bytesPerItem'>,
  batchSize: number,
): number {
  return plan.overheadBytes + plan.weightsBytes + plan.bytesPerItem * batchSize;
}

/** Least squares, except that memory cannot shrink as the batch grows: a negative slope (noise) becomes flat. */
function fitLine(points: readonly [number, number][]): { m: number; b: number } {
  const fit = linearRegression(points.map(([x, y]) => [x, y]));
  return fit.m >= 0 ? fit : { m: 0, b: mean(points.map(([, y]) => y)) };
}

/**
 * Builds the plan: peak(b) = overhead + weights + bytesPerItem * b, with `weights` from the model file and
 * `overhead` and `bytesPerItem` (activations, input and output tensors per item) fitted on measurements.
 *
 * Which points calibrate: allocators grow in steps (onnxruntime's arena, the WASM heap's geometric growth), so
 * small batches sit on the runtime's initial allocation and say little about activations. The fit therefore uses
 * the two largest batch sizes below the largest one; the largest is held out and predicted (the plan's job is to
 * extrapolate to big batches), and the verdict is `pass` when that prediction is within the tolerance. Smaller
 * batch sizes are shown as `reference` points. With two batch sizes both calibrate and nothing is checked
 * (`insufficient-data`); with one there is no fit.
 */
export function buildMemoryPlan(input: MemoryPlanInput): MemoryPlan {
  const budgetBytes = input.budgetBytes ?? WORKER_MEMORY_BYTES;
  const tolerancePct = input.tolerancePct ?? 25;
  const cap = input.maxBatchSizeCap ?? 4096;
  const points = [...input.points].sort((a, b) => a.batchSize - b.batchSize);
  const base = {
    bundle: input.bundle,
    backend: input.backend,
    metric: input.metric,
    weightsBytes: input.weightsBytes,
    budgetBytes,
    tolerancePct,
  };
  if (points.length < 2) {
    return {
      ...base,
      overheadBytes: 0,
      bytesPerItem: 0,
      calibrationBatchSizes: [],
      points: [],
      maxBatchSizeWithinBudget: null,
      verdict: 'insufficient-data',
      detail: `needs memory measured at two or more batch sizes, got ${points.length}`,
    };
  }
  const check = points.length >= 3 ? points[points.length - 1] : undefined;
  const calibration = points.length >= 3 ? points.slice(-3, -1) : points;
  const scaling = calibration.every((p) => p.scalingBytes !== undefined);
  // Fit the slope on the scaling part alone when it is known; the rest of the measurement is a constant.
  const fit = fitLine(
    calibration.map((p) => [
      p.batchSize,
      (scaling ? (p.scalingBytes as number) : p.measuredBytes) - input.weightsBytes,
    ]),
  );
  const constant = scaling ? mean(calibration.map((p) => p.measuredBytes - (p.scalingBytes as number))) : 0;
  const plan = { overheadBytes: fit.b + constant, bytesPerItem: fit.m, weightsBytes: input.weightsBytes };
  const planned = points.map((p) => {
    const value = plannedBytes(plan, p.batchSize);
    return {
      batchSize: p.batchSize,
      measuredBytes: p.measuredBytes,
      plannedBytes: value,
      errorPct: p.measuredBytes > 0 ? ((value - p.measuredBytes) / p.measuredBytes) * 100 : 0,
      role: calibration.includes(p)
        ? ('calibration' as const)
        : p === check
          ? ('check' as const)
          : ('reference' as const),
    };
  });
  const maxBatch = largestBatchWithin(plan, budgetBytes, cap);
  const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  const fitText =
    `planned(b) = ${mib(plan.overheadBytes)} overhead + ${mib(plan.weightsBytes)} weights + ` +
    `${(plan.bytesPerItem / 1024).toFixed(1)} KiB x b, fitted at b=${calibration.map((p) => p.batchSize).join(', ')}` +
    (scaling ? ' on the WASM heap' : '');
  const largestMeasured = points[points.length - 1]?.batchSize ?? 0;
  const budgetText =
    maxBatch === null
      ? `no batch size fits ${mib(budgetBytes)}`
      : `largest batch within ${mib(budgetBytes)}: ${maxBatch}` +
        (maxBatch === cap && plan.bytesPerItem <= 0
          ? ` (the cap, memory.maxBatchSizeCap: memory did not grow with the batch, so the budget sets no limit; measured up to b=${largestMeasured})`
          : maxBatch === cap
            ? ` (the cap, memory.maxBatchSizeCap, below the budget's own limit; measured up to b=${largestMeasured})`
            : '');
  const common = {
    ...plan,
    ...base,
    calibrationBatchSizes: calibration.map((p) => p.batchSize),
    points: planned,
    maxBatchSizeWithinBudget: maxBatch,
  };
  const checked = planned.find((p) => p.role === 'check');
  if (!checked) {
    return {
      ...common,
      verdict: 'insufficient-data',
      detail: `${fitText}; ${budgetText}; measure three or more batch sizes to check the plan`,
    };
  }
  return {
    ...common,
    verdict: Math.abs(checked.errorPct) <= tolerancePct ? 'pass' : 'fail',
    detail:
      `${fitText}; at b=${checked.batchSize} planned ${mib(checked.plannedBytes)} vs measured ` +
      `${mib(checked.measuredBytes)} (${planErrorText(checked.errorPct)}); ${budgetText}`,
  };
}

/**
 * The plan's error at its held-out batch, with its sign spelled out: (planned - measured) / measured, so negative
 * means the plan under-predicts (the risky side: the real peak is higher than planned).
 */
export function planErrorText(errorPct: number): string {
  const pct = `${errorPct >= 0 ? '+' : ''}${errorPct.toFixed(1)}%`;
  if (errorPct === 0) return `${pct}, planned = measured`;
  return `${pct}: the plan is ${Math.abs(errorPct).toFixed(1)}% ${errorPct > 0 ? 'above' : 'below'} the measurement`;
}

/**
 * Two short lines for a chart panel: how far the plan missed its held-out batch (sign as in `planErrorText`) and
 * the largest batch within the budget, saying when that number is the configured cap rather than memory.
 */
export function memoryPlanNote(plan: MemoryPlan): string[] {
  const check = plan.points.find((p) => p.role === 'check');
  const budget = `${(plan.budgetBytes / 1024 / 1024).toFixed(0)} MiB`;
  const capped = plan.maxBatchSizeWithinBudget !== null && plan.bytesPerItem <= 0;
  return [
    check
      ? `plan ${check.errorPct >= 0 ? '+' : ''}${check.errorPct.toFixed(1)}% vs measured at b=${check.batchSize} ` +
        `(${check.errorPct < 0 ? 'below' : 'above'})`
      : 'plan not checked (no held-out batch)',
    plan.maxBatchSizeWithinBudget === null
      ? `no batch fits ${budget}`
      : `largest batch in ${budget}: ${plan.maxBatchSizeWithinBudget}${capped ? ' (the cap)' : ''}`,
  ];
}

/** The largest batch size in [1, cap] whose planned peak fits the budget, or null when even 1 does not. */
export function largestBatchWithin(
  plan: Pick<MemoryPlan, 'overheadBytes' | 'weightsBytes' | 'bytesPerItem'>,
  budgetBytes: number,
  cap: number,
): number | null {
  if (plannedBytes(plan, 1) > budgetBytes) return null;
  if (plan.bytesPerItem <= 0) return cap;
  const fits = Math.floor((budgetBytes - plan.overheadBytes - plan.weightsBytes) / plan.bytesPerItem);
  return Math.max(1, Math.min(cap, fits));
}
