// Proves from the TypeScript runtime that exported bundles serve with logit parity (run by test_foreign_models.py).
// Usage: npx tsx test/training/serve_parity.ts DIR... -> one JSON object on stdout: {"results": [...]}, one result
// per bundle, backend and batch size; a refusal is a result with `error`, never an exit code, so pytest sees all.
import { createPredictor, isShipshapeError, loadBundle, proveParity } from '../../runtime/node.ts';

interface ParityResult {
  readonly bundle: string;
  readonly backend: 'native' | 'wasm';
  readonly batchSize: number;
  readonly proof?: object;
  readonly error?: { readonly code: string; readonly message: string };
}

async function proveOne(dir: string, backend: 'native' | 'wasm', batchSize: number): Promise<ParityResult> {
  try {
    const bundle = await loadBundle(dir, { verify: 'serving' });
    const predictor = await createPredictor(bundle, { backend, batching: false, returnLogits: true });
    try {
      return { bundle: dir, backend, batchSize, proof: await proveParity(predictor, { batchSize }) };
    } finally {
      await predictor.dispose();
    }
  } catch (error) {
    if (!isShipshapeError(error)) throw error;
    return { bundle: dir, backend, batchSize, error: { code: error.code, message: error.message } };
  }
}

const results: ParityResult[] = [];
for (const dir of process.argv.slice(2)) {
  for (const backend of ['native', 'wasm'] as const) {
    // Batch 1 and the serving batch: a graph with its batch size baked in fails one of them.
    for (const batchSize of [1, 32]) results.push(await proveOne(dir, backend, batchSize));
  }
}
process.stdout.write(`${JSON.stringify({ results })}\n`);
