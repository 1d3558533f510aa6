// Runtime overhead: predictBatch (tokenize, pack, run, softmax) against a bare session.run on prebuilt tensors,
// batch 32, both bundles, native and wasm. Run: npx tsx bench/experiments/runtime/overhead.ts
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web/wasm';
import { createPredictor, loadBundle } from '../../../runtime/node.ts';
import { readBenchTexts } from '../../texts.ts';
import { ms, sideBySide } from './side-by-side.ts';

const BATCH = 32;
const BUNDLES = ['news-bag', 'news-transformer'] as const;
const BACKENDS = ['native', 'wasm'] as const;

console.log(
  `runtime overhead, batch ${BATCH}: predictBatch vs bare session.run on prebuilt tensors (medians)`,
);
console.log('bundle            backend  bare run     predictBatch  overhead');
for (const name of BUNDLES) {
  const dir = `artifacts/${name}`;
  const bundle = await loadBundle(dir);
  const texts = (await readBenchTexts(dir)).slice(0, BATCH);
  const maxLen = bundle.tokenizer.maxLen;
  const ids = new BigInt64Array(BATCH * maxLen);
  texts.forEach((text, row) =>
    bundle.tokenizer.encode(text).ids.forEach((id, i) => (ids[row * maxLen + i] = BigInt(id))),
  );
  const inputName = bundle.manifest.model.inputs[0]!.name;

  for (const backend of BACKENDS) {
    // The predictor first: on wasm it initializes onnxruntime-web the way the platform does (one thread, no proxy).
    const predictor = await createPredictor(bundle, { backend, batching: false });
    const ort = backend === 'native' ? ortNode : ortWeb;
    const session =
      backend === 'native'
        ? await ortNode.InferenceSession.create(bundle.modelBytes, {
            executionProviders: ['cpu'],
            graphOptimizationLevel: 'all',
            executionMode: 'sequential',
            intraOpNumThreads: 1,
            interOpNumThreads: 1,
          })
        : await ortWeb.InferenceSession.create(bundle.modelBytes, {
            executionProviders: ['wasm'],
            graphOptimizationLevel: 'all',
          });
    const tensor = new ort.Tensor('int64', ids, [BATCH, maxLen]);
    const [bare, full] = await sideBySide(
      {
        bare: () => session.run({ [inputName]: tensor }),
        predictBatch: () => predictor.predictBatch(texts, { batchSize: BATCH }),
      },
      { timeMs: name === 'news-bag' ? 3000 : 8000, minSamples: 30 },
    );
    const overhead = (full!.median / bare!.median - 1) * 100;
    console.log(
      `${name.padEnd(18)}${backend.padEnd(9)}${ms(bare!.median).padEnd(13)}${ms(full!.median).padEnd(14)}` +
        `${overhead >= 0 ? '+' : ''}${overhead.toFixed(1)}%  (${full!.samples} samples each)`,
    );
    await session.release();
    await predictor.dispose();
  }
}
