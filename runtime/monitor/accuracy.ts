// Accuracy two ways: a bounded memory of prediction ids for delayed feedback, and the confidence-based estimate (CBPE).
import type { Manifest } from '../bundle/manifest.ts';

/** Marks an id whose feedback was counted (label indices are >= 0). */
const ANSWERED = -1;

/**
 * The predictions feedback can still name: id -> top label index, the oldest forgotten once `capacity` are held.
 * Insertion order lives in a ring of `capacity` ids, so eviction is O(1). Not the Map's own order: V8 leaves a hole
 * for each deleted key until the table is rebuilt, and `keys().next()` on a Map evicted from the front scans them
 * (12 to 50 µs per id at 100,000 ids on the shared 2-core machine, against 0.5 to 3 µs with the ring; that cost made
 * news-bag serve several times slower with ids, bench/health/overhead.ts). Feedback is counted once per id: the id
 * stays, marked answered, so a repeat is told apart from an unknown id.
 */
export class PredictionLedger {
  private readonly labels = new Map<string, number>();
  /** Ids in insertion order; the slot written next holds the oldest. */
  private readonly order: (string | undefined)[];
  private next = 0;
  /** Ids remembered again while held: how many of their older ring slots eviction must pass over. */
  private readonly repeats = new Map<string, number>();

  constructor(readonly capacity: number) {
    this.order = new Array<string | undefined>(Math.max(0, capacity)).fill(undefined);
  }

  get size(): number {
    return this.labels.size;
  }

  /** Remembers a prediction (a known id gets its new label and counts as newest). */
  remember(id: string, labelIndex: number): void {
    if (this.order.length === 0) return;
    const oldest = this.order[this.next];
    if (oldest !== undefined) {
      const repeats = this.repeats.get(oldest);
      if (repeats === undefined) this.labels.delete(oldest);
      else if (repeats > 1) this.repeats.set(oldest, repeats - 1);
      else this.repeats.delete(oldest);
    }
    if (this.labels.has(id)) this.repeats.set(id, (this.repeats.get(id) ?? 0) + 1);
    this.labels.set(id, labelIndex);
    this.order[this.next] = id;
    this.next = (this.next + 1) % this.order.length;
  }

  /** The predicted label of `id` and marks it answered; `unknown` for an id never seen or forgotten. */
  answer(
    id: string,
  ): { status: 'unknown' } | { status: 'duplicate' } | { status: 'found'; labelIndex: number } {
    const labelIndex = this.labels.get(id);
    if (labelIndex === undefined) return { status: 'unknown' };
    if (labelIndex === ANSWERED) return { status: 'duplicate' };
    this.labels.set(id, ANSWERED);
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
