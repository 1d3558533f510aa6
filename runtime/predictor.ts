// The portable predictor: text in, label and scores out, on whatever backend a Platform can start.
import { createBatcher, type Batcher } from './batcher.ts';
import type { EngineMemory, InferenceEngine, PlainTensor, Platform } from './engine.ts';
import { ShipshapeError, isShipshapeError, messageOf } from './errors.ts';
import {
  createRunObservers,
  predictInBatches,
  resolvePredictorSettings,
  textError,
} from './predictor-input.ts';
import { argmax, scoresByLabel, softmax } from './softmax.ts';
import type {
  BackendName,
  BackendReport,
  BatchItem,
  Bundle,
  Encoding,
  Manifest,
  Prediction,
  Predictor,
  PredictorOptions,
  SkippedBackend,
} from './types.ts';

/** `PredictorOptions` plus the platform to run on; the platform entries (`shipshape/node`, ...) fill it in. */
export interface PortablePredictorOptions extends PredictorOptions {
  readonly platform: Platform;
}

/**
 * Starts a predictor for `bundle` on `options.platform`.
 *
 * Backend choice: 'auto' (default) walks the platform's ladder and takes the first backend whose engine starts,
 * recording why each one above it was skipped; a named backend starts exactly that one or fails. If the engine later
 * reports a lost device, the predictor rebuilds on the next backend down the ladder, keeps serving, and says so in
 * `backend.fallbackReason` (logged once with `console.warn`).
 *
 * @throws ShipshapeError BACKEND_UNAVAILABLE when the named backend is not on the platform's ladder or cannot start,
 *   or when no backend on the ladder starts ('auto'); INPUT_INVALID for an out-of-range option;
 *   BUNDLE_MODEL_MISMATCH when the session's inputs or outputs are not the manifest's.
 */
