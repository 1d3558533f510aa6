// The public contracts of the runtime in one place: bundles, tokenizers, predictors, observations.
import type { BackendChoice, BackendName, BackendReport } from './backends.ts';
import type { Manifest } from './bundle/manifest.ts';
import type { EngineMemory } from './engine.ts';
import type { ErrorCode } from './errors.ts';

export type { Manifest } from './bundle/manifest.ts';
// The backend types live with the ladder (backends.ts); re-exported here so the public contracts stay in one place.
export type { BackendChoice, BackendName, BackendReport, SkippedBackend } from './backends.ts';

/** One text after preprocessing. */
export interface Encoding {
  /** Exactly `maxLen` ids: the first `maxLen` tokens' ids, then the pad id. */
  readonly ids: Int32Array;
  /** All tokens before truncation (made on first access). */
  readonly tokens: readonly string[];
  /** How many tokens the text had before truncation. */
  readonly tokenCount: number;
  /** Tokens that mapped to the unk id (before truncation). */
  readonly unknown: number;
  /** True when the text had more than `maxLen` tokens. */
  readonly truncated: boolean;
}

/** Reproduces training's preprocessing id for id. */
export interface Tokenizer {
  readonly name: string;
  readonly maxLen: number;
  readonly unkId: number;
  readonly padId: number;
  readonly vocabSize: number;
  /** Splits a text into tokens, exactly as the training side's tokenizer does. Never throws on a string. */
  tokenize(text: string): string[];
  /** Tokenizes, maps to ids, truncates and pads to `maxLen`. Never throws on a string. */
  encode(text: string): Encoding;
}

/** A validated model bundle: the manifest, the model's bytes and a tokenizer built from it. */
export interface Bundle {
  readonly manifest: Manifest;
  readonly modelBytes: Uint8Array;
  readonly tokenizer: Tokenizer;
  /** Where it was loaded from, for messages. */
  readonly source: string;
  /** Reads another file of the bundle (verified against the manifest), e.g. `parity.jsonl`. */
  readFile(name: string): Promise<Uint8Array>;
}

/** One prediction: the top label and a probability per label, in the manifest's label order. */
export interface Prediction {
  readonly label: string;
  readonly scores: Readonly<Record<string, number>>;
  /** The model's raw logits in label order; present only with `PredictorOptions.returnLogits`. */
  readonly logits?: readonly number[];
}

/** One item of `predictBatch`: a prediction, or that item's own error; the rest of the batch is unaffected. */
export type BatchItem =
  | ({ readonly status: 'ok' } & Prediction)
  | { readonly status: 'error'; readonly error: { readonly code: ErrorCode; readonly message: string } };

/** What one session run reports to observers (a health monitor, metrics, logs). */
export interface RunObservation {
  readonly backend: BackendName;
  readonly batchSize: number;
  /** Wall-clock ms of the session run alone. */
  readonly runMs: number;
  /** Wall-clock ms from preprocessing to results, the run included. */
  readonly totalMs: number;
  readonly tokens: number;
  readonly unknownTokens: number;
  readonly truncations: number;
  /** Top label index per item, for label-distribution drift. */
  readonly labels: readonly number[];
  /** Probability of the top label per item (the model's confidence), for confidence-based accuracy estimates. */
  readonly confidences: readonly number[];
  /** Tokens per item before truncation, for token-length drift (`tokens` is their sum). */
  readonly lengths: readonly number[];
  /** The worker that ran the batch (its thread id on Node); set only by a predictor in front of a worker pool. */
  readonly worker?: number;
}

export interface BatchingOptions {
  /** Most items coalesced into one session run. Default 32. */
  readonly maxBatchSize?: number;
  /** Longest a call waits for company before its batch runs, in ms. Default 2. */
  readonly maxDelayMs?: number;
  /** Most items waiting; past it `predict` fails fast with OVERLOADED. Default 1024. */
  readonly maxQueue?: number;
}

export interface PredictorOptions {
  /** Which backend to use. Default 'auto': the first that works on the platform's ladder. */
  readonly backend?: BackendChoice;
  /** Longest accepted text in UTF-16 code units; longer items get INPUT_INVALID. Default 10,000. */
  readonly maxTextLength?: number;
  /** Dynamic micro-batching of concurrent `predict` calls; `false` runs each call alone. */
  readonly batching?: BatchingOptions | false;
  /** Threads for backends that take them. Default 1. */
  readonly numThreads?: number;
  /** Also return each prediction's raw `logits` (for parity checks and calibration). Default false. */
  readonly returnLogits?: boolean;
  /**
   * Length-aware batching, for bundles whose manifest says `model.sequence.dynamic`: each session run is padded to
   * its longest text (rounded up to a multiple of 8) instead of `maxLen`, and `predictBatch` and the micro-batcher
   * group texts of similar length into runs (answers keep the caller's order). Default true; `false` pads every run
   * to `maxLen` and keeps the caller's order in runs, as for a fixed-length bundle (for comparisons). No effect on
   * fixed-length bundles. `{ overheadTokens }` sets the per-run cost, in token rows, that the split into runs
   * assumes (default `DEFAULT_OVERHEAD_TOKENS` in length-groups.ts), for measuring the split.
   */
  readonly lengthAware?: boolean | { readonly overheadTokens: number };
}

export interface Predictor {
  readonly bundle: Bundle;
  readonly backend: BackendReport;
  /** Classifies one text. Concurrent calls are micro-batched. Throws INPUT_INVALID, OVERLOADED, DISPOSED. */
  predict(text: string): Promise<Prediction>;
  /** Classifies many texts in input order, `batchSize` per session run (default 32). */
  predictBatch(texts: readonly unknown[], options?: { batchSize?: number }): Promise<BatchItem[]>;
  /** Subscribes to run observations; returns the unsubscribe function. */
  observe(listener: (observation: RunObservation) => void): () => void;
  /** The engine's memory now (WASM heap size on WASM backends); `{}` when the backend cannot tell. */
  memory(): EngineMemory;
  /** Releases the session and rejects queued calls with DISPOSED. Idempotent. */
  dispose(): Promise<void>;
}
