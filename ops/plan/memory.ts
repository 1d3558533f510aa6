// Memory per replica and per isolate for one bundle, from the calibrated memory plans, beside the seed's naive formula.
import { plannedBytes } from '../../bench/memory-plan.ts';
import type { MemoryPlan, Report } from '../../bench/report.ts';
import { readOnnxGraphInfo } from '../../runtime/bundle/onnx-graph.ts';

/** The seed's buffer over the calibrated need: limit (recommended) = need x 1.5. */
export const MEMORY_BUFFER = 1.5;
const MIB = 1024 * 1024;

/** What the seed's naive formula reads from the graph. */
export interface ParameterCount {
  /** Elements of every initializer (the weights and biases). */
  readonly parameters: number;
  /** Operators that apply a weight matrix from the initializers: Gather (embeddings), MatMul, Gemm, Conv. */
  readonly layers: number;
}

/**
 * Counts the parameters and weighted layers of an ONNX model from its graph, without a session.
 * @throws Error when the bytes are not an ONNX model.
 */
export function countParameters(model: Uint8Array): ParameterCount {
  const graph = readOnnxGraphInfo(model);
  let parameters = 0;
  for (const dims of graph.initializers.values()) parameters += dims.reduce((a, d) => a * d, 1);
  const weighted = new Set(['Gather', 'MatMul', 'Gemm', 'Conv']);
  const layers = graph.nodes.filter(
    (node) =>
      weighted.has(node.opType) &&
      node.inputs.some((input) => (graph.initializers.get(input)?.length ?? 0) >= 2),
  ).length;
  return { parameters, layers };
}

/** Memory for one place the bundle runs: a Node replica (`rss`, native) or a Worker isolate (`isolate`, wasm). */
export interface MemoryNeed {
  readonly where: 'replica' | 'isolate';
  readonly metric: 'rss' | 'isolate';
  readonly backend: 'native' | 'wasm';
  readonly batchSize: number;
  /** The calibrated need at the serving batch size: the minimum to run it. */
  readonly minimumBytes: number;
  /** minimum x 1.5 (the seed's buffer): the limit to set. */
  readonly recommendedBytes: number;
  /** The budget it must fit (a Worker's 128 MiB), when there is one. */
  readonly budgetBytes: number | null;
  readonly fits: boolean | null;
  /** How the minimum was found, in words (the memory plan's fit, the workers, a measured peak). */
  readonly source: string;
  /** The memory plan's own verdict on its held-out batch size; null when only a measured peak was used. */
  readonly planVerdict: MemoryPlan['verdict'] | null;
  /** The seed's params x layers x 4 bytes, and how far it is from the minimum (minimum / naive). */
  readonly naiveBytes: number | null;
  readonly naiveRatio: number | null;
  /** Why the naive formula is off by more than 2x, when it is. */
  readonly naiveWrong: string | null;
}

export interface MemoryNeeds {
  readonly bundle: string;
  readonly batchSize: number;
  readonly parameters: ParameterCount | null;
  /** Why there is no parameter count (the bundle's model was not found), when there is none. */
  readonly parametersNote: string | null;
  readonly replica: MemoryNeed | null;
  readonly isolate: MemoryNeed | null;
  /** What is missing from the report, in words. */
  readonly notes: string[];
}

const mib = (bytes: number): string => `${(bytes / MIB).toFixed(1)} MiB`;

function naive(
  parameters: ParameterCount | null,
  plan: MemoryPlan | undefined,
  batchSize: number,
  minimum: number,
): Pick<MemoryNeed, 'naiveBytes' | 'naiveRatio' | 'naiveWrong'> {
  const naiveBytes = parameters === null ? 0 : parameters.parameters * parameters.layers * 4;
  // No weighted layer found (weights held as Constant nodes, say): the formula gives 0, which compares with nothing.
  if (parameters === null || naiveBytes === 0)
    return { naiveBytes: null, naiveRatio: null, naiveWrong: null };
  const ratio = minimum / naiveBytes;
  if (ratio <= 2 && ratio >= 0.5) return { naiveBytes, naiveRatio: ratio, naiveWrong: null };
  const reasons: string[] = [];
  if (ratio > 2 && plan === undefined) {
    reasons.push(
      'the formula leaves out the runtime and the activations (no memory plan here to split them)',
    );
  } else if (ratio > 2 && plan !== undefined) {
    const activations = plan.bytesPerItem * batchSize;
    // Judged on one session (the plan's own fit), so the workers' copies do not hide what dominates each.
    if (plan.overheadBytes > plannedBytes(plan, batchSize) / 2)
      reasons.push(
        `the runtime's own memory dominates: ${mib(plan.overheadBytes)} of overhead (${plan.metric === 'rss' ? 'Node, V8 and onnxruntime' : 'the JS heap, the WASM module and its heap'}) against ${mib(plan.weightsBytes)} of weights`,
      );
    if (activations > plan.weightsBytes)
      reasons.push(`activations at batch ${batchSize} (${mib(activations)}) outweigh the weights`);
    if (reasons.length === 0) reasons.push('the formula leaves out the runtime and the activations');
  } else {
    // The naive figure is the larger: it counts every weight once per layer.
    reasons.push(
      `multiplying by ${parameters.layers} layers counts every weight ${parameters.layers} times; the weights are ` +
        `held once (${mib(parameters.parameters * 4)} as float32)`,
    );
  }
  return {
    naiveBytes,
    naiveRatio: ratio,
    naiveWrong: `${ratio > 2 ? `${ratio.toFixed(1)}x too low` : `${(1 / ratio).toFixed(1)}x too high`}: ${reasons.join('; ')}`,
  };
}

