// Length-aware batching: news-transformer items/s with each run padded to its longest text and windows grouped by
// length, against every run padded to maxLen in the caller's order (`lengthAware: false`), on the same dynamic
// bundle, at batch 1, batch 32 and 32 concurrent callers through the micro-batcher, native and wasm side by side.
// Texts: the bundle's test-split parity cases (real news, lengths like the test split), shuffled with a fixed seed.
// Run: npx tsx bench/experiments/runtime/length-aware.ts [--bundle artifacts/news-transformer] [--time 6000]
//        [--backends native,wasm] [--overhead]
import { parseArgs } from 'node:util';
import { runLength } from '../../../runtime/length-groups.ts';
import {
  createPredictor,
  loadBundle,
  readParityCases,
  type Predictor,
  type RunObservation,
} from '../../../runtime/node.ts';
import { ms, sideBySide, type TaskTiming } from './side-by-side.ts';

const { values } = parseArgs({
  options: {
    bundle: { type: 'string', default: 'artifacts/news-transformer' },
    time: { type: 'string', default: '6000' },
    backends: { type: 'string', default: 'native,wasm' },
    overhead: { type: 'boolean', default: false },
  },
});
const TIME_MS = Number(values.time);
if (!(Number.isInteger(TIME_MS) && TIME_MS >= 1)) throw new Error(`--time ${values.time}: give ms >= 1.`);
const BACKENDS = values.backends.split(',') as ('native' | 'wasm')[];
for (const backend of BACKENDS) {
  if (backend !== 'native' && backend !== 'wasm') {
    throw new Error(`--backends: unknown backend "${String(backend)}". Should be native and/or wasm.`);
  }
}

const CALLERS = 32;
const PER_CALLER = 4;
const BATCH = 32;

const bundle = await loadBundle(values.bundle);
if (bundle.manifest.model.sequence?.dynamic !== true) {
  throw new Error(
    `${values.bundle}: the manifest has no model.sequence.dynamic, so both sides would pad to maxLen. ` +
      'Pass --bundle with a dynamic-length bundle.',
  );
}
const { maxLen } = bundle.manifest.preprocessing;
const texts = shuffled(
  (await readParityCases(bundle))
    .filter((c) => c.tags.includes('test-split') && c.text.trim() !== '')
    .map((c) => c.text),
);
if (texts.length < BATCH) throw new Error(`${values.bundle}: only ${texts.length} test-split parity cases.`);