export async function createPredictor(bundle: Bundle, options: PortablePredictorOptions): Promise<Predictor> {
  const { platform } = options;
  const settings = resolvePredictorSettings(options);
  const io = resolveIo(bundle.manifest);
  const labels = bundle.manifest.labels;
  const tokenizer = bundle.tokenizer;
  const maxLen = tokenizer.maxLen;

  let { engine, report } = await startOnLadder(
    platform,
    bundle.modelBytes,
    settings.backend,
    settings.numThreads,
  );
  try {
    checkEngineIo(engine, io, bundle.source);
  } catch (error) {
    await engine.dispose();
    throw error;
  }

  const observers = createRunObservers();
  let tail: Promise<unknown> = Promise.resolve();
  let disposing: Promise<void> | undefined;
  let lostReason: string | undefined;
  let broken: ShipshapeError | undefined;

  const disposedError = (): ShipshapeError =>
    new ShipshapeError('DISPOSED', `The predictor for ${bundle.source} was disposed; create a new one.`);

  /** One session run at a time per engine: calls queue behind the current run. */
  function exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = tail.then(task);
    tail = result.catch(() => undefined);
    return result;
  }

  function watch(current: InferenceEngine): void {
    current.onLost?.((reason) => {
      if (current !== engine || lostReason !== undefined || disposing !== undefined) return;
      lostReason = reason;
      // Rebuild now rather than at the next call, so `backend` tells the truth as soon as possible.
      exclusive(rebuildIfLost).catch(() => undefined);
    });
  }
  watch(engine);

  async function rebuildIfLost(): Promise<void> {
    const reason = lostReason;
    if (reason === undefined || disposing !== undefined) return;
    const lost = engine;
    const below = platform.ladder.slice(platform.ladder.indexOf(lost.backend) + 1);
    const skipped: SkippedBackend[] = [
      ...report.skipped,
      { backend: lost.backend, reason: `device lost while serving: ${reason}` },
    ];
    let next: InferenceEngine | undefined;
    let lastError: unknown;
    for (const backend of below) {
      try {
        next = await platform.createEngine(backend, bundle.modelBytes, { numThreads: settings.numThreads });
        checkEngineIo(next, io, bundle.source);
        break;
      } catch (error) {
        if (next !== undefined) await next.dispose().catch(() => undefined);
        next = undefined;
        lastError = error;
        skipped.push({ backend, reason: messageOf(error) });
      }
    }
    lostReason = undefined;
    await lost.dispose().catch(() => undefined);
    if (next === undefined) {
      broken = new ShipshapeError(
        'BACKEND_UNAVAILABLE',
        `The ${lost.backend} device was lost (${reason}) and no backend below it on ${platform.name} could start` +
          (below.length === 0 ? '.' : `: ${skipped.slice(-below.length).map(describeSkip).join('; ')}.`) +
          ' Create a new predictor.',
        { cause: lastError, subject: lost.backend },
      );
      return;
    }
    engine = next;
    const fallbackReason = `${lost.backend} device lost (${reason}); rebuilt on ${next.backend}`;
    report = freezeReport({ backend: next.backend, skipped, fallbackReason });
    console.warn(`shipshape: ${fallbackReason}.`);
    watch(next);
  }

  function throwIfBroken(): void {
    if (broken !== undefined) throw broken;
  }

  function feedsFor(encodings: readonly Encoding[]): Record<string, PlainTensor> {
    const feeds: Record<string, PlainTensor> = { [io.ids.name]: packIds(encodings, maxLen, io.ids.dtype) };
    if (io.mask !== undefined) feeds[io.mask.name] = packMask(encodings, maxLen, io.mask.dtype, io.padLeft);
    return feeds;
  }

  /** Preprocesses, runs and post-processes one batch of valid texts. Runs under `exclusive`. */
  async function runBatch(texts: readonly string[]): Promise<Prediction[]> {
    if (disposing !== undefined) throw disposedError();
    if (lostReason !== undefined) await rebuildIfLost();
    throwIfBroken();
    const started = performance.now();
    const encodings = texts.map((text) => tokenizer.encode(text));
    const feeds = feedsFor(encodings);
    let runStarted = performance.now();
    let outputs: Record<string, PlainTensor>;
    try {
      outputs = await engine.run(feeds);
    } catch (error) {
      // A device lost mid-run: rebuild below it and retry this batch once, so callers never see the loss.
      if (lostReason === undefined) throw error;
      await rebuildIfLost();
      throwIfBroken();
      runStarted = performance.now();
      outputs = await engine.run(feeds);
    }
    const runMs = performance.now() - runStarted;
    const logits = outputs[io.logits];
    const width = labels.length;
    if (logits === undefined || logits.dtype !== 'float32' || logits.data.length !== texts.length * width) {
      throw new ShipshapeError(
        'BACKEND_FAILED',
        `The ${engine.backend} session returned ${describeTensor(logits)} for output "${io.logits}"; expected ` +
          `float32 [${texts.length}, ${width}].`,
        { subject: engine.backend },
      );
    }
    const top: number[] = [];
    const confidences: number[] = [];
    const predictions = encodings.map((_, row): Prediction => {
      const offset = row * width;
      const probabilities = io.outputsAreProbabilities
        ? Array.from(logits.data.subarray(offset, offset + width))
        : softmax(logits.data, offset, width);
      const best = argmax(logits.data, offset, width);
      top.push(best);
      confidences.push(probabilities[best] as number);
      const scores = scoresByLabel(labels, probabilities);
      const label = labels[best] as string;
      return settings.returnLogits
        ? { label, scores, logits: Array.from(logits.data.subarray(offset, offset + width)) }
        : { label, scores };
    });
    let tokens = 0;
    let unknownTokens = 0;
    let truncations = 0;
    const lengths: number[] = [];
    for (const encoding of encodings) {
      lengths.push(encoding.tokenCount);
      tokens += encoding.tokenCount;
      unknownTokens += encoding.unknown;
      if (encoding.truncated) truncations += 1;
    }
    observers.notify({
      backend: engine.backend,
      batchSize: texts.length,
      runMs,
      totalMs: performance.now() - started,
      tokens,
      unknownTokens,
      truncations,
      labels: top,
      confidences,
      lengths,
    });
    return predictions;
  }

  const batcher: Batcher<string, Prediction> | undefined =
    settings.batching === false
      ? undefined
      : createBatcher<string, Prediction>({
          ...settings.batching,
          run: (texts) => exclusive(() => runBatch(texts)),
        });

  const predictor: Predictor = {
    bundle,
    get backend() {
      return report;
    },
    predict(text: string): Promise<Prediction> {
      if (disposing !== undefined) return Promise.reject(disposedError());
      const invalid = textError(text, settings.maxTextLength);
      if (invalid !== undefined) return Promise.reject(invalid);
      if (batcher !== undefined) return batcher.submit(text);
      return exclusive(() => runBatch([text])).then((predictions) => predictions[0] as Prediction);
    },
    async predictBatch(
      texts: readonly unknown[],
      batchOptions: { batchSize?: number } = {},
    ): Promise<BatchItem[]> {
      if (disposing !== undefined) throw disposedError();
      return predictInBatches(texts, batchOptions.batchSize, settings.maxTextLength, (chunk) =>
        exclusive(() => runBatch(chunk)),
      );
    },
    observe: (listener) => observers.observe(listener),
    memory(): EngineMemory {
      return engine.memory?.() ?? {};
    },
    dispose(): Promise<void> {
      disposing ??= (async () => {
        batcher?.close(disposedError());
        // Let the run in progress finish for its callers; everything queued after it sees DISPOSED.
        await exclusive(() => engine.dispose());
        observers.clear();
      })();
      return disposing;
    },
  };
  return predictor;
}

