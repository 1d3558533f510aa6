// Rolling time windows of mergeable counts: a ring of 10 s latency buckets and a ring of 60 s quality buckets.
import { LATENCY_BOUNDS_MS } from './types.ts';

/** Index of the bucket `value` falls in: the first bound it is at or below, or `bounds.length` above them all. */
export function bucketIndex(bounds: readonly number[], value: number): number {
  let low = 0;
  let high = bounds.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (value <= (bounds[middle] as number)) high = middle;
    else low = middle + 1;
  }
  return low;
}

/** Counts of the latency ring: inference requests, their latency, server errors, runs and errors by code. */
export interface LatencyBucket {
  kind: 'latency';
  start: number;
  /** Inference requests (`/v1/predict`, the v2 infer route) and those answered 5xx. */
  requests: number;
  serverErrors: number;
  /** Inference request durations on `LATENCY_BOUNDS_MS` (one more count for above the last bound). */
  latency: number[];
  /** Session runs, the items they classified, and their durations on `LATENCY_BOUNDS_MS`. */
  runs: number;
  items: number;
  runLatency: number[];
  /** Error answers of any route, by code. */
  errors: Record<string, number>;
}

/** Counts of the quality ring: what the texts looked like, what the model said, and what feedback said. */
export interface QualityBucket {
  kind: 'quality';
  start: number;
  texts: number;
  tokens: number;
  unknownTokens: number;
  truncations: number;
  /** Top labels by manifest index. */
  labels: number[];
  /** Token counts on the reference's bins (lengths past the last edge in the last bin, as the exporter counts). */
  lengths: number[];
  /** Top-label confidence on the calibration's bins (empty without calibration). */
  confidence: number[];
  /** Sum over texts of the calibrated accuracy of their confidence bin: the expected number of correct answers. */
  expectedCorrect: number;
  feedbackCorrect: number;
  feedbackIncorrect: number;
}

export type Bucket = LatencyBucket | QualityBucket;

/** The bin counts a quality bucket needs, from the manifest. */
export interface QualityShape {
  readonly labels: number;
  readonly lengthBins: number;
  readonly confidenceBins: number;
}

const zeros = (n: number): number[] => new Array<number>(n).fill(0);

export function emptyLatencyBucket(start: number): LatencyBucket {
  const bins = LATENCY_BOUNDS_MS.length + 1;
  return {
    kind: 'latency',
    start,
    requests: 0,
    serverErrors: 0,
    latency: zeros(bins),
    runs: 0,
    items: 0,
    runLatency: zeros(bins),
    errors: {},
  };
}

export function emptyQualityBucket(start: number, shape: QualityShape): QualityBucket {
  return {
    kind: 'quality',
    start,
    texts: 0,
    tokens: 0,
    unknownTokens: 0,
    truncations: 0,
    labels: zeros(shape.labels),
    lengths: zeros(shape.lengthBins),
    confidence: zeros(shape.confidenceBins),
    expectedCorrect: 0,
    feedbackCorrect: 0,
    feedbackIncorrect: 0,
  };
}

function addArray(target: number[], source: readonly number[], sign: number): void {
  const n = Math.min(target.length, source.length);
  for (let i = 0; i < n; i += 1) target[i] = (target[i] as number) + sign * (source[i] as number);
}

function addRecord(
  target: Record<string, number>,
  source: Readonly<Record<string, number>>,
  sign: number,
): void {
  for (const [key, value] of Object.entries(source)) {
    const next = (target[key] ?? 0) + sign * value;
    if (next === 0) delete target[key];
    else target[key] = next;
  }
}

