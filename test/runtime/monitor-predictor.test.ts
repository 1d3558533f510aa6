// The monitor following a real predictor (news-bag, native onnxruntime) through observe().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHealthMonitor,
  createPredictor,
  loadBundle,
  type Bundle,
  type Predictor,
} from '../../runtime/node.ts';
import { bundleDir } from '../helpers/bundle-copy.ts';

const TEXTS = [
  'Stocks rallied after the earnings report',
  'The striker scored twice in the final',
  'NASA launched a new probe to study Mars',
  'Zyxqvw blorfed the quorple at Gdańsk',
  'Oil prices rose as OPEC cut output',
  '',
  'word '.repeat(100),
];

describe('a monitor made from a predictor', () => {
  let bundle: Bundle;
  let predictor: Predictor;

  beforeAll(async () => {
    bundle = await loadBundle(bundleDir('news-bag'));
    // Runs in the caller's order even on a dynamic-length export, so the run counts below are exact.
    predictor = await createPredictor(bundle, { backend: 'native', lengthAware: false });
  });

  afterAll(async () => {
    await predictor.dispose();
  });

  it('counts every text, token, unknown token, truncation and predicted label the predictor ran', async () => {
    const monitor = createHealthMonitor(predictor);
    const answers = await predictor.predictBatch(TEXTS, { batchSize: 4 });
    const encodings = TEXTS.map((text) => bundle.tokenizer.encode(text));
    const byLabel = Object.fromEntries(bundle.manifest.labels.map((label) => [label, 0]));
    for (const answer of answers)
      if (answer.status === 'ok') byLabel[answer.label] = (byLabel[answer.label] ?? 0) + 1;
    const totals = monitor.totals();
    expect(totals).toMatchObject({
      model: { name: 'news-bag', version: '1.0.0' },
      backend: 'native',
      texts: TEXTS.length,
      runs: 2,
      tokens: encodings.reduce((sum, e) => sum + e.tokenCount, 0),
      unknownTokens: encodings.reduce((sum, e) => sum + e.unknown, 0),
      truncatedTexts: 1,
      predictionsByLabel: byLabel,
    });
    // Runs of 4 and 3 texts, both in the (2, 4] bucket.
    expect(totals.batchSize.counts.slice(0, 4)).toEqual([0, 0, 2, 0]);
    expect(totals.unknownTokens).toBeGreaterThanOrEqual(3);
    monitor.dispose();
  });

  it('puts the texts in the quality window the checks read', async () => {
    const monitor = createHealthMonitor(predictor, { thresholds: { minTexts: 5 } });
    await predictor.predictBatch(TEXTS);
    const { checks } = monitor.checkHealth();
    expect(checks.label_drift.samples).toBe(TEXTS.length);
    // One overlong text; rates are reported to 6 decimals.
    expect(checks.truncation_rate.value).toBeCloseTo(1 / TEXTS.length, 6);
    expect(checks.label_drift.status).not.toBe('insufficient_data');
    monitor.dispose();
  });

  it('estimates accuracy from the calibration news-bag carries, as the mean of its bins accuracy', async () => {
    const calibration = bundle.manifest.calibration;
    expect(calibration).toBeDefined();
    const monitor = createHealthMonitor(predictor, { thresholds: { minTexts: 5 } });
    const answers = await predictor.predictBatch(TEXTS);
    const edges = calibration?.edges ?? [];
    const expected =
      answers.reduce((sum, answer) => {
        if (answer.status !== 'ok') return sum;
        const confidence = Math.max(...Object.values(answer.scores));
        const bin = Math.min(edges.filter((edge) => edge <= confidence).length - 1, edges.length - 2);
        return sum + (calibration?.accuracy[bin] ?? 0);
      }, 0) / TEXTS.length;
    const check = monitor.checkHealth().checks.estimated_accuracy;
    expect(check.status).not.toBe('unavailable');
    expect(check.value).toBeCloseTo(expected, 6);
    monitor.dispose();
  });

  it('stops counting once disposed', async () => {
    const monitor = createHealthMonitor(predictor);
    await predictor.predict('The striker scored twice in the final');
    monitor.dispose();
    monitor.dispose();
    await predictor.predict('Oil prices rose as OPEC cut output');
    expect(monitor.totals().texts).toBe(1);
  });
});