interface ResolvedIo {
  readonly ids: { readonly name: string; readonly dtype: 'int64' | 'int32' };
  readonly mask: { readonly name: string; readonly dtype: 'int64' | 'int32' } | undefined;
  readonly logits: string;
  /** The manifest's output role is 'probabilities': the model applied softmax itself, so scores are its outputs. */
  readonly outputsAreProbabilities: boolean;
  readonly padLeft: boolean;
}

function resolveIo(manifest: Manifest): ResolvedIo {
  const input = (role: 'input_ids' | 'attention_mask') => {
    const found = manifest.model.inputs.find((candidate) => candidate.role === role);
    if (found === undefined) return undefined;
    if (found.dtype === 'float32') {
      throw new ShipshapeError(
        'BUNDLE_INVALID',
        `Model input "${found.name}" (${role}) is float32; shipshape feeds int64 or int32.`,
        { subject: 'manifest.json' },
      );
    }
    return { name: found.name, dtype: found.dtype };
  };
  const ids = input('input_ids');
  const logits = manifest.model.outputs[0];
  if (ids === undefined || logits === undefined) {
    throw new ShipshapeError(
      'BUNDLE_INVALID',
      'The manifest needs a model input with role "input_ids" and one output.',
      {
        subject: 'manifest.json',
      },
    );
  }
  return {
    ids,
    mask: input('attention_mask'),
    logits: logits.name,
    outputsAreProbabilities: logits.role === 'probabilities',
    padLeft: manifest.preprocessing.padding === 'left',
  };
}

function checkEngineIo(engine: InferenceEngine, io: ResolvedIo, source: string): void {
  const fed = [io.ids.name, ...(io.mask === undefined ? [] : [io.mask.name])];
  const wanted = engine.inputs.map((input) => input.name);
  const missing = wanted.filter((name) => !fed.includes(name));
  const unknown = fed.filter((name) => !wanted.includes(name));
  const hasLogits = engine.outputs.some((output) => output.name === io.logits);
  if (missing.length > 0 || unknown.length > 0 || !hasLogits) {
    throw new ShipshapeError(
      'BUNDLE_MODEL_MISMATCH',
      `The ${engine.backend} session of ${source} takes inputs [${wanted.join(', ')}] and gives outputs ` +
        `[${engine.outputs.map((output) => output.name).join(', ')}], but the manifest feeds [${fed.join(', ')}] ` +
        `and reads "${io.logits}". Re-export the bundle so the manifest matches the model.`,
      { subject: 'model' },
    );
  }
}