/** A Fisher-Yates shuffle with a fixed seed: the same draw on every run. */
function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  let state = 12345;
  for (let i = out.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Each side draws the same texts in the same order, from its own cursor. */
function drawer(): (count: number) => string[] {
  let next = 0;
  return (count) => Array.from({ length: count }, () => texts[next++ % texts.length]!);
}

interface Side {
  readonly predictor: Predictor;
  readonly runs: RunObservation[];
}

async function side(backend: 'native' | 'wasm', lengthAware: boolean): Promise<Side> {
  const predictor = await createPredictor(bundle, {
    backend,
    lengthAware,
    batching: { maxBatchSize: BATCH, maxDelayMs: 2 },
  });
  const runs: RunObservation[] = [];
  predictor.observe((o) => runs.push(o));
  return { predictor, runs };
}

type Scenario = 'batch 1' | 'batch 32' | '32 concurrent';
const SCENARIOS: Record<
  Scenario,
  { items: number; task: (s: Side, draw: (n: number) => string[]) => Promise<unknown> }
> = {
  'batch 1': { items: 1, task: (s, draw) => s.predictor.predictBatch(draw(1), { batchSize: 1 }) },
  'batch 32': {
    items: BATCH,
    task: (s, draw) => s.predictor.predictBatch(draw(BATCH), { batchSize: BATCH }),
  },
  '32 concurrent': {
    items: CALLERS * PER_CALLER,
    task: (s, draw) =>
      Promise.all(
        Array.from({ length: CALLERS }, async () => {
          for (let i = 0; i < PER_CALLER; i++) await s.predictor.predict(draw(1)[0]!);
        }),
      ),
  },
};

const sides = new Map<string, Side>();
for (const backend of BACKENDS) {
  sides.set(`${backend} fixed`, await side(backend, false));
  sides.set(`${backend} aware`, await side(backend, true));
}

if (values.overhead) await measureOverhead();

console.log(
  `length-aware vs fixed padding, ${values.bundle} (maxLen ${maxLen}), ${texts.length} test-split texts, ` +
    `medians of interleaved rounds (--time ${TIME_MS} ms per scenario)`,
);
console.log(
  'scenario        backend  fixed items/s  aware items/s  aware/fixed  aware: texts/run  padded len/run',
);
for (const [scenario, { items, task }] of Object.entries(SCENARIOS) as [
  Scenario,
  (typeof SCENARIOS)[Scenario],
][]) {
  const tasks: Record<string, () => Promise<unknown>> = {};
  const marks = new Map<string, number>();
  for (const [name, s] of sides) {
    const draw = drawer();
    tasks[name] = () => task(s, draw);
  }
  for (const [name, s] of sides) marks.set(name, s.runs.length);
  const timings = await sideBySide(tasks, { warmup: 2, timeMs: TIME_MS, minSamples: 8 });
  const byName = new Map<string, TaskTiming>(timings.map((t) => [t.name, t]));
  for (const backend of BACKENDS) {
    const fixed = byName.get(`${backend} fixed`)!;
    const aware = byName.get(`${backend} aware`)!;
    const awareRuns = sides.get(`${backend} aware`)!.runs.slice(marks.get(`${backend} aware`));
    const rate = (t: TaskTiming) => (items / t.median) * 1000;
    const meanRows = awareRuns.reduce((a, o) => a + o.batchSize, 0) / awareRuns.length;
    const meanLength =
      awareRuns.reduce((a, o) => a + runLength(Math.max(...o.lengths), maxLen), 0) / awareRuns.length;
    const row =
      `${scenario.padEnd(16)}${backend.padEnd(9)}${rate(fixed).toFixed(0).padStart(13)}` +
      `${rate(aware).toFixed(0).padStart(15)}${`${(fixed.median / aware.median).toFixed(2)}x`.padStart(13)}` +
      `${meanRows.toFixed(1).padStart(18)}${meanLength.toFixed(1).padStart(16)}`;
    console.log(row);
  }
}

for (const s of sides.values()) await s.predictor.dispose();

/**
 * The cost model behind `groupByLength`: ms per run at 1 and 32 rows and padded lengths 8..maxLen on each backend,
 * fitted as `overhead + rows * length * perToken`; prints the per-run overhead in token rows.
 */
async function measureOverhead(): Promise<void> {
  console.log('cost per session run (median ms), fixed-order runs of texts padded to the given length');
  for (const backend of BACKENDS) {
    const predictor = sides.get(`${backend} aware`)!.predictor;
    const byLength = new Map<number, string[]>();
    for (const text of texts) {
      const length = runLength(bundle.tokenizer.encode(text).tokenCount, maxLen);
      byLength.set(length, [...(byLength.get(length) ?? []), text]);
    }
    const points: { rows: number; length: number; ms: number }[] = [];
    for (const [length, group] of [...byLength].sort((a, b) => a[0] - b[0])) {
      for (const rows of [1, BATCH]) {
        const batch = Array.from({ length: rows }, (_, i) => group[i % group.length]!);
        const [timing] = await sideBySide(
          { run: () => predictor.predictBatch(batch, { batchSize: rows }) },
          { warmup: 2, timeMs: 300, minSamples: 10 },
        );
        points.push({ rows, length, ms: timing!.median });
        console.log(
          `  ${backend.padEnd(7)} rows ${String(rows).padStart(2)} length ${String(length).padStart(2)}: ${ms(timing!.median)}`,
        );
      }
    }
    // Least squares of ms = a + b * (rows * length).
    const xs = points.map((p) => p.rows * p.length);
    const ys = points.map((p) => p.ms);
    const mx = xs.reduce((a, x) => a + x, 0) / xs.length;
    const my = ys.reduce((a, y) => a + y, 0) / ys.length;
    const b =
      xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0) / xs.reduce((a, x) => a + (x - mx) ** 2, 0);
    const a = my - b * mx;
    console.log(
      `  ${backend}: overhead ${ms(a)} per run, ${ms(b)} per token row: overhead = ${(a / b).toFixed(0)} token rows`,
    );
  }
}
