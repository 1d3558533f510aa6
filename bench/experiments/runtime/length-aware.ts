// Length-aware batching: news-transformer items/s with each run padded to its longest text and windows grouped by
// length, against every run padded to maxLen in the caller's order (`lengthAware: false`), on the same dynamic
// bundle, at batch 1, batch 32 and 32 concurrent callers through the micro-batcher, native and wasm side by side.
// Texts: the bundle's test-split parity cases (real news, lengths like the test split), shuffled with a fixed seed.
// Run: npx tsx bench/experiments/runtime/length-aware.ts [--bundle artifacts/news-transformer] [--time 6000]
//        [--backends native,wasm] [--overheads 0,64,256,1024 (first compares the split rule's overheadTokens)]
import { parseArgs } from 'node:util';
import { runLength } from '../../../runtime/length-groups.ts';
import {
  createPredictor,
  loadBundle,
  readParityCases,
  type Predictor,
  type RunObservation,
} from '../../../runtime/node.ts';
import { sideBySide, type TaskTiming } from './side-by-side.ts';

const { values } = parseArgs({
  options: {
    bundle: { type: 'string', default: 'artifacts/news-transformer' },
    time: { type: 'string', default: '6000' },
    backends: { type: 'string', default: 'native,wasm' },
    overheads: { type: 'string' },
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

if (values.overheads !== undefined) await compareOverheads(values.overheads);

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

// What padding costs at most: a run padded to maxLen spends maxLen / (mean text length) times the tokens the texts
// hold. No grouping gains more than that in tokens (attention's share, quadratic in length, can add a little).
// `lengths` are counted before truncation, so they are capped at maxLen here.
const lengths = [...sides.values()].flatMap((s) =>
  s.runs.flatMap((o) => o.lengths.map((n) => Math.min(n, maxLen))),
);
if (lengths.length > 0) {
  const sorted = [...lengths].sort((a, b) => a - b);
  const mean = lengths.reduce((a, b) => a + b, 0) / lengths.length;
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  console.log(
    `text lengths in tokens: mean ${mean.toFixed(1)}, median ${at(0.5)}, p90 ${at(0.9)}, max ${sorted.at(-1)}; ` +
      `maxLen / mean = ${(maxLen / mean).toFixed(2)}x, the token saving of padding nothing at all`,
  );
}

for (const s of sides.values()) await s.predictor.dispose();

/**
 * The split rule's one parameter: batch 32 through predictBatch with `lengthAware: { overheadTokens }` for each value
 * of `--overheads`, against fixed padding, interleaved; prints items/s, the ratio and session runs per call.
 */
async function compareOverheads(list: string): Promise<void> {
  const values = list.split(',').map(Number);
  for (const backend of BACKENDS) {
    const predictors: [string, Predictor][] = [
      ['fixed', await createPredictor(bundle, { backend, lengthAware: false, batching: false })],
    ];
    for (const overheadTokens of values) {
      predictors.push([
        `overheadTokens ${overheadTokens}`,
        await createPredictor(bundle, { backend, lengthAware: { overheadTokens }, batching: false }),
      ]);
    }
    const runs = new Map<string, number>();
    const tasks: Record<string, () => Promise<unknown>> = {};
    for (const [name, predictor] of predictors) {
      const draw = drawer();
      runs.set(name, 0);
      predictor.observe(() => runs.set(name, runs.get(name)! + 1));
      tasks[name] = () => predictor.predictBatch(draw(BATCH), { batchSize: BATCH });
    }
    const timings = await sideBySide(tasks, { warmup: 2, timeMs: TIME_MS, minSamples: 10 });
    const fixed = timings[0]!.median;
    console.log(
      `split rule at batch ${BATCH} on ${backend} (medians of ${timings[0]!.samples} interleaved rounds)`,
    );
    for (const timing of timings) {
      console.log(
        `  ${timing.name.padEnd(22)}${((BATCH / timing.median) * 1000).toFixed(0).padStart(7)} items/s` +
          `${`${(fixed / timing.median).toFixed(2)}x`.padStart(8)}` +
          `  ${(runs.get(timing.name)! / (timing.samples + 2)).toFixed(1)} runs per call`,
      );
    }
    for (const [, predictor] of predictors) await predictor.dispose();
  }
}
