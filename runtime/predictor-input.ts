// What every predictor does before a session sees a text: option defaults, per-text checks, batches of `batchSize`.
// Shared by the in-process predictor and the worker pool, so both refuse the same inputs with the same words and
// report runs to their observers the same way.
import { BACKEND_NAMES } from './backends.ts';
import { ShipshapeError } from './errors.ts';
import type { BatchItem, Prediction, PredictorOptions, RunObservation } from './types.ts';

export const PREDICTOR_DEFAULTS = {
  maxTextLength: 10_000,
  numThreads: 1,
  maxBatchSize: 32,
  maxDelayMs: 2,
  maxQueue: 1024,
  batchSize: 32,
} as const;

const BACKEND_CHOICES: readonly string[] = ['auto', ...BACKEND_NAMES];

/** `PredictorOptions` with every default filled in. */
export interface PredictorSettings {
  /** As given when it is not a backend name at all: the platform's ladder makes the useful error message. */
  readonly backend: string;
  readonly maxTextLength: number;
  readonly numThreads: number;
  readonly returnLogits: boolean;
  readonly batching: { maxBatchSize: number; maxDelayMs: number; maxQueue: number } | false;
}

/**
 * Fills in the defaults of `options` (see `PredictorOptions`).
 * @throws ShipshapeError INPUT_INVALID when `maxTextLength` or `numThreads` is not an integer >= 1.
 */
export function resolvePredictorSettings(options: PredictorOptions): PredictorSettings {
  const backend: unknown = options.backend ?? 'auto';
  if (typeof backend !== 'string' || !BACKEND_CHOICES.includes(backend)) {
    return { ...resolvePredictorSettings({ ...options, backend: 'auto' }), backend: String(backend) };
  }
  const maxTextLength = options.maxTextLength ?? PREDICTOR_DEFAULTS.maxTextLength;
  const numThreads = options.numThreads ?? PREDICTOR_DEFAULTS.numThreads;
  checkPositiveInteger('maxTextLength', maxTextLength);
  checkPositiveInteger('numThreads', numThreads);
  const batching =
    options.batching === false
      ? false
      : {
          maxBatchSize: options.batching?.maxBatchSize ?? PREDICTOR_DEFAULTS.maxBatchSize,
          maxDelayMs: options.batching?.maxDelayMs ?? PREDICTOR_DEFAULTS.maxDelayMs,
          maxQueue: options.batching?.maxQueue ?? PREDICTOR_DEFAULTS.maxQueue,
        };
  return { backend, maxTextLength, numThreads, returnLogits: options.returnLogits === true, batching };
}

/** @throws ShipshapeError INPUT_INVALID naming the option when `value` is not an integer >= 1. */
export function checkPositiveInteger(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ShipshapeError('INPUT_INVALID', `${name} must be an integer >= 1, got ${String(value)}.`, {
      subject: name,
    });
  }
}

/** Why `value` cannot be classified (ends without a period), or undefined when it can. */
function invalidTextReason(value: unknown, maxTextLength: number): string | undefined {
  if (typeof value !== 'string')
    return `is not a string (got ${typeName(value)}); pass each text as a string`;
  if (value.length > maxTextLength) {
    return (
      `is ${value.length} characters long; the limit is ${maxTextLength} (maxTextLength). ` +
      'Shorten the text or raise maxTextLength'
    );
  }
  return undefined;
}

/** The INPUT_INVALID error `predict` rejects `text` with, or undefined when the text is acceptable. */
export function textError(text: unknown, maxTextLength: number): ShipshapeError | undefined {
  const invalid = invalidTextReason(text, maxTextLength);
  return invalid === undefined
    ? undefined
    : new ShipshapeError('INPUT_INVALID', `The text ${invalid}.`, { subject: 'text' });
}

/**
 * `predictBatch` over any way of running a batch: checks every item (an invalid one gets its own INPUT_INVALID and
 * the rest go on), splits the valid ones into runs of `batchSize` (default 32), starts every run at once through
 * `runBatch` (which queues them as its sessions allow) and answers in input order. With `runAll`, every valid text
 * goes to it in one call with `batchSize` as its limit of texts per run, and it splits them itself (length-aware
 * batching); it answers in the order it was given.
 * @throws ShipshapeError INPUT_INVALID when `texts` is not an array or `batchSize` is not an integer >= 1; whatever
 *   a run rejects with (BACKEND_FAILED, DISPOSED...).
 */
export async function predictInBatches(
  texts: readonly unknown[],
  batchSize: number | undefined,
  maxTextLength: number,
  runBatch: (texts: readonly string[]) => Promise<readonly Prediction[]>,
  runAll?: (texts: readonly string[], batchSize: number) => Promise<readonly Prediction[]>,
): Promise<BatchItem[]> {
  if (!Array.isArray(texts)) {
    throw new ShipshapeError(
      'INPUT_INVALID',
      `predictBatch takes an array of texts, got ${typeName(texts)}.`,
      {
        subject: 'texts',
      },
    );
  }
  const size = batchSize ?? PREDICTOR_DEFAULTS.batchSize;
  checkPositiveInteger('batchSize', size);
  const items = new Array<BatchItem | undefined>(texts.length);
  const valid: number[] = [];
  texts.forEach((text: unknown, index) => {
    const invalid = invalidTextReason(text, maxTextLength);
    if (invalid === undefined) valid.push(index);
    else
      items[index] = {
        status: 'error',
        error: { code: 'INPUT_INVALID', message: `Item ${index} ${invalid}.` },
      };
  });
  if (runAll !== undefined) {
    if (valid.length === 0) return items as BatchItem[];
    const predictions = await runAll(
      valid.map((index) => texts[index] as string),
      size,
    );
    valid.forEach((index, i) => (items[index] = { status: 'ok', ...(predictions[i] as Prediction) }));
    return items as BatchItem[];
  }
  const runs: Promise<void>[] = [];
  for (let start = 0; start < valid.length; start += size) {
    const indices = valid.slice(start, start + size);
    const chunk = indices.map((index) => texts[index] as string);
    runs.push(
      runBatch(chunk).then((predictions) => {
        indices.forEach((index, i) => (items[index] = { status: 'ok', ...(predictions[i] as Prediction) }));
      }),
    );
  }
  await Promise.all(runs);
  return items as BatchItem[];
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** The listeners of a predictor's `observe()`: subscribe, tell them of a run, forget them all. */
export interface RunObservers {
  observe(listener: (observation: RunObservation) => void): () => void;
  /** Tells every listener; a listener that throws is ignored, and said so once (an observer's bug never fails a run). */
  notify(observation: RunObservation): void;
  clear(): void;
}

export function createRunObservers(): RunObservers {
  const listeners = new Set<(observation: RunObservation) => void>();
  const warned = new WeakSet<object>();
  return {
    observe(listener) {
      // Wrap so the same function subscribed twice gets two independent subscriptions.
      const subscription = (observation: RunObservation): void => listener(observation);
      listeners.add(subscription);
      return () => {
        listeners.delete(subscription);
      };
    },
    notify(observation) {
      for (const listener of listeners) {
        try {
          listener(observation);
        } catch (error) {
          if (!warned.has(listener)) {
            warned.add(listener);
            const reason = error instanceof Error ? error.message : String(error);
            console.warn(`shipshape: an observe() listener threw and was ignored: ${reason}`);
          }
        }
      }
    },
    clear: () => listeners.clear(),
  };
}
