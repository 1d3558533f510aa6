// The portable predictor: text in, label and scores out, on whatever backend a Platform can start. It composes the
// session lifecycle (engine-session.ts), the model's inputs (model-io.ts) and one batch's run (batch-run.ts).
import { createBatchRun } from './batch-run.ts';
import { createBatcher, type Batcher } from './batcher.ts';
import { startEngineSession } from './engine-session.ts';
import type { EngineMemory, Platform } from './engine.ts';
import { ShipshapeError } from './errors.ts';
import { DEFAULT_OVERHEAD_TOKENS } from './length-groups.ts';
import { resolveModelIo } from './model-io.ts';
import {
  createRunObservers,
  predictInBatches,
  resolvePredictorSettings,
  textError,
} from './predictor-input.ts';
import type { BatchItem, Bundle, Prediction, Predictor, PredictorOptions } from './types.ts';

/** `PredictorOptions` plus the platform to run on; the platform entries (`shipshape/node`, ...) fill it in. */
export interface PortablePredictorOptions extends PredictorOptions {
  readonly platform: Platform;
}

/**
 * Starts a predictor for `bundle` on `options.platform`.
 *
 * Backend choice: 'auto' (default) walks the platform's ladder (see `BACKEND_LADDERS` in backends.ts) and takes the
 * first backend whose engine starts, recording why each one above it was skipped; a named backend starts exactly
 * that one or fails. If the engine later reports a lost device, the predictor rebuilds on the next backend down the
 * ladder, keeps serving, and says so in `backend.fallbackReason` (logged once with `console.warn`).
 *
 * @throws ShipshapeError BACKEND_UNAVAILABLE when the named backend is not on the platform's ladder or cannot start,
 *   or when no backend on the ladder starts ('auto'); INPUT_INVALID for an out-of-range option;
 *   BUNDLE_MODEL_MISMATCH when the session's inputs or outputs are not the manifest's.
 */
export async function createPredictor(bundle: Bundle, options: PortablePredictorOptions): Promise<Predictor> {
  const settings = resolvePredictorSettings(options);
  const manifestIo = resolveModelIo(bundle.manifest);
  // `lengthAware: false` runs a dynamic-length bundle exactly as a fixed-length one: every run padded to maxLen.
  const lengthAware = manifestIo.dynamicLength && options.lengthAware !== false;
  const overheadTokens =
    typeof options.lengthAware === 'object' && options.lengthAware !== null
      ? options.lengthAware.overheadTokens
      : DEFAULT_OVERHEAD_TOKENS;
  if (!(Number.isFinite(overheadTokens) && overheadTokens >= 0)) {
    throw new ShipshapeError(
      'INPUT_INVALID',
      `lengthAware.overheadTokens must be a finite number >= 0, got ${String(overheadTokens)}.`,
      { subject: 'lengthAware.overheadTokens' },
    );
  }
  const io = lengthAware ? manifestIo : { ...manifestIo, dynamicLength: false };
  const session = await startEngineSession({
    platform: options.platform,
    model: bundle.modelBytes,
    source: bundle.source,
    io,
    backend: settings.backend,
    numThreads: settings.numThreads,
  });
  const observers = createRunObservers();
  const runBatch = createBatchRun({
    session,
    tokenizer: bundle.tokenizer,
    io,
    labels: bundle.manifest.labels,
    returnLogits: settings.returnLogits,
    observers,
    overheadTokens,
  });
  const disposedError = (): ShipshapeError =>
    new ShipshapeError('DISPOSED', `The predictor for ${bundle.source} was disposed; create a new one.`);

  const batcher: Batcher<string, Prediction> | undefined =
    settings.batching === false
      ? undefined
      : createBatcher<string, Prediction>({
          ...settings.batching,
          // A window holds at most maxBatchSize texts, so its runs stay within the limit.
          run: (texts) =>
            lengthAware
              ? runBatch.grouped(texts, texts.length)
              : session.exclusive(() => runBatch.one(texts)),
        });

  let disposing: Promise<void> | undefined;
  const predictor: Predictor = {
    bundle,
    get backend() {
      return session.report;
    },
    predict(text: string): Promise<Prediction> {
      if (disposing !== undefined) return Promise.reject(disposedError());
      const invalid = textError(text, settings.maxTextLength);
      if (invalid !== undefined) return Promise.reject(invalid);
      if (batcher !== undefined) return batcher.submit(text);
      return session
        .exclusive(() => runBatch.one([text]))
        .then((predictions) => predictions[0] as Prediction);
    },
    async predictBatch(
      texts: readonly unknown[],
      batchOptions: { batchSize?: number } = {},
    ): Promise<BatchItem[]> {
      if (disposing !== undefined) throw disposedError();
      return predictInBatches(
        texts,
        batchOptions.batchSize,
        settings.maxTextLength,
        (chunk) => session.exclusive(() => runBatch.one(chunk)),
        lengthAware ? (valid, batchSize) => runBatch.grouped(valid, batchSize) : undefined,
      );
    },
    observe: (listener) => observers.observe(listener),
    memory(): EngineMemory {
      return session.memory();
    },
    dispose(): Promise<void> {
      disposing ??= (async () => {
        batcher?.close(disposedError());
        await session.dispose();
        observers.clear();
      })();
      return disposing;
    },
  };
  return predictor;
}
