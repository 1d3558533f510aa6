// A Predictor in front of a pool of workers that each hold their own session: checks and micro-batching here,
// tokenizing and inference there, so the caller's event loop never runs the model.
import { createBatcher, type Batcher } from './batcher.ts';
import type { EngineMemory } from './engine.ts';
import { ShipshapeError } from './errors.ts';
import {
  createRunObservers,
  predictInBatches,
  resolvePredictorSettings,
  textError,
} from './predictor-input.ts';
import { scoresByLabel } from './softmax.ts';
import type {
  BackendReport,
  BatchItem,
  Bundle,
  Prediction,
  Predictor,
  PredictorOptions,
  RunObservation,
} from './types.ts';

/** What one worker answers for one batch. */
export interface PoolRun {
  /** One per text, in order. */
  readonly predictions: readonly Prediction[];
  /** The worker predictor's observation of the run, with `worker` set. */
  readonly observation: RunObservation;
}

/**
 * The platform's side of a pool (worker threads on Node): workers that each loaded the same bundle and hold a
 * predictor without batching of their own.
 */
export interface WorkerPool {
  /** How many workers run batches at once. */
  readonly size: number;
  /** The backend the workers' predictors report. */
  readonly backend: BackendReport;
  /**
   * Runs one batch of valid texts on the next free worker; it waits in the pool's queue while every worker is busy.
   * Rejects with ShipshapeError BACKEND_FAILED when the worker fails or dies mid-batch (the pool replaces a dead
   * worker), DISPOSED once `close` has begun.
   */
  run(texts: readonly string[]): Promise<PoolRun>;
  /** The workers' engine memory, summed over the latest report of each live worker; `{}` when none can tell. */
  memory(): EngineMemory;
  /** Lets running batches finish, rejects queued ones with DISPOSED, then ends every worker. Idempotent. */
  close(): Promise<void>;
}

/**
 * Wraps `pool` in the `Predictor` contract. `predict` and `predictBatch` check texts exactly as the in-process
 * predictor does (`maxTextLength`, default 10,000); concurrent `predict` calls are micro-batched by `batching`
 * (default `{ maxBatchSize: 32, maxDelayMs: 2, maxQueue: 1024 }`) with up to `pool.size` batches in flight, one per
 * worker; `predictBatch` sends its runs of `batchSize` (default 32) to the pool all at once. Options that belong to
 * the workers' sessions (`backend`, `numThreads`, `returnLogits`) were given to the pool when it started.
 * @throws ShipshapeError INPUT_INVALID for an out-of-range option.
 */
export function createPooledPredictor(
  bundle: Bundle,
  pool: WorkerPool,
  options: PredictorOptions = {},
): Predictor {
  const settings = resolvePredictorSettings(options);
  const observers = createRunObservers();
  let disposing: Promise<void> | undefined;

  const disposedError = (): ShipshapeError =>
    new ShipshapeError('DISPOSED', `The predictor pool for ${bundle.source} was disposed; create a new one.`);

  async function runBatch(texts: readonly string[]): Promise<readonly Prediction[]> {
    const { predictions, observation } = await pool.run(texts);
    observers.notify(observation);
    // Structured cloning keeps every label as an own key but gives the scores Object.prototype again.
    const { labels } = bundle.manifest;
    return predictions.map((prediction) => ({
      ...prediction,
      scores: scoresByLabel(
        labels,
        labels.map((label) => prediction.scores[label] as number),
      ),
    }));
  }

  const batcher: Batcher<string, Prediction> | undefined =
    settings.batching === false
      ? undefined
      : createBatcher<string, Prediction>({
          ...settings.batching,
          maxConcurrentBatches: pool.size,
          run: runBatch,
        });

  return {
    bundle,
    get backend() {
      return pool.backend;
    },
    predict(text: string): Promise<Prediction> {
      if (disposing !== undefined) return Promise.reject(disposedError());
      const invalid = textError(text, settings.maxTextLength);
      if (invalid !== undefined) return Promise.reject(invalid);
      if (batcher !== undefined) return batcher.submit(text);
      return runBatch([text]).then((predictions) => predictions[0] as Prediction);
    },
    async predictBatch(
      texts: readonly unknown[],
      batchOptions: { batchSize?: number } = {},
    ): Promise<BatchItem[]> {
      if (disposing !== undefined) throw disposedError();
      return predictInBatches(texts, batchOptions.batchSize, settings.maxTextLength, runBatch);
    },
    observe: (listener) => observers.observe(listener),
    memory(): EngineMemory {
      return pool.memory();
    },
    dispose(): Promise<void> {
      disposing ??= (async () => {
        batcher?.close(disposedError());
        await pool.close();
        observers.clear();
      })();
      return disposing;
    },
  };
}
