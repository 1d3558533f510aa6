// What the health monitor costs: predictBatch throughput with the monitor on vs off, one predictor, interleaved rounds.
// Run: npx tsx bench/experiments/health/overhead.ts [--rounds 10] [--round-ms 1000] [--backend native,wasm] [--quick] [--out FILE]
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { hrtimeNow } from 'tinybench';
import {
  createHealthMonitor,
  createPredictor,
  loadBundle,
  type BackendName,
  type HealthMonitor,
  type Predictor,
} from '../../../runtime/node.ts';
import { bootstrapQuantileRatio } from '../../stats.ts';
import { percentileSorted, sortAscending } from '../../../runtime/statistics.ts';
import { table } from '../../table.ts';
import { corpusTexts } from '../../health/streams.ts';

const { values } = parseArgs({
  options: {
    bundle: { type: 'string', multiple: true },
    backend: { type: 'string', default: 'native,wasm' },
    rounds: { type: 'string', default: '10' },
    'round-ms': { type: 'string', default: '1000' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const ROUNDS = values.quick ? 4 : Number(values.rounds);
const ROUND_MS = values.quick ? 500 : Number(values['round-ms']);
for (const [flag, value] of [
  ['--rounds', ROUNDS],
  ['--round-ms', ROUND_MS],
] as const) {
  if (!(Number.isInteger(value) && value >= 1)) throw new Error(`--${flag} ${value}: give an integer >= 1.`);
}
const BATCH = 32;
/** The limits on throughput loss at batch 32 (with the monitor as serving runs it: ids included). */
const AIM: Readonly<Record<string, number>> = { 'news-transformer': 0.03, 'news-bag': 0.1 };
const bundles = values.bundle ?? ['news-transformer', 'news-bag'];
const backends = values.backend.split(',') as BackendName[];

// In-distribution texts (the corpus generator, an unseen seed): the monitor's work depends on them (tokens, labels).
const texts = (await corpusTexts({ count: BATCH * 64, seed: 20270201 })).map((t) => t.text);
const batches = Array.from({ length: 64 }, (_, i) => texts.slice(i * BATCH, (i + 1) * BATCH));

/** What a round runs besides predictBatch. */
const MODES = ['off', 'monitor', 'monitor+ids'] as const;
type Mode = (typeof MODES)[number];

/**
 * Texts per second of wall time, and per second of this process's CPU time (user + system, every thread); and the
 * share of the round's wall time spent inside the monitor's calls (0 when off).
 */
interface RoundRate {
  readonly wall: number;
  readonly cpu: number;
  readonly inMonitor: number;
}

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/**
 * One round: predictBatch of 32 texts back to back for ROUND_MS. `monitor`: every run is recorded (through observe,
 * as createHealthMonitor(predictor) subscribes) and the round ends with one `checkHealth()` (the edge checks about
 * once a second: alert evaluation, /v1/health, /metrics scrapes); `monitor+ids`: also an id per prediction
 * (`rememberAll` per request, as the edge does for /v1/feedback). All inside the measured span. CPU time is measured beside wall
 * time because the machine is shared: other processes stretch wall time, much less this process's CPU time (one
 * onnxruntime thread, in this process).
 */
async function round(
  predictor: Predictor,
  monitor: HealthMonitor,
  mode: Mode,
  start: number,
): Promise<RoundRate> {
  let inMonitor = 0;
  const unsubscribe =
    mode === 'off'
      ? undefined
      : predictor.observe((o) => {
          const t = hrtimeNow();
          monitor.record(o);
          inMonitor += hrtimeNow() - t;
        });
  const ids = mode === 'monitor+ids';
  let done = 0;
  let next = start;
  const cpu0 = cpuMs();
  const t0 = hrtimeNow();
  while (hrtimeNow() - t0 < ROUND_MS) {
    const items = await predictor.predictBatch(batches[next++ % batches.length]!, { batchSize: BATCH });
    if (ids) {
      const t = hrtimeNow();
      monitor.rememberAll(items.flatMap((item) => (item.status === 'ok' ? [item.label] : [])));
      inMonitor += hrtimeNow() - t;
    }
    done += items.length;
  }
  if (mode !== 'off') {
    const t = hrtimeNow();
    monitor.checkHealth();
    inMonitor += hrtimeNow() - t;
  }
  const wall = hrtimeNow() - t0;
  const cpu = cpuMs() - cpu0;
  unsubscribe?.();
  return { wall: (done / wall) * 1000, cpu: (done / cpu) * 1000, inMonitor: inMonitor / wall };
}

/**
 * `wall` and `cpu`: throughput against the off rounds. `in-monitor`: the share of the monitored rounds' time spent in
 * the monitor's own calls, which is the throughput it costs on one thread; both sides of that ratio are stretched
 * alike when other processes take the CPU, so it is the steadiest of the three on a shared machine.
 */
const MEASURES = ['wall', 'cpu', 'in-monitor'] as const;
type Measure = (typeof MEASURES)[number];

/** A monitored mode against `off`, by one measure. */
interface Comparison {
  readonly mode: Exclude<Mode, 'off'>;
  readonly measure: Measure;
  /** Texts per second per round (of wall or CPU time). */
  readonly rates: readonly number[];
  readonly median: number;
  readonly medianOff: number;
  /**
   * 1 - median(mode) / median(off), with a 95% bootstrap interval of the ratio of medians; for `in-monitor`, the
   * median share of time in the monitor, with a 95% bootstrap interval of that median.
   */
  readonly loss: number;
  readonly lossLow: number;
  readonly lossHigh: number;
  /** Per round (the modes of one round run back to back): smallest and largest loss (share, for `in-monitor`). */
  readonly roundLossMin: number;
  readonly roundLossMax: number;
}

interface OverheadResult {
  readonly model: string;
  readonly backend: string;
  readonly rounds: number;
  readonly roundMs: number;
  readonly rates: Readonly<Record<Mode, readonly RoundRate[]>>;
  readonly compared: readonly Comparison[];
  /** The limit on the loss, for `monitor+ids` (what serving does). */
  readonly aim: number | null;
}

const median = (xs: readonly number[]) => percentileSorted(sortAscending(xs), 0.5);
const results: OverheadResult[] = [];
for (const name of bundles) {
  const bundle = await loadBundle(name.includes('/') ? name : `artifacts/${name}`);
  for (const backend of backends) {
    const predictor = await createPredictor(bundle, { backend, batching: false });
    // One long-lived monitor, as in serving: it follows the predictor only in monitored rounds. Its prediction
    // ledger starts full (100,000 ids by default), the steady state after a few minutes of traffic.
    // As the Node server makes it: read in place, so no copy of the ids for deltas (a Worker isolate keeps one).
    const monitor = createHealthMonitor(bundle.manifest, { forwardsDeltas: false });
    const labels = bundle.manifest.labels;
    const request = Array.from({ length: BATCH }, (_, i) => labels[i % labels.length]!);
    for (let i = 0; i < 100_000 / BATCH; i++) monitor.rememberAll(request);
    for (const mode of MODES) await round(predictor, monitor, mode, 0); // warm-up
    const rates: Record<Mode, RoundRate[]> = { off: [], monitor: [], 'monitor+ids': [] };
    for (let r = 0; r < ROUNDS; r++) {
      // The order rotates, so a slow spell on the shared machine hits every mode alike.
      for (let k = 0; k < MODES.length; k++) {
        const mode = MODES[(r + k) % MODES.length]!;
        rates[mode].push(await round(predictor, monitor, mode, r * 7));
      }
    }
    monitor.dispose();
    await predictor.dispose();
    const compared = (['monitor', 'monitor+ids'] as const).flatMap((mode) =>
      MEASURES.map((measure): Comparison => {
        if (measure === 'in-monitor') {
          const shares = rates[mode].map((r) => r.inMonitor);
          // Against a constant 1, the ratio of medians is the median share itself, with its bootstrap interval.
          const interval = bootstrapQuantileRatio([1], shares, 0.5, { seed: 1 });
          return {
            mode,
            measure,
            rates: rates[mode].map((r) => r.wall),
            median: median(rates[mode].map((r) => r.wall)),
            medianOff: median(rates.off.map((r) => r.wall)),
            loss: interval.estimate,
            lossLow: interval.low,
            lossHigh: interval.high,
            roundLossMin: Math.min(...shares),
            roundLossMax: Math.max(...shares),
          };
        }
        const off = rates.off.map((r) => r[measure]);
        const on = rates[mode].map((r) => r[measure]);
        const interval = bootstrapQuantileRatio(off, on, 0.5, { seed: 1 });
        const perRound = on.map((v, i) => 1 - v / off[i]!);
        return {
          mode,
          measure,
          rates: on,
          median: median(on),
          medianOff: median(off),
          loss: 1 - interval.estimate,
          lossLow: 1 - interval.high,
          lossHigh: 1 - interval.low,
          roundLossMin: Math.min(...perRound),
          roundLossMax: Math.max(...perRound),
        };
      }),
    );
    results.push({
      model: bundle.manifest.name,
      backend: predictor.backend.backend,
      rounds: ROUNDS,
      roundMs: ROUND_MS,
      rates,
      compared,
      aim: AIM[bundle.manifest.name] ?? null,
    });
  }
}

const pct = (v: number) => `${v >= 0 ? '' : '-'}${Math.abs(v * 100).toFixed(1)}%`;
console.log(
  `health monitor overhead, predictBatch of ${BATCH} texts, ${ROUNDS} rounds of ${ROUND_MS} ms per mode, modes ` +
    `interleaved; medians. monitor: every run recorded, one checkHealth() a round; monitor+ids: also an id per ` +
    `prediction, as the edge serves. Loss > 0: fewer texts per second (of wall time; of this process's CPU time) than ` +
    `off; in-monitor: the share of the monitored rounds' time spent in the monitor's calls (texts/s: wall).`,
);
console.log(
  table(
    ['model', 'backend', 'mode', 'measure', 'texts/s', 'off', 'loss', '95% interval', 'per round', 'aim'],
    results.flatMap((r) =>
      r.compared.map((c) => [
        r.model,
        r.backend,
        c.mode,
        c.measure,
        c.median.toFixed(0),
        c.medianOff.toFixed(0),
        pct(c.loss),
        `${pct(c.lossLow)} .. ${pct(c.lossHigh)}`,
        `${pct(c.roundLossMin)} .. ${pct(c.roundLossMax)}`,
        r.aim === null || c.mode !== 'monitor+ids'
          ? ''
          : `<= ${pct(r.aim)} ${c.loss <= r.aim ? 'ok' : 'OVER'}`,
      ]),
    ),
  ),
);
if (values.out !== undefined) {
  await mkdir(dirname(values.out), { recursive: true });
  await writeFile(values.out, JSON.stringify({ kind: 'monitor-overhead', results }, null, 2) + '\n');
  console.log(`wrote ${values.out}`);
}