/** Adds `source` into `target` (`sign` -1 subtracts: what a bucket gained since a copy of it). */
export function addBucket(target: Bucket, source: Bucket, sign = 1): void {
  if (target.kind === 'latency' && source.kind === 'latency') {
    target.requests += sign * source.requests;
    target.serverErrors += sign * source.serverErrors;
    addArray(target.latency, source.latency, sign);
    target.runs += sign * source.runs;
    target.items += sign * source.items;
    addArray(target.runLatency, source.runLatency, sign);
    addRecord(target.errors, source.errors, sign);
  } else if (target.kind === 'quality' && source.kind === 'quality') {
    target.texts += sign * source.texts;
    target.tokens += sign * source.tokens;
    target.unknownTokens += sign * source.unknownTokens;
    target.truncations += sign * source.truncations;
    addArray(target.labels, source.labels, sign);
    addArray(target.lengths, source.lengths, sign);
    addArray(target.confidence, source.confidence, sign);
    target.expectedCorrect += sign * source.expectedCorrect;
    target.feedbackCorrect += sign * source.feedbackCorrect;
    target.feedbackIncorrect += sign * source.feedbackIncorrect;
  }
}

/** A deep copy (plain JSON data). */
export function copyBucket<B extends Bucket>(bucket: B): B {
  return structuredClone(bucket);
}

/**
 * A ring of fixed-width time buckets covering a rolling window. Each bucket also remembers a copy of itself as of
 * the last `takeChanges()`, so a Worker isolate can send only what changed (the hot path writes each count once).
 */
export class BucketRing<B extends Bucket> {
  readonly widthMs: number;
  readonly size: number;
  private readonly slots: (B | undefined)[];
  private readonly taken: (B | undefined)[];
  private readonly dirty: boolean[];

  constructor(
    widthSeconds: number,
    windowSeconds: number,
    private readonly create: (start: number) => B,
  ) {
    this.widthMs = widthSeconds * 1000;
    this.size = Math.max(1, Math.ceil(windowSeconds / widthSeconds));
    this.slots = new Array<B | undefined>(this.size).fill(undefined);
    this.taken = new Array<B | undefined>(this.size).fill(undefined);
    this.dirty = new Array<boolean>(this.size).fill(false);
  }

  /** The bucket for time `at` (epoch ms), marked as changed; a slot holding an older bucket is reused. */
  at(at: number): B {
    const index = Math.floor(at / this.widthMs);
    const slot = ((index % this.size) + this.size) % this.size;
    const start = index * this.widthMs;
    let bucket = this.slots[slot];
    if (bucket === undefined || bucket.start !== start) {
      bucket = this.create(start);
      this.slots[slot] = bucket;
      this.taken[slot] = undefined;
    }
    this.dirty[slot] = true;
    return bucket;
  }

  /** Start of the oldest bucket inside the window ending at `now`. */
  windowStart(now: number): number {
    return (Math.floor(now / this.widthMs) - this.size + 1) * this.widthMs;
  }

  /** The buckets inside the window ending at `now`, oldest first. */
  inWindow(now: number): B[] {
    const from = this.windowStart(now);
    const to = Math.floor(now / this.widthMs) * this.widthMs;
    return this.slots
      .filter((bucket): bucket is B => bucket !== undefined && bucket.start >= from && bucket.start <= to)
      .sort((a, b) => a.start - b.start);
  }

  /** What each changed bucket gained since the previous call, as separate copies; then remembers the buckets as now. */
  takeChanges(): B[] {
    const changes: B[] = [];
    for (let slot = 0; slot < this.size; slot += 1) {
      const bucket = this.slots[slot];
      if (bucket === undefined || !this.dirty[slot]) continue;
      const change = copyBucket(bucket);
      const before = this.taken[slot];
      if (before !== undefined) addBucket(change, before, -1);
      changes.push(change);
      this.taken[slot] = copyBucket(bucket);
      this.dirty[slot] = false;
    }
    return changes.sort((a, b) => a.start - b.start);
  }
}

/** Sums buckets into one (a fresh bucket from `create`). */
export function sumBuckets<B extends Bucket>(buckets: readonly B[], create: (start: number) => B): B {
  const sum = create(buckets[0]?.start ?? 0);
  for (const bucket of buckets) addBucket(sum, bucket);
  return sum;
}
