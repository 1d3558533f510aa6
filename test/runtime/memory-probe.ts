// Child process of memory.slow.test.ts: warms a predictor up, then measures WASM heap, RSS and JS memory before N
// predictions and after each of `segments` equal parts of them.
// Usage: node --expose-gc --import tsx test/runtime/memory-probe.ts <bundle dir> <backend> <predictions> <warm-up> <segments>
import { createPredictor, loadBundle, readParityCases, type Predictor } from '../../runtime/node.ts';

export interface MemoryProbeResult {
  readonly backend: string;
  readonly predictions: number;
  readonly wasmHeapBefore: number | null;
  readonly wasmHeapAfter: number | null;
  /** RSS before the predictions and after each segment of them: `segments + 1` readings. */
  readonly rssReadings: readonly number[];
  /** V8 heap in use plus ArrayBuffer memory: where a JS-side leak (retained results, tensors' data) shows first. */
  readonly jsBefore: number;
  readonly jsAfter: number;
}

/** Half through predictBatch, half through concurrent predict calls (the micro-batching path). */
async function predictMany(predictor: Predictor, texts: readonly string[], count: number): Promise<void> {
  const wanted = Array.from({ length: count }, (_, i) => `${texts[i % texts.length]!} ${i}`);
  const half = Math.floor(count / 2);
  for (let start = 0; start < half; start += 512) {
    const items = await predictor.predictBatch(wanted.slice(start, Math.min(start + 512, half)));
    if (items.some((item) => item.status !== 'ok')) throw new Error('a prediction failed');
  }
  for (let start = half; start < count; start += 256) {
    await Promise.all(
      wanted.slice(start, Math.min(start + 256, count)).map((text) => predictor.predict(text)),
    );
  }
}

/**
 * RSS and JS memory after full collections. RSS is the lowest of three readings 100 ms apart: V8 hands idle heap
 * pages back on its own schedule, which moves RSS by megabytes either way; a leak raises all three readings.
 */
async function settled(): Promise<{ rss: number; js: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  let rss = Infinity;
  for (let i = 0; i < 3; i++) {
    gc();
    gc();
    await new Promise((resolve) => setTimeout(resolve, 100));
    rss = Math.min(rss, process.memoryUsage.rss());
  }
  gc();
  const usage = process.memoryUsage();
  return { rss, js: usage.heapUsed + usage.arrayBuffers };
}

const [dir, backend, predictions, warmUp, segments = '1'] = process.argv.slice(2);
if (dir === undefined || (backend !== 'native' && backend !== 'wasm')) {
  throw new Error('usage: memory-probe.ts <bundle dir> <native|wasm> <predictions> <warm-up> <segments>');
}
const bundle = await loadBundle(dir);
const texts = (await readParityCases(bundle)).map((c) => c.text);
const predictor = await createPredictor(bundle, { backend });
// Every batch size a run can have, first: onnxruntime's WASM functions compile lazily, on first use, and some are
// used only for some shapes, so a size first seen mid-measurement would show up as compiled code in RSS.
for (let size = 1; size <= 32; size++)
  await predictor.predictBatch(texts.slice(size, size * 2), { batchSize: size });
await predictMany(predictor, texts, Number(warmUp));
const wasmHeapBefore = predictor.memory().wasmHeapBytes ?? null;
const before = await settled();
const readings = [before];
const perSegment = Math.floor(Number(predictions) / Number(segments));
for (let i = 0; i < Number(segments); i++) {
  await predictMany(predictor, texts, perSegment);
  readings.push(await settled());
}
const after = readings[readings.length - 1]!;
const wasmHeapAfter = predictor.memory().wasmHeapBytes ?? null;
await predictor.dispose();
const result: MemoryProbeResult = {
  backend: predictor.backend.backend,
  predictions: perSegment * Number(segments),
  wasmHeapBefore,
  wasmHeapAfter,
  rssReadings: readings.map((r) => r.rss),
  jsBefore: before.js,
  jsAfter: after.js,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
