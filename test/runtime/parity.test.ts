// The parity proof on real bundles and real onnxruntime: it passes on the shipped bundles and names a failing case.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPredictor, loadBundle, proveParity, type Predictor } from '../../runtime/node.ts';
import { bundleDir, copyBundle, type BundleCopy } from '../helpers/bundle-copy.ts';
import { rejection } from '../helpers/rejection.ts';

describe('proveParity', () => {
  describe('on the shipped news-bag', () => {
    let withLogits: Predictor;
    let withoutLogits: Predictor;
    beforeAll(async () => {
      const bundle = await loadBundle(bundleDir('news-bag'));
      withLogits = await createPredictor(bundle, { backend: 'native', returnLogits: true });
      withoutLogits = await createPredictor(bundle, { backend: 'native' });
    });
    afterAll(async () => {
      await withLogits?.dispose();
      await withoutLogits?.dispose();
    });

    it('passes its 256-case sample comparing logits within the manifest atol when the predictor returns logits', async () => {
      const proof = await proveParity(withLogits);
      expect(proof).toMatchObject({ cases: 256, compared: 'logits', atol: 1e-4 });
      expect(proof.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    });

    it('compares scores against the softmax of the golden logits when the predictor has no logits', async () => {
      const proof = await proveParity(withoutLogits);
      expect(proof).toMatchObject({ cases: 256, compared: 'scores' });
      expect(proof.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    });
  });

  describe('on a news-bag copy whose golden logits of case 3 were moved by 0.5', () => {
    let copy: BundleCopy;
    let predictor: Predictor;
    beforeAll(async () => {
      copy = copyBundle('news-bag');
      const lines = readFileSync(join(copy.dir, 'parity.jsonl'), 'utf8').split('\n');
      const moved = lines.map((line) => {
        if (line.trim() === '') return line;
        const golden = JSON.parse(line) as { id: number; logits: number[] };
        if (golden.id === 3) golden.logits = golden.logits.map((logit) => logit + 0.5);
        return JSON.stringify(golden);
      });
      copy.replaceFile('parity.jsonl', moved.join('\n'));
      predictor = await createPredictor(await loadBundle(copy.dir), {
        backend: 'native',
        returnLogits: true,
      });
    });
    afterAll(async () => {
      await predictor?.dispose();
      copy?.remove();
    });

    it('throws PARITY_MISMATCH naming case 3 with its expected and actual logits', async () => {
      const error = await rejection(proveParity(predictor));
      expect(error.code).toBe('PARITY_MISMATCH');
      expect(error.message).toContain('differ on native: 1 of 256 at batch size 32;');
      expect(error.message).toMatch(
        /first: case 3: logits \[[^\]]+\], expected \[[^\]]+\] \(max abs diff 0\.50/,
      );
    });
  });
});
