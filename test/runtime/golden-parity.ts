// The golden-parity suite of a shipped bundle on each Node backend: every parity case reproduced (labels exact,
// logits within 1e-4) and batch invariance. Shared by the fast tier (news-bag, predictor.test.ts) and the slow tier
// (news-transformer, predictor-transformer.slow.test.ts, seconds on wasm).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPredictor,
  loadBundle,
  readParityCases,
  type Bundle,
  type ParityCase,
  type Predictor,
} from '../../runtime/node.ts';
import { bundleDir } from '../helpers/bundle-copy.ts';

const BACKENDS = ['native', 'wasm'] as const;
/** Golden logits come from torch in float32; the manifest's parity.atol is 1e-4 too. */
const LOGIT_ATOL = 1e-4;
const BATCH_INVARIANCE_ATOL = 1e-5;

/** Defines the suite for the bundle `name` under artifacts/. */
export function describeGoldenParity(name: 'news-bag' | 'news-transformer'): void {
  describe(name, () => {
    let bundle: Bundle;
    let cases: ParityCase[];

    beforeAll(async () => {
      bundle = await loadBundle(bundleDir(name));
      cases = await readParityCases(bundle);
    });

    describe.each(BACKENDS)('on %s', (backend) => {
      let predictor: Predictor;

      beforeAll(async () => {
        predictor = await createPredictor(bundle, { backend, returnLogits: true });
      });
      afterAll(() => predictor.dispose());

      it('runs on the backend it was asked for', () => {
        expect(predictor.backend.backend).toBe(backend);
      });

      it('reproduces every golden case: labels exact, logits within 1e-4', async () => {
        expect(cases.length).toBe(bundle.manifest.parity.cases);
        const items = await predictor.predictBatch(cases.map((c) => c.text));
        const failures: string[] = [];
        items.forEach((item, i) => {
          const golden = cases[i]!;
          if (item.status !== 'ok') {
            failures.push(`case ${golden.id}: ${item.error.code}`);
            return;
          }
          const worst = Math.max(...golden.logits.map((value, j) => Math.abs(value - item.logits![j]!)));
          if (item.label !== golden.label || !(worst <= LOGIT_ATOL)) {
            failures.push(
              `case ${golden.id}: label ${item.label} (golden ${golden.label}), max |dlogit| ${worst}`,
            );
          }
        });
        expect(failures).toEqual([]);
      });

      it('gives a text the same scores alone and inside a batch of 64 (within 1e-5)', async () => {
        const others = cases.filter((c) => c.text.length > 0).map((c) => c.text);
        const probes = [cases.find((c) => c.tags.includes('long'))!.text, others[3]!, ''];
        for (const probe of probes) {
          const alone = await predictor.predict(probe);
          const batch = others.slice(0, 64);
          batch[37] = probe;
          const items = await predictor.predictBatch(batch, { batchSize: 64 });
          const inBatch = items[37]!;
          expect(inBatch.status).toBe('ok');
          if (inBatch.status !== 'ok') return;
          expect(inBatch.label).toBe(alone.label);
          for (const label of bundle.manifest.labels) {
            expect(Math.abs(inBatch.scores[label]! - alone.scores[label]!)).toBeLessThanOrEqual(
              BATCH_INVARIANCE_ATOL,
            );
          }
        }
      });
    });
  });
}
