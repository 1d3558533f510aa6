// What the bench parent asks a fresh Node child to measure, and what the child answers.
import type { Scenario } from '../report.ts';
import type { StabilityOptions } from '../stats.ts';

export type NodeBackend = 'native' | 'wasm';

/** A throughput/latency measurement of one bundle, backend and batch size (one child per job, for clean memory). */
export interface InProcessJob {
  readonly kind: 'in-process';
  readonly id: string;
  readonly bundleDir: string;
  readonly backend: NodeBackend;
  readonly batchSize: number;
  readonly numThreads: number;
  /** Least warmup; it goes on until throughput stops rising (see `warmUntilPlateau`), up to `maxWarmupMs`. */
  readonly warmupMs: number;
  readonly maxWarmupMs: number;
  readonly windowMs: number;
  readonly minSamplesPerWindow: number;
  readonly stability: StabilityOptions;
  readonly minTailSamples: number;
  readonly retainSamples: number;
}

/** One cold-start trial: a fresh process to its first prediction. */
export interface ColdStartJob {
  readonly kind: 'cold-start';
  readonly id: string;
  readonly bundleDir: string;
  readonly backend: NodeBackend;
  readonly numThreads: number;
}

export type NodeJob = InProcessJob | ColdStartJob;

export interface ColdStartTrial {
  readonly importRuntimeMs: number;
  readonly loadBundleMs: number;
  readonly createPredictorMs: number;
  readonly firstPredictionMs: number;
  /** CPU ms of the process from loadBundle to the first result (all threads). */
  readonly cpuMs: number;
  readonly backend: NonNullable<Scenario['backend']>;
  readonly memory: NonNullable<Scenario['memory']>;
  readonly modelBytes: number;
}

export type ChildMessage =
  | { readonly type: 'progress'; readonly detail: string }
  | { readonly type: 'in-process-result'; readonly scenario: Scenario }
  | { readonly type: 'cold-start-result'; readonly trial: ColdStartTrial }
  | { readonly type: 'error'; readonly message: string };
