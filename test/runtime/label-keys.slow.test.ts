// Labels named like Object.prototype's members (`__proto__`, `constructor`...) keep their scores: in-process, in the
// worker pool and in the CLI's output. Real onnxruntime on a news-bag copy with its labels renamed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPredictor,
  createPredictorPool,
  loadBundle,
  proveParity,
  type Bundle,
  type Prediction,
  type Predictor,
} from '../../runtime/node.ts';
import { shipshape } from '../helpers/cli.ts';
import { PROTOTYPE_LABELS, copyWithLabels } from '../helpers/renamed-labels.ts';
import type { BundleCopy } from '../helpers/bundle-copy.ts';

const TEXT = 'Stocks rallied after the earnings report';

/** Each label's score as an own key, in label order; undefined for a label with no own score. */
function ownScores(scores: Readonly<Record<string, number>>): (number | undefined)[] {
  return PROTOTYPE_LABELS.map((label: string) => (Object.hasOwn(scores, label) ? scores[label] : undefined));
}

function expectEveryLabelScored(prediction: Pick<Prediction, 'label' | 'scores'>): void {
  expect(Object.keys(prediction.scores)).toEqual([...PROTOTYPE_LABELS]);
  const scores = ownScores(prediction.scores);
  expect(scores.every((score) => typeof score === 'number')).toBe(true);
  expect(scores.reduce((sum = 0, score = NaN) => sum + score, 0)).toBeCloseTo(1, 6);
  // Business, the third label, for this text on the shipped news-bag.
  expect(prediction.label).toBe('toString');
}

describe('labels named __proto__, constructor, toString and hasOwnProperty', () => {
  let copy: BundleCopy;
  let bundle: Bundle;
  let predictor: Predictor;

  beforeAll(async () => {
    copy = copyWithLabels();
    bundle = await loadBundle(copy.dir);
    predictor = await createPredictor(bundle, { backend: 'native' });
  });
  afterAll(async () => {
    await predictor?.dispose();
    copy?.remove();
  });

  it('load with every label, and the reference label distribution keeps its __proto__ key', () => {
    expect(bundle.manifest.labels).toEqual([...PROTOTYPE_LABELS]);
    expect(Object.keys(bundle.manifest.reference.labelDistribution)).toEqual([...PROTOTYPE_LABELS]);
  });

  it('each get an own score from predict, in an object with no prototype', async () => {
    const prediction = await predictor.predict(TEXT);
    expectEveryLabelScored(prediction);
    expect(Object.getPrototypeOf(prediction.scores)).toBeNull();
  });

  it('each get an own score from predictBatch', async () => {
    const [item] = await predictor.predictBatch([TEXT]);
    expect(item?.status).toBe('ok');
    if (item?.status === 'ok') expectEveryLabelScored(item);
  });

  it('pass the parity proof, scores compared label by label', async () => {
    const proof = await proveParity(predictor);
    expect(proof.compared).toBe('scores');
    expect(proof.maxAbsDiff).toBeLessThanOrEqual(1e-4);
  });

  it('each get an own score through a worker pool', async () => {
    const pool = await createPredictorPool(copy.dir, { workers: 1, backend: 'native' });
    try {
      const [item] = await pool.predictBatch([TEXT]);
      expect(item?.status).toBe('ok');
      if (item?.status === 'ok') expectEveryLabelScored(item);
    } finally {
      await pool.dispose();
    }
  });

  it('each appear in the JSON line of shipshape predict', () => {
    const result = shipshape(['predict', '--bundle', copy.dir, '--backend', 'native', TEXT]);
    expect(result.code).toBe(0);
    const line = result.stdout.trim().split('\n').at(-1)!;
    expectEveryLabelScored(JSON.parse(line) as Prediction);
  });
});
