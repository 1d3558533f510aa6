// Accuracy two ways: a bounded memory of prediction ids for delayed feedback, and the confidence-based estimate (CBPE).
import type { Manifest } from '../bundle/manifest.ts';

/** Marks a prediction whose feedback was counted (label indices are >= 0). */
const ANSWERED = -1;

/** The id of prediction `index` of a group of `size` remembered under `key`: the key alone for a group of one. */
export function predictionId(key: string, index: number, size: number): string {
  return size === 1 ? key : `${key}.${index}`;
}

/**
 * The predictions feedback can still name, remembered a group (one request's predictions) at a time: group key ->
 * each prediction's top label index, the oldest groups forgotten once more than `capacity` predictions are held.
 * One map entry per request, not per prediction: with 100,000 ids held, a map entry per prediction cost about 1 µs
 * each (hashing, insert, evict), 14% of news-bag's throughput at batch 32 (bench/experiments/health/overhead.ts); a group of 32
 * costs about as much as one. The ids are `KEY.INDEX` (`KEY` for a group of one).
 *
 * Insertion order lives in a ring, so eviction is O(1): not the Map's own order, since V8 leaves a hole for each
 * deleted key until the table is rebuilt and `keys().next()` on a Map evicted from the front scans them (12 to 50 µs
 * per id at 100,000 ids). Feedback is counted once per prediction: it stays, marked answered, so a repeat is told
 * apart from an unknown id.
 */
export class PredictionLedger {
  /** A group of one holds its label index itself: a typed array per single-text request would double the memory. */
  private readonly groups = new Map<string, number | Int32Array>();
  /** Group keys in insertion order and their sizes; `head` is the oldest, `count` the groups in the ring. */
  private readonly order: (string | undefined)[];
  private readonly sizes: Uint32Array;
  private head = 0;
  private count = 0;
  private held = 0;
  /** Keys remembered again while held: how many of their older ring entries eviction must pass over. */
  private readonly repeats = new Map<string, number>();

  constructor(readonly capacity: number) {
    const slots = Math.max(0, capacity);
    this.order = new Array<string | undefined>(slots).fill(undefined);
    this.sizes = new Uint32Array(slots);
  }

  /** Predictions held. */
  get size(): number {
    return this.held;
  }

  /**
   * Remembers one request's predictions under `key` (a key remembered again gets its new labels and counts as
   * newest). A group larger than `capacity` is not remembered.
   */
  remember(key: string, labelIndices: readonly number[]): void {
    const size = labelIndices.length;
    if (size === 0 || size > this.capacity) return;
    while (this.held + size > this.capacity) this.evictOldest();
    if (this.groups.has(key)) this.repeats.set(key, (this.repeats.get(key) ?? 0) + 1);
    this.groups.set(key, size === 1 ? (labelIndices[0] as number) : Int32Array.from(labelIndices));
    const slot = (this.head + this.count) % this.order.length;
    this.order[slot] = key;
    this.sizes[slot] = size;
    this.count += 1;
    this.held += size;
  }

  private evictOldest(): void {
    const key = this.order[this.head] as string;
    this.held -= this.sizes[this.head] as number;
    this.order[this.head] = undefined;
    this.head = (this.head + 1) % this.order.length;
    this.count -= 1;
    const repeats = this.repeats.get(key);
    if (repeats === undefined) this.groups.delete(key);
    else if (repeats > 1) this.repeats.set(key, repeats - 1);
    else this.repeats.delete(key);
  }

  /** The predicted label of `id` and marks it answered; `unknown` for an id never seen or forgotten. */
  answer(
    id: string,
  ): { status: 'unknown' } | { status: 'duplicate' } | { status: 'found'; labelIndex: number } {
    const single = this.groups.get(id);
    if (typeof single === 'number') {
      if (single === ANSWERED) return { status: 'duplicate' };
      this.groups.set(id, ANSWERED);
      return { status: 'found', labelIndex: single };
    }
    const dot = id.lastIndexOf('.');
    if (dot < 0) return { status: 'unknown' };
    const suffix = id.slice(dot + 1);
    const index = Number(suffix);
    // Only the canonical spelling (`7`, not `07` or `7.0`): each prediction has one id.
    if (!Number.isInteger(index) || index < 0 || String(index) !== suffix) return { status: 'unknown' };
    const group = this.groups.get(id.slice(0, dot));
    if (typeof group !== 'object' || index >= group.length) return { status: 'unknown' };
    const labelIndex = group[index] as number;
    if (labelIndex === ANSWERED) return { status: 'duplicate' };
    group[index] = ANSWERED;
    return { status: 'found', labelIndex };
  }
}

/**
 * Confidence-based performance estimation (as NannyML's CBPE) on the manifest's histogram-binning calibration: a
 * prediction made with confidence c is right with the probability the validation split showed for c's bin, so the
 * expected accuracy of a window is the mean of those probabilities over its predictions. Valid while the model stays
 * calibrated on the live data (covariate shift without concept shift); it cannot see a change in what labels mean.
 */
export class ConfidenceCalibration {
  readonly edges: readonly number[];
  readonly accuracy: readonly number[];
  /** The inner edges: bin i is [edges[i], edges[i + 1]), the last one closed (as `numpy.digitize` bins). */
  private readonly inner: readonly number[];

  constructor(calibration: NonNullable<Manifest['calibration']>) {
    this.edges = calibration.edges;
    this.accuracy = calibration.accuracy;
    this.inner = calibration.edges.slice(1, -1);
  }

  get bins(): number {
    return this.accuracy.length;
  }

  /** The bin of a confidence in [0, 1]; values outside go to the first or last bin. */
  bin(confidence: number): number {
    // How many inner edges are at or below the confidence.
    let low = 0;
    let high = this.inner.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.inner[middle] as number) <= confidence) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
