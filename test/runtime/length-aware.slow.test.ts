// Length-aware batching on a real dynamic-length graph: news-transformer with its sequence axis made dynamic by
// test/fixtures/edit-onnx.py (Debian's python3-onnx), run on onnxruntime native and wasm, in process and in a pool.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLength } from '../../runtime/length-groups.ts';
import {
  createPredictor,
  createPredictorPool,
  loadBundle,
  readParityCases,
  type Bundle,
  type ParityCase,
  type Predictor,
  type RunObservation,
} from '../../runtime/node.ts';
import { copyBundle, tamper, type BundleCopy } from '../helpers/bundle-copy.ts';

/** The golden logits were computed at maxLen; the manifest's parity atol. */
const LOGIT_ATOL = 1e-4;
/** Length-aware and fixed padding run the same graph on the same texts. */
const SAME_ATOL = 1e-5;

/** A copy of `name` whose graph and manifest say dynamic sequence length. */
function dynamicCopy(name: string): BundleCopy {
  const copy = copyBundle(name);
  tamper.editModel(copy, 'dynamic-sequence');
  copy.editManifest((manifest) => {
    for (const input of manifest.model.inputs) input.shape[1] = 'sequence';
    manifest.model.sequence = { dynamic: true, checkedLengths: [1, 8, 72], maxAbsDiff: 0, atol: 1e-5 };
  });
  return copy;
}

function recorder(predictor: Predictor): RunObservation[] {
  const runs: RunObservation[] = [];
  predictor.observe((run) => runs.push(run));
  return runs;
}

const sortedNumbers = (values: readonly number[]) => [...values].sort((a, b) => a - b);

describe('length-aware batching on news-transformer with a dynamic sequence axis', () => {
  let copy: BundleCopy;
  let bundle: Bundle;
  let cases: ParityCase[];
  let texts: string[];
  let counts: number[];

  beforeAll(async () => {
    copy = dynamicCopy('news-transformer');
    bundle = await loadBundle(copy.dir);
    cases = await readParityCases(bundle);
    texts = cases.map((c) => c.text);
    counts = texts.map((text) => bundle.tokenizer.encode(text).tokenCount);
  });
  afterAll(() => copy.remove());

  describe.each(['native', 'wasm'] as const)('on %s', (backend) => {
    let aware: Predictor;
    let fixed: Predictor;

    beforeAll(async () => {
      aware = await createPredictor(bundle, { backend, returnLogits: true });
      fixed = await createPredictor(bundle, { backend, returnLogits: true, lengthAware: false });
    });
    afterAll(async () => {
      await aware.dispose();
      await fixed.dispose();
    });

    it('reproduces every golden case within the parity atol at run lengths below maxLen', async () => {
      const runs = recorder(aware);
      const items = await aware.predictBatch(texts);
      const failures: string[] = [];
      items.forEach((item, i) => {
        const golden = cases[i]!;
        if (item.status !== 'ok') failures.push(`case ${golden.id}: ${item.error.code}`);
        else if (item.label !== golden.label)
          failures.push(`case ${golden.id}: ${item.label} != ${golden.label}`);
        else {
          const diff = Math.max(...item.logits!.map((v, k) => Math.abs(v - golden.logits[k]!)));
          if (!(diff <= LOGIT_ATOL)) failures.push(`case ${golden.id}: logits differ by ${diff}`);
        }
      });
      expect(failures).toEqual([]);
      const { maxLen } = bundle.manifest.preprocessing;
      const padded = runs.map((run) => runLength(Math.max(...run.lengths), maxLen));
      expect(padded.filter((length) => length < maxLen).length).toBeGreaterThan(0);
    });

    it('tells the observers of every text exactly once, in runs of at most batchSize', async () => {
      const runs = recorder(aware);
      await aware.predictBatch(texts, { batchSize: 16 });
      expect(runs.reduce((total, run) => total + run.batchSize, 0)).toBe(texts.length);
      expect(sortedNumbers(runs.flatMap((run) => run.lengths))).toEqual(sortedNumbers(counts));
      for (const run of runs) {
        expect(run.batchSize).toBeLessThanOrEqual(16);
        expect(run.lengths).toHaveLength(run.batchSize);
        expect(run.labels).toHaveLength(run.batchSize);
        expect(run.tokens).toBe(run.lengths.reduce((a, b) => a + b, 0));
      }
    });

    it("answers in the caller's order, as fixed padding does", async () => {
      const fixedRuns = recorder(fixed);
      const [a, f] = await Promise.all([aware.predictBatch(texts), fixed.predictBatch(texts)]);
      // Fixed padding keeps the caller's order in runs of 32.
      expect(fixedRuns.flatMap((run) => run.lengths)).toEqual(counts);
      a.forEach((item, i) => {
        const other = f[i]!;
        if (item.status !== 'ok' || other.status !== 'ok') throw new Error(`item ${i} failed`);
        expect(item.label).toBe(other.label);
        item.logits!.forEach((v, k) =>
          expect(Math.abs(v - other.logits![k]!)).toBeLessThanOrEqual(SAME_ATOL),
        );
      });
    });

    it('groups concurrent predict calls by length within each micro-batch', async () => {
      const runs = recorder(aware);
      const window = texts.slice(0, 96);
      const [single, batch] = await Promise.all([
        Promise.all(window.map((text) => aware.predict(text))),
        fixed.predictBatch(window),
      ]);
      expect(runs.reduce((total, run) => total + run.batchSize, 0)).toBe(window.length);
      for (const run of runs) expect(run.batchSize).toBeLessThanOrEqual(32);
      single.forEach((prediction, i) => {
        const item = batch[i]!;
        if (item.status !== 'ok') throw new Error(`item ${i} failed`);
        expect(prediction.label).toBe(item.label);
      });
    });
  });

  it('reports the runs of a pool batch as one observation of the whole batch', async () => {
    const pool = await createPredictorPool(copy.dir, { workers: 1, backend: 'native' });
    try {
      const runs = recorder(pool);
      const items = await pool.predictBatch(texts.slice(0, 64), { batchSize: 32 });
      expect(items.every((item) => item.status === 'ok')).toBe(true);
      expect(runs.map((run) => run.batchSize)).toEqual([32, 32]);
      expect(sortedNumbers(runs.flatMap((run) => run.lengths))).toEqual(sortedNumbers(counts.slice(0, 64)));
    } finally {
      await pool.dispose();
    }
  });
});

describe('a fixed-length bundle', () => {
  it('runs in the caller order, one run per batchSize, whatever lengthAware says', async () => {
    const copy = copyBundle('news-bag');
    try {
      const { maxLen } = copy.manifest().preprocessing as { maxLen: number };
      tamper.editModel(copy, 'fixed-sequence', String(maxLen));
      copy.editManifest((manifest) => {
        for (const input of manifest.model.inputs) input.shape[1] = maxLen;
        delete manifest.model.sequence;
      });
      const bundle = await loadBundle(copy.dir);
      const predictor = await createPredictor(bundle, {
        backend: 'native',
        batching: false,
        lengthAware: true,
      });
      try {
        const texts = (await readParityCases(bundle)).map((c) => c.text).slice(0, 40);
        const runs = recorder(predictor);
        await predictor.predictBatch(texts, { batchSize: 16 });
        expect(runs.map((run) => run.batchSize)).toEqual([16, 16, 8]);
        expect(runs.flatMap((run) => run.lengths)).toEqual(
          texts.map((text) => bundle.tokenizer.encode(text).tokenCount),
        );
      } finally {
        await predictor.dispose();
      }
    } finally {
      copy.remove();
    }
  });
});
