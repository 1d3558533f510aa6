// Tampered bundles whose every file was rehashed: loading or the parity proof refuses each, naming the problem.
// Real onnxruntime sessions on copies of the shipped bundles; ONNX variants are made with Debian's python3-onnx.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findEmbeddings, readOnnxGraphInfo } from '../../runtime/bundle/index.ts';
import { countVocabLines } from '../../runtime/bundle/integrity.ts';
import { isShipshapeError, type ErrorCode } from '../../runtime/errors.ts';
import { createPredictor, loadBundle, proveParity, type Predictor } from '../../runtime/node.ts';
import { sampleCases } from '../../runtime/parity.ts';
import { BUNDLES, bundleDir, copyBundle, tamper, type BundleCopy } from '../helpers/bundle-copy.ts';

interface Refusal {
  code: ErrorCode;
  message: string;
}

async function refusal(promise: Promise<unknown>): Promise<Refusal> {
  try {
    await promise;
  } catch (error) {
    if (!isShipshapeError(error)) throw error;
    return { code: error.code, message: error.message };
  }
  throw new Error('expected a refusal');
}

type GoldenCase = {
  id: number;
  ids: number[];
  logits: number[];
  label: string;
  tags: string[];
  text: string;
};

/** Rewrites parity.jsonl through `edit` (return undefined to drop a case) and rehashes it. */
function editParity(copy: BundleCopy, edit: (golden: GoldenCase) => GoldenCase | undefined): void {
  const lines = readFileSync(join(copy.dir, 'parity.jsonl'), 'utf8').split('\n');
  const edited = lines
    .filter((line) => line.trim() !== '')
    .map((line) => edit(JSON.parse(line) as GoldenCase))
    .filter((golden) => golden !== undefined)
    .map((golden) => JSON.stringify(golden));
  copy.replaceFile('parity.jsonl', `${edited.join('\n')}\n`);
}

/** Rewrites vocab.txt's lines through `edit` and rehashes it. */
function editVocab(copy: BundleCopy, edit: (lines: string[]) => string[]): void {
  const lines = readFileSync(join(copy.dir, 'vocab.txt'), 'utf8').replace(/\n$/, '').split('\n');
  copy.replaceFile('vocab.txt', `${edit(lines).join('\n')}\n`);
}

