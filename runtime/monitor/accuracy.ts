// Accuracy two ways: a bounded memory of prediction ids for delayed feedback, and the confidence-based estimate (CBPE).
import type { Manifest } from '../bundle/manifest.ts';

/** Marks an id whose feedback was counted (label indices are >= 0). */
const ANSWERED = -1;

/**
 * The predictions feedback can still name: id -> top label index, in insertion order, the oldest forgotten once
 * more than `capacity` are held (a Map iterates in insertion order, so eviction is O(1)). Feedback is counted once
 * per id: the id stays, marked answered, so a repeat is told apart from an unknown id.
 */
export class PredictionLedger {
  private readonly labels = new Map<string, number>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.labels.size;
  }

  /** Remembers a prediction (a known id is moved to the newest end with its new label). */
  remember(id: string, labelIndex: number): void {
    this.labels.delete(id);
    this.labels.set(id, labelIndex);
    while (this.labels.size > this.capacity) {
      const oldest = this.labels.keys().next();
      if (oldest.done === true) break;
      this.labels.delete(oldest.value);
    }
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
