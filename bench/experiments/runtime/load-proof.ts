// What the load-time parity proof costs: loading a bundle for serving with and without `proveParity`, per shipped
// bundle and backend (native, wasm), then how fast a 5-million-line vocabulary is refused at load.
// Run: npx tsx bench/experiments/runtime/load-proof.ts [--runs 7] [--quick]
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createPredictor, isShipshapeError, loadBundle, proveParity } from '../../../runtime/node.ts';
import { percentileSorted, sortAscending } from '../../../runtime/statistics.ts';
import { table } from '../../table.ts';
import { ms } from './side-by-side.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    quick: { type: 'boolean', default: false },
  },
});
const RUNS = values.quick ? 3 : Number(values.runs);
if (!(Number.isInteger(RUNS) && RUNS >= 1)) throw new Error(`--runs ${values.runs}: give an integer >= 1.`);

const BUNDLES = ['news-bag', 'news-transformer'] as const;
const BACKENDS = ['native', 'wasm'] as const;
/** The serving batch of `shipshape serve` (SHIPSHAPE_BATCH_SIZE's default). */
const BATCH = 32;
const VOCAB_LINES = 5_000_000;

const median = (samples: readonly number[]) => percentileSorted(sortAscending(samples), 0.5);

/** One load as a server does it: verify the serving files, start the session, and prove parity when asked. */
async function timedLoad(dir: string, backend: (typeof BACKENDS)[number], prove: boolean) {
  const started = performance.now();
  const predictor = await createPredictor(await loadBundle(dir, { verify: 'serving' }), {
    backend,
    returnLogits: true,
  });
  const proof = prove ? await proveParity(predictor, { batchSize: BATCH }) : undefined;
  const total = performance.now() - started;
  await predictor.dispose();
  return { total, proof };
}

const rows: string[][] = [];
for (const name of BUNDLES) {
  const dir = `artifacts/${name}`;
  for (const backend of BACKENDS) {
    await timedLoad(dir, backend, true); // warm-up: module loading, WASM compilation, file cache
    const without: number[] = [];
    const withProof: number[] = [];
    const proofMs: number[] = [];
    let shape = '';
    for (let run = 0; run < RUNS; run++) {
      // Alternate the order, so neither side always runs on a cache the other warmed.
      for (const prove of run % 2 === 0 ? [false, true] : [true, false]) {
        const { total, proof } = await timedLoad(dir, backend, prove);
        if (proof === undefined) without.push(total);
        else {
          withProof.push(total);
          proofMs.push(proof.ms);
          shape = `${proof.cases} cases at [${proof.batchSizes.join(', ')}]`;
        }
      }
    }
    const a = median(without);
    const b = median(withProof);
    rows.push([
      name,
      backend,
      ms(a),
      ms(b),
      ms(median(proofMs)),
      `+${(((b - a) / a) * 100).toFixed(0)}%`,
      shape,
    ]);
  }
}
console.log(
  `load for serving (verify: 'serving', createPredictor) with and without proveParity at batch ${BATCH}; ` +
    `medians of ${RUNS} runs each, interleaved; ${availableParallelism()} cores`,
);
console.log(
  table(['bundle', 'backend', 'load', 'load + proof', 'proof alone', 'overhead', 'proof ran'], rows),
);

// A vocabulary far larger than the embedding: refused from a line count on the bytes, before it is parsed.
const big = mkdtempSync(join(tmpdir(), 'shipshape-big-vocab-'));
try {
  cpSync('artifacts/news-bag', big, { recursive: true });
  const shipped = readFileSync(join(big, 'vocab.txt'), 'utf8');
  const shippedLines = shipped.replace(/\n$/, '').split('\n').length;
  const extra = Array.from({ length: VOCAB_LINES - shippedLines }, (_, i) => `t${i}`).join('\n');
  const bytes = Buffer.from(`${shipped}${extra}\n`, 'utf8');
  writeFileSync(join(big, 'vocab.txt'), bytes);
  const manifest = JSON.parse(readFileSync(join(big, 'manifest.json'), 'utf8')) as {
    files: Record<string, { sha256: string; size: number }>;
  };
  manifest.files['vocab.txt'] = {
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
  };
  writeFileSync(join(big, 'manifest.json'), JSON.stringify(manifest, null, 2));
  const refusals: number[] = [];
  let code = '';
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    try {
      await loadBundle(big, { verify: 'serving' });
      code = 'loaded (not refused)';
    } catch (error) {
      code = isShipshapeError(error) ? error.code : String(error);
    }
    refusals.push(performance.now() - started);
  }
  const mib = (bytes.length / (1 << 20)).toFixed(1);
  console.log(
    `\nnews-bag with a ${VOCAB_LINES.toLocaleString('en')}-line vocab.txt (${mib} MiB): ${code} after ` +
      `${ms(median(refusals))} (median of ${RUNS}; reading and hashing the files included)`,
  );
} finally {
  rmSync(big, { recursive: true, force: true });
}