async function startOnLadder(
  platform: Platform,
  model: Uint8Array,
  choice: string,
  numThreads: number,
): Promise<{ engine: InferenceEngine; report: BackendReport }> {
  const { ladder } = platform;
  if (choice !== 'auto' && !ladder.includes(choice as BackendName)) {
    throw new ShipshapeError(
      'BACKEND_UNAVAILABLE',
      `Unsupported backend "${String(choice)}" on ${platform.name}. Should be one of: ${ladder.join(', ')}.`,
      { subject: String(choice) },
    );
  }
  const skipped: SkippedBackend[] = [];
  if (choice !== 'auto') {
    for (const backend of ladder.slice(0, ladder.indexOf(choice as BackendName))) {
      skipped.push({ backend, reason: `not requested (backend: "${choice}")` });
    }
    try {
      const engine = await platform.createEngine(choice as BackendName, model, { numThreads });
      return { engine, report: freezeReport({ backend: engine.backend, skipped }) };
    } catch (error) {
      throw asUnavailable(error, choice as BackendName);
    }
  }
  let lastError: unknown;
  for (const backend of ladder) {
    try {
      const engine = await platform.createEngine(backend, model, { numThreads });
      return { engine, report: freezeReport({ backend: engine.backend, skipped }) };
    } catch (error) {
      lastError = error;
      skipped.push({ backend, reason: messageOf(error) });
    }
  }
  throw new ShipshapeError(
    'BACKEND_UNAVAILABLE',
    `No backend could start on ${platform.name}: ${skipped.map(describeSkip).join('; ')}.`,
    { cause: lastError },
  );
}

function asUnavailable(error: unknown, backend: BackendName): ShipshapeError {
  if (isShipshapeError(error)) return error;
  return new ShipshapeError(
    'BACKEND_UNAVAILABLE',
    `Backend "${backend}" could not start: ${messageOf(error)}`,
    {
      cause: error,
      subject: backend,
    },
  );
}

function freezeReport(report: BackendReport): BackendReport {
  return Object.freeze({
    ...report,
    skipped: Object.freeze(report.skipped.map((skip) => Object.freeze({ ...skip }))),
  });
}

function describeSkip(skip: SkippedBackend): string {
  return `${skip.backend}: ${skip.reason}`;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Packs ids row by row into the manifest's dtype; int64 is written as two int32 words (ids are never negative). */
function packIds(encodings: readonly Encoding[], maxLen: number, dtype: 'int64' | 'int32'): PlainTensor {
  const dims = [encodings.length, maxLen];
  if (dtype === 'int32') {
    const data = new Int32Array(encodings.length * maxLen);
    for (let row = 0; row < encodings.length; row++) data.set((encodings[row] as Encoding).ids, row * maxLen);
    return { dtype, data, dims };
  }
  const data = new BigInt64Array(encodings.length * maxLen);
  if (LITTLE_ENDIAN) {
    const words = new Int32Array(data.buffer);
    for (let row = 0; row < encodings.length; row++) {
      const ids = (encodings[row] as Encoding).ids;
      const base = row * maxLen * 2;
      for (let i = 0; i < ids.length; i++) words[base + i * 2] = ids[i] as number;
    }
  } else {
    for (let row = 0; row < encodings.length; row++) {
      const ids = (encodings[row] as Encoding).ids;
      for (let i = 0; i < ids.length; i++) data[row * maxLen + i] = BigInt(ids[i] as number);
    }
  }
  return { dtype, data, dims };
}

/** 1 for each kept token, 0 for padding, on the side the manifest pads. */
function packMask(
  encodings: readonly Encoding[],
  maxLen: number,
  dtype: 'int64' | 'int32',
  padLeft: boolean,
): PlainTensor {
  const dims = [encodings.length, maxLen];
  const data =
    dtype === 'int64'
      ? new BigInt64Array(encodings.length * maxLen)
      : new Int32Array(encodings.length * maxLen);
  encodings.forEach((encoding, row) => {
    const kept = Math.min(encoding.tokenCount, maxLen);
    const start = row * maxLen + (padLeft ? maxLen - kept : 0);
    if (data instanceof BigInt64Array) data.fill(1n, start, start + kept);
    else data.fill(1, start, start + kept);
  });
  return data instanceof BigInt64Array ? { dtype: 'int64', data, dims } : { dtype: 'int32', data, dims };
}

function describeTensor(tensor: PlainTensor | undefined): string {
  return tensor === undefined ? 'nothing' : `${tensor.dtype} [${tensor.dims.join(', ')}]`;
}
