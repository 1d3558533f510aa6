// One worker thread of the predictor pool: loads the bundle itself, holds its own predictor, runs the batches sent.
import { BroadcastChannel, threadId, workerData } from 'node:worker_threads';
import { loadBundle } from '../bundle/index.ts';
import type { EngineMemory } from '../engine.ts';
import { isShipshapeError, type ErrorCode } from '../errors.ts';
import { createPredictor } from '../predictor.ts';
import type { BackendChoice, BackendReport, Prediction, Predictor, RunObservation } from '../types.ts';
import { directorySource } from './node-files.ts';
import { nodePlatform } from './node.ts';

/** What every worker of one pool is started with (`workerData`). */
export interface PoolWorkerData {
  readonly bundleDir: string;
  readonly backend: BackendChoice;
  readonly numThreads: number;
  readonly maxTextLength: number;
  readonly returnLogits: boolean;
  /** The BroadcastChannel on which the pool asks its workers to release their predictors before it ends them. */
  readonly releaseChannel: string;
}

export type PoolTask =
  { readonly kind: 'start' } | { readonly kind: 'run'; readonly texts: readonly string[] };

/** Errors travel as data: structured cloning keeps an Error's message but drops its `code`. */
export interface PoolTaskError {
  readonly code: ErrorCode;
  readonly message: string;
  /** True when the worker's predictor never started (bundle or backend), so no batch can run on this worker. */
  readonly starting: boolean;
}

export type PoolReply =
  | { readonly status: 'started'; readonly backend: BackendReport; readonly worker: number }
  | {
      readonly status: 'ran';
      readonly predictions: readonly Prediction[];
      readonly observation: RunObservation;
      readonly memory: EngineMemory;
    }
  | { readonly status: 'failed'; readonly error: PoolTaskError };

const data = workerData as PoolWorkerData;

/** Started as the thread starts, not at its first task: a worker that replaces a dead one warms up while idle. */
const ready: Promise<Predictor> = (async () => {
  const bundle = await loadBundle(directorySource(data.bundleDir), { verify: 'serving' });
  return createPredictor(bundle, {
    platform: nodePlatform,
    backend: data.backend,
    numThreads: data.numThreads,
    maxTextLength: data.maxTextLength,
    returnLogits: data.returnLogits,
    // The main thread micro-batches; a batch sent here runs as it came.
    batching: false,
  });
})();
ready.catch(() => undefined);

// Releases the session before the pool ends this thread (see `close` in node-pool.ts), then confirms.
const release = new BroadcastChannel(data.releaseChannel);
release.unref();
let released = false;
release.onmessage = () => {
  if (released) return;
  released = true;
  void ready
    .then((predictor) => predictor.dispose())
    .catch(() => undefined)
    .finally(() => {
      release.postMessage(threadId);
      release.close();
    });
};

/** Piscina's task handler: `start` answers once the predictor is ready, `run` classifies one batch. */
export async function runPoolTask(task: PoolTask): Promise<PoolReply> {
  let predictor: Predictor;
  try {
    predictor = await ready;
  } catch (error) {
    return failed(error, true);
  }
  if (task.kind === 'start') return { status: 'started', backend: predictor.backend, worker: threadId };
  // A dynamic-length bundle splits the batch into runs of similar length: one observation per run.
  const observations: RunObservation[] = [];
  const stop = predictor.observe((seen) => observations.push(seen));
  try {
    const items = await predictor.predictBatch(task.texts, { batchSize: Math.max(1, task.texts.length) });
    const predictions: Prediction[] = [];
    for (const item of items) {
      // The main thread sends only texts it has checked with the same rules; anything else is a bug here.
      if (item.status === 'error') return { status: 'failed', error: { ...item.error, starting: false } };
      predictions.push(
        item.logits === undefined
          ? { label: item.label, scores: item.scores }
          : { label: item.label, scores: item.scores, logits: item.logits },
      );
    }
    const observation = mergeObservations(observations);
    if (observation === undefined) throw new Error('the predictor reported no run for the batch');
    return {
      status: 'ran',
      predictions,
      observation: { ...observation, worker: threadId },
      memory: predictor.memory(),
    };
  } catch (error) {
    return failed(error, false);
  } finally {
    stop();
  }
}

/** The runs of one batch as one observation of the batch (the pool's unit): counts and times summed, lists joined. */
function mergeObservations(runs: readonly RunObservation[]): RunObservation | undefined {
  if (runs.length <= 1) return runs[0];
  const sum = (pick: (run: RunObservation) => number) => runs.reduce((total, run) => total + pick(run), 0);
  return {
    backend: (runs[runs.length - 1] as RunObservation).backend,
    batchSize: sum((run) => run.batchSize),
    runMs: sum((run) => run.runMs),
    totalMs: sum((run) => run.totalMs),
    tokens: sum((run) => run.tokens),
    unknownTokens: sum((run) => run.unknownTokens),
    truncations: sum((run) => run.truncations),
    labels: runs.flatMap((run) => run.labels),
    confidences: runs.flatMap((run) => run.confidences),
    lengths: runs.flatMap((run) => run.lengths),
  };
}

function failed(error: unknown, starting: boolean): PoolReply {
  if (isShipshapeError(error))
    return { status: 'failed', error: { code: error.code, message: error.message, starting } };
  const message = error instanceof Error ? error.message : String(error);
  return { status: 'failed', error: { code: 'BACKEND_FAILED', message, starting } };
}
