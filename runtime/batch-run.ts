// Batches from texts to predictions: encode, run on the session, turn logits into scores, tell the observers; for
// dynamic-length models, texts of similar length share a run (length-groups.ts).
import type { EngineSession } from './engine-session.ts';
import type { PlainTensor } from './engine.ts';
import { ShipshapeError } from './errors.ts';
import { groupByLength } from './length-groups.ts';
import { feedsFor, type ModelIo } from './model-io.ts';
import type { RunObservers } from './predictor-input.ts';
import { argmax, scoresByLabel, softmax } from './softmax.ts';
import type { Encoding, Prediction, RunObservation, Tokenizer } from './types.ts';

export interface BatchRunOptions {
  readonly session: EngineSession;
  readonly tokenizer: Tokenizer;
  readonly io: ModelIo;
  /** The manifest's labels, in the model's output order. */
  readonly labels: readonly string[];
  /** Also return each prediction's raw logits. */
  readonly returnLogits: boolean;
  readonly observers: RunObservers;
  /** The per-run cost in token rows that `grouped` assumes when it splits texts into runs. */
  readonly overheadTokens: number;
}

/** Runs batches of valid texts on one session. */
export interface BatchRun {
  /**
   * Preprocesses, runs and post-processes `texts` in one session run. Call it under the session's `exclusive`.
   * @throws ShipshapeError DISPOSED or BACKEND_UNAVAILABLE (see `EngineSession.ready`); BACKEND_FAILED when the
   *   run fails or returns logits of the wrong dtype or size.
   */
  one(texts: readonly string[]): Promise<Prediction[]>;
  /**
   * Classifies `texts` of a dynamic-length model in runs of similar length: tokenizes each text once, groups them
   * with `groupByLength` (at most `maxRows` per run), queues each run under the session's `exclusive` and answers
   * in the caller's order. Each run is one observation, as with `one`. Call it outside `exclusive`.
   * @throws as `one`; the first failed run rejects the whole call.
   */
  grouped(texts: readonly string[], maxRows: number): Promise<Prediction[]>;
}

/** Makes the batch runs of one predictor. */
export function createBatchRun(options: BatchRunOptions): BatchRun {
  const { session, tokenizer, io, labels, returnLogits, observers, overheadTokens } = options;

  /** One session run of already tokenized texts; `encodeMs` is their share of the tokenizing time. */
  async function runEncoded(encodings: readonly Encoding[], encodeMs: number): Promise<Prediction[]> {
    await session.ready();
    const started = performance.now();
    const rows = encodings.length;
    const { outputs, runMs, backend } = await session.run(feedsFor(io, encodings, tokenizer.maxLen));
    const logits = outputs[io.logits];
    const width = labels.length;
    if (logits === undefined || logits.dtype !== 'float32' || logits.data.length !== rows * width) {
      throw new ShipshapeError(
        'BACKEND_FAILED',
        `The ${backend} session returned ${describeTensor(logits)} for output "${io.logits}"; expected ` +
          `float32 [${rows}, ${width}].`,
        { subject: backend },
      );
    }
    const { predictions, top, confidences } = toPredictions(logits.data, rows, labels, {
      outputsAreProbabilities: io.outputsAreProbabilities,
      returnLogits,
    });
    const counts = tokenCounts(encodings);
    observers.notify({
      backend,
      batchSize: rows,
      runMs,
      totalMs: encodeMs + performance.now() - started,
      tokens: counts.tokens,
      unknownTokens: counts.unknownTokens,
      truncations: counts.truncations,
      labels: top,
      confidences,
      lengths: counts.lengths,
    });
    return predictions;
  }

  return {
    async one(texts) {
      await session.ready();
      const started = performance.now();
      const encodings = texts.map((text) => tokenizer.encode(text));
      return runEncoded(encodings, performance.now() - started);
    },
    async grouped(texts, maxRows) {
      // Refuse before tokenizing anything once the predictor is disposed.
      if (session.disposing) await session.ready();
      const started = performance.now();
      const encodings = texts.map((text) => tokenizer.encode(text));
      const encodeMs = performance.now() - started;
      const groups = groupByLength(
        encodings.map((encoding) => encoding.tokenCount),
        { maxRows, maxLen: tokenizer.maxLen, overheadTokens },
      );
      const predictions = new Array<Prediction>(texts.length);
      await Promise.all(
        groups.map((group) =>
          session
            .exclusive(() =>
              runEncoded(
                group.map((index) => encodings[index] as Encoding),
                (encodeMs * group.length) / texts.length,
              ),
            )
            .then((grouped) => {
              group.forEach((index, i) => (predictions[index] = grouped[i] as Prediction));
            }),
        ),
      );
      return predictions;
    },
  };
}

/** Scores per row (softmax of the logits, unless the model outputs probabilities), the top label and its score. */
function toPredictions(
  logits: Float32Array,
  rows: number,
  labels: readonly string[],
  options: { outputsAreProbabilities: boolean; returnLogits: boolean },
): { predictions: Prediction[]; top: number[]; confidences: number[] } {
  const width = labels.length;
  const top: number[] = [];
  const confidences: number[] = [];
  const predictions: Prediction[] = [];
  for (let row = 0; row < rows; row++) {
    const offset = row * width;
    const probabilities = options.outputsAreProbabilities
      ? Array.from(logits.subarray(offset, offset + width))
      : softmax(logits, offset, width);
    const best = argmax(logits, offset, width);
    top.push(best);
    confidences.push(probabilities[best] as number);
    const scores = scoresByLabel(labels, probabilities);
    const label = labels[best] as string;
    predictions.push(
      options.returnLogits
        ? { label, scores, logits: Array.from(logits.subarray(offset, offset + width)) }
        : { label, scores },
    );
  }
  return { predictions, top, confidences };
}

/** The token counts of a batch for the monitor: totals, unknown tokens, truncations and each text's length. */
function tokenCounts(
  encodings: readonly Encoding[],
): Pick<RunObservation, 'tokens' | 'unknownTokens' | 'truncations' | 'lengths'> {
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
  return { tokens, unknownTokens, truncations, lengths };
}

function describeTensor(tensor: PlainTensor | undefined): string {
  return tensor === undefined ? 'nothing' : `${tensor.dtype} [${tensor.dims.join(', ')}]`;
}