/** Replaces model.onnx with `python3 test/fixtures/edit-onnx.py ARGS... model.onnx OUT`, rehashed. */
describe('the parity proof and load-time integrity on tampered bundles', () => {
  let copy: BundleCopy | undefined;
  let predictor: Predictor | undefined;

  afterEach(async () => {
    await predictor?.dispose();
    predictor = undefined;
    copy?.remove();
    copy = undefined;
  });

  async function proofOf(dir: string, options: { batchSize?: number } = {}) {
    predictor = await createPredictor(await loadBundle(dir), { backend: 'native', returnLogits: true });
    return proveParity(predictor, options);
  }

  it('passes the shipped news-bag at batch sizes 1 and 32, reporting them and its wall time', async () => {
    const proof = await proofOf(bundleDir('news-bag'));
    expect(proof).toMatchObject({ cases: 256, compared: 'logits', atol: 1e-4, batchSizes: [1, 32] });
    expect(proof.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    expect(proof.ms).toBeGreaterThan(0);
  });

  it('runs its sample as one batch when the serving batch size is 1, so two batch sizes are proven', async () => {
    const proof = await proofOf(bundleDir('news-bag'), { batchSize: 1 });
    expect(proof.batchSizes).toEqual([1, 16]);
  });

  it('refuses labels reordered in the manifest, naming the case and both labels', async () => {
    copy = copyBundle('news-bag');
    copy.editManifest((m) => {
      m.labels = ['Sports', 'World', 'Business', 'Sci/Tech'];
    });
    const error = await refusal(proofOf(copy.dir));
    expect(error.code).toBe('PARITY_MISMATCH');
    expect(error.message).toMatch(
      /label order: case \d+ of .* records label "(World|Sports)", but its top golden/,
    );
    expect(error.message).toContain('which manifest.json labels "');
    expect(error.message).toContain('reordered');
  });

  it('refuses a label renamed in the manifest, naming the case and the missing label', async () => {
    copy = copyBundle('news-bag');
    copy.editManifest((m) => {
      m.labels = ['Politics', 'Sports', 'Business', 'Sci/Tech'];
    });
    const error = await refusal(proofOf(copy.dir));
    expect(error.code).toBe('PARITY_MISMATCH');
    expect(error.message).toMatch(
      /case \d+ .* records label "World", but its top golden logit is at index 0/,
    );
    expect(error.message).toContain('manifest.json has no label "World"; the labels were renamed');
  });

  it('refuses news-transformer model.onnx swapped into news-bag and rehashed, naming a case and its logits', async () => {
    copy = copyBundle('news-bag');
    tamper.swapModel(copy);
    const error = await refusal(proofOf(copy.dir));
    expect(error.code).toBe('PARITY_MISMATCH');
    expect(error.message).toMatch(/differ on native: \d+ of 256 at batch size 32, \d+ of 16 at batch size 1/);
    expect(error.message).toMatch(
      /first: case 0: label "World", expected "Business" \(logits \[[^\]]+\], expected \[0\.0510373, -0\.0592708, 0\.160839, -0\.127242\]\)/,
    );
  });

  it('refuses pad and unk ids swapped in the manifest at load', async () => {
    copy = copyBundle('news-bag');
    copy.editManifest((m) => {
      m.preprocessing.specialTokens.unk.id = 1;
      m.preprocessing.specialTokens.pad.id = 0;
    });
    const error = await refusal(loadBundle(copy.dir));
    expect(error.code).toBe('PREPROCESSING_MISMATCH');
    expect(error.message).toContain(
      'Special token unk is "<unk>" with id 1 in manifest.json, but vocab.txt has "<pad>"',
    );
  });

  it('refuses a vocabulary whose <unk> and <pad> lines were swapped (rehashed) at load', async () => {
    copy = copyBundle('news-bag');
    editVocab(copy, ([first, second, ...rest]) => [second!, first!, ...rest]);
    const error = await refusal(loadBundle(copy.dir));
    expect(error.code).toBe('PREPROCESSING_MISMATCH');
    expect(error.message).toContain(
      'Special token unk is "<unk>" with id 0 in manifest.json, but vocab.txt has "<pad>"',
    );
  });

  it('refuses special tokens swapped in both the manifest and the vocabulary by the recorded ids of a case', async () => {
    copy = copyBundle('news-bag');
    editVocab(copy, ([first, second, ...rest]) => [second!, first!, ...rest]);
    copy.editManifest((m) => {
      m.preprocessing.specialTokens.unk.id = 1;
      m.preprocessing.specialTokens.pad.id = 0;
    });
    const error = await refusal(proofOf(copy.dir));
    expect(error.code).toBe('PREPROCESSING_MISMATCH');
    expect(error.message).toMatch(
      /case 0 of .*parity\.jsonl \(""\) tokenizes to ids\[0\.\.7\] \[0, 0, 0, 0, 0, 0, 0, 0\], expected ids\[0\.\.7\] \[1, 1, 1, 1, 1, 1, 1, 1\] \(first difference at position 0\)/,
    );
  });

  it('refuses a parity file with a case count other than the manifest says', async () => {
    copy = copyBundle('news-bag');
    editParity(copy, (golden) => (golden.id === 7 ? undefined : golden));
    const error = await refusal(proofOf(copy.dir));
    expect(error.code).toBe('BUNDLE_INVALID');
    expect(error.message).toContain('holds 277 cases; manifest.json says parity.cases is 278');
  });

  it('refuses a case whose ids row is not max_len long', async () => {
    copy = copyBundle('news-bag');
    editParity(copy, (golden) => (golden.id === 5 ? { ...golden, ids: golden.ids.slice(0, 64) } : golden));
    const error = await refusal(proofOf(copy.dir));
    expect(error.code).toBe('PREPROCESSING_MISMATCH');
    expect(error.message).toContain('case 5 of');
    expect(error.message).toContain('has 64 ids; preprocessing.maxLen is 72');
  });

  it('refuses a case with a logit count other than the label count', async () => {
    copy = copyBundle('news-bag');
    editParity(copy, (golden) =>
      golden.id === 9 ? { ...golden, logits: golden.logits.slice(0, 3) } : golden,
    );
    const error = await refusal(proofOf(copy.dir));
    expect(error.code).toBe('PARITY_MISMATCH');
    expect(error.message).toContain('case 9 of');
    expect(error.message).toContain('has 3 logits; manifest.json lists 4 labels');
  });

  it('refuses a vocabulary with more tokens than the embedding has rows at load', async () => {
    copy = copyBundle('news-bag');
    editVocab(copy, (lines) => [...lines, 'extra-token']);
    const error = await refusal(loadBundle(copy.dir));
    expect(error).toEqual({
      code: 'BUNDLE_MODEL_MISMATCH',
      message: expect.stringContaining(
        "vocab.txt has 4422 tokens but the model's embedding embedding.weight has 4421 rows; ids >= 4421 would fail at inference",
      ),
    });
  });

  it('finds the embedding through a Cast of input_ids and refuses a vocabulary larger than it', async () => {
    copy = copyBundle('news-bag');
    tamper.editModel(copy, 'int32-ids');
    copy.editManifest((m) => {
      m.model.inputs[0].dtype = 'int32';
    });
    editVocab(copy, (lines) => [...lines, 'extra-token']);
    const error = await refusal(loadBundle(copy.dir));
    expect(error.code).toBe('BUNDLE_MODEL_MISMATCH');
    expect(error.message).toContain(
      "vocab.txt has 4422 tokens but the model's embedding embedding.weight has 4421 rows",
    );
  });

  it('proves a model that takes int32 ids and casts them before the embedding', async () => {
    copy = copyBundle('news-bag');
    tamper.editModel(copy, 'int32-ids');
    copy.editManifest((m) => {
      m.model.inputs[0].dtype = 'int32';
    });
    const proof = await proofOf(copy.dir);
    expect(proof.maxAbsDiff).toBeLessThanOrEqual(1e-4);
  });

  it('refuses a 5-million-line vocabulary at load, before parsing it', async () => {
    copy = copyBundle('news-bag');
    editVocab(copy, (lines) => [
      ...lines,
      ...Array.from({ length: 5_000_000 - lines.length }, (_, i) => `t${i}`),
    ]);
    const error = await refusal(loadBundle(copy.dir));
    expect(error.code).toBe('BUNDLE_MODEL_MISMATCH');
    expect(error.message).toContain('vocab.txt has 5000000 tokens but the model');
  });

  it('refuses a model whose batch is baked in at 32, naming the size and the likely cause', async () => {
    copy = copyBundle('news-bag');
    tamper.editModel(copy, 'baked-batch', '32');
    const error = await refusal(proofOf(copy.dir));
    expect(error.code).toBe('PARITY_MISMATCH');
    // news-bag's sequence axis is dynamic: the 32 texts run grouped by length, in runs of fewer rows than 32.
    expect(error.message).toContain(
      'fails to run at batch size 32 on native (in session runs of up to 32 texts of similar length)',
    );
    expect(error.message).toContain('batch size baked in');
  });

  it('refuses an output role "probabilities" when the golden outputs are logits', async () => {
    copy = copyBundle('news-bag');
    copy.editManifest((m) => {
      m.model.outputs[0].role = 'probabilities';
    });
    const error = await refusal(proofOf(copy.dir));
    expect(error.code).toBe('PARITY_MISMATCH');
    expect(error.message).toMatch(/case 0 of .* records outputs \[[^\]]+\], which are not probabilities/);
  });

  describe('a model that ends in softmax, its output role "probabilities"', () => {
    function probabilitiesBundle(): BundleCopy {
      const made = copyBundle('news-bag');
      tamper.editModel(made, 'softmax');
      editParity(made, (golden) => {
        const max = Math.max(...golden.logits);
        const exps = golden.logits.map((logit) => Math.exp(logit - max));
        const sum = exps.reduce((a, b) => a + b, 0);
        return { ...golden, logits: exps.map((e) => e / sum) };
      });
      made.editManifest((m) => {
        m.model.outputs[0].role = 'probabilities';
      });
      return made;
    }

    it('serves the outputs as scores without a second softmax', async () => {
      copy = probabilitiesBundle();
      predictor = await createPredictor(await loadBundle(copy.dir), {
        backend: 'native',
        returnLogits: true,
      });
      const prediction = await predictor.predict('Stocks rallied after the earnings report');
      const labels = ['World', 'Sports', 'Business', 'Sci/Tech'];
      expect(prediction.label).toBe('Business');
      expect(labels.map((label) => prediction.scores[label])).toEqual(prediction.logits);
      // The shipped news-bag gives Business 0.8428 for this text; a second softmax would flatten it to about 0.40.
      expect(prediction.scores.Business).toBeCloseTo(0.8428, 3);
    });

    it('passes the parity proof comparing the outputs with the golden probabilities', async () => {
      copy = probabilitiesBundle();
      const proof = await proofOf(copy.dir);
      expect(proof).toMatchObject({ cases: 256, compared: 'logits', batchSizes: [1, 32] });
      expect(proof.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    });

    it('passes the parity proof comparing scores when the predictor returns no logits', async () => {
      copy = probabilitiesBundle();
      predictor = await createPredictor(await loadBundle(copy.dir), { backend: 'native' });
      const proof = await proveParity(predictor);
      expect(proof.compared).toBe('scores');
      expect(proof.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    });

    it('is refused when the manifest says "logits" for outputs that are probabilities', async () => {
      copy = probabilitiesBundle();
      copy.editManifest((m) => {
        m.model.outputs[0].role = 'logits';
      });
      predictor = await createPredictor(await loadBundle(copy.dir), { backend: 'native' });
      const error = await refusal(proveParity(predictor));
      expect(error.code).toBe('PARITY_MISMATCH');
      expect(error.message).toContain(
        'records outputs that are probabilities (each row sums to 1), but manifest.json says the output role is "logits"',
      );
    });
  });
});

describe.each(
  BUNDLES.flatMap((name) => (['native', 'wasm'] as const).map((backend) => [name, backend] as const)),
)('the shipped %s on %s', (name, backend) => {
  it('passes the parity proof at batch sizes 1 and 32 within the manifest atol', async () => {
    const predictor = await createPredictor(await loadBundle(bundleDir(name)), {
      backend,
      returnLogits: true,
    });
    try {
      const proof = await proveParity(predictor, { batchSize: 32 });
      expect(proof).toMatchObject({ cases: 256, compared: 'logits', batchSizes: [1, 32] });
      expect(proof.maxAbsDiff).toBeLessThanOrEqual(proof.atol);
    } finally {
      await predictor.dispose();
    }
  });
});

describe.each(BUNDLES)('the embedding of the shipped %s', (name) => {
  it('is found from input_ids: embedding.weight with 4421 rows, the vocabulary size', () => {
    const graph = readOnnxGraphInfo(readFileSync(join(bundleDir(name), 'model.onnx')));
    expect(findEmbeddings(graph, 'input_ids')).toEqual([{ name: 'embedding.weight', rows: 4421 }]);
    expect(countVocabLines(readFileSync(join(bundleDir(name), 'vocab.txt')))).toBe(4421);
  });
});

describe('sampleCases', () => {
  const cases = Array.from({ length: 1000 }, (_, i) => ({ tags: i % 100 === 3 ? [`tag-${i}`] : ['plain'] }));

  it('takes every case, in order, when there are at most as many as asked', () => {
    expect(sampleCases(cases.slice(0, 10), 16)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('takes the first case of each tag, then cases spread over the file, the same each time', () => {
    const sample = sampleCases(cases, 16);
    expect(sample).toHaveLength(16);
    expect(sample).toEqual([...sample].sort((a, b) => a - b));
    for (const tagged of [0, 3, 103, 203, 903]) expect(sample).toContain(tagged);
    expect(sample.at(-1)).toBeGreaterThan(900);
    expect(sampleCases(cases, 16)).toEqual(sample);
  });
});