function findPlan(report: Report, bundle: string, metric: 'rss' | 'isolate'): MemoryPlan | undefined {
  return report.memoryPlans.find((p) => p.bundle === bundle && p.metric === metric);
}

/**
 * The seed's `calculate_memory_needs` for the exact bundle: per Node replica, the native memory plan at the serving
 * batch size once per worker (each worker thread holds its own session, V8 heap and arena; counting the process's
 * shared overhead again for each is the cautious side), raised to the service's measured peak RSS when the report
 * has it; per Worker isolate, the WASM memory plan at the batch size
 * against the plan's 128 MiB. Recommended = minimum x 1.5. `parameters` (from `countParameters`) adds the naive
 * formula beside each, flagged when it is off by more than 2x.
 */
export function memoryNeeds(input: {
  report: Report;
  bundle: string;
  batchSize: number;
  workers: number;
  parameters: ParameterCount | null;
  parametersNote?: string;
  /** The service process's measured peak RSS (the capacity self-check), when the report has it. */
  servicePeakRssBytes?: number;
  isolateBudgetBytes: number;
}): MemoryNeeds {
  const { report, bundle, batchSize, workers, parameters } = input;
  const notes: string[] = [];
  let replica: MemoryNeed | null = null;
  const rssPlan = findPlan(report, bundle, 'rss');
  const measured = input.servicePeakRssBytes;
  if (rssPlan === undefined) notes.push(`the report has no native (rss) memory plan for ${bundle}`);
  if (measured === undefined)
    notes.push(
      "the service's own peak RSS was not measured (the bench's http-capacity scenario measures it); the replica's " +
        'memory is the memory plan scaled by the workers, an estimate',
    );
  // Each worker thread holds its own session, V8 heap and arena: the one-session plan counts once per worker.
  const estimate =
    rssPlan === undefined ? undefined : plannedBytes(rssPlan, batchSize) * Math.max(1, workers);
  if (estimate !== undefined || measured !== undefined) {
    const minimum = Math.max(estimate ?? 0, measured ?? 0);
    const parts = [
      rssPlan === undefined
        ? ''
        : `native memory plan at b=${batchSize}: ${mib(plannedBytes(rssPlan, batchSize))} ` +
          `(${rssPlan.detail.split(';')[0]})` +
          (workers > 1 ? ` x ${workers} workers = ${mib(estimate ?? 0)}` : ''),
      measured === undefined
        ? ''
        : `the service's measured peak RSS ${mib(measured)}` +
          (estimate === undefined
            ? ''
            : measured >= estimate
              ? ' (the larger, taken)'
              : ' (below the estimate)'),
    ].filter((p) => p !== '');
    replica = {
      where: 'replica',
      metric: 'rss',
      backend: 'native',
      batchSize,
      minimumBytes: minimum,
      recommendedBytes: minimum * MEMORY_BUFFER,
      budgetBytes: null,
      fits: null,
      source: parts.join('; '),
      planVerdict: rssPlan?.verdict ?? null,
      ...naive(parameters, rssPlan, batchSize, minimum),
    };
  }
  let isolate: MemoryNeed | null = null;
  const isolatePlan = findPlan(report, bundle, 'isolate');
  if (isolatePlan === undefined) notes.push(`the report has no WASM (isolate) memory plan for ${bundle}`);
  else {
    const minimum = plannedBytes(isolatePlan, batchSize);
    isolate = {
      where: 'isolate',
      metric: 'isolate',
      backend: 'wasm',
      batchSize,
      minimumBytes: minimum,
      recommendedBytes: minimum * MEMORY_BUFFER,
      budgetBytes: input.isolateBudgetBytes,
      fits: minimum <= input.isolateBudgetBytes,
      source: `WASM memory plan at b=${batchSize}: ${isolatePlan.detail.split(';')[0]}`,
      planVerdict: isolatePlan.verdict,
      ...naive(parameters, isolatePlan, batchSize, minimum),
    };
  }
  return {
    bundle,
    batchSize,
    parameters,
    parametersNote: input.parametersNote ?? null,
    replica,
    isolate,
    notes,
  };
}
