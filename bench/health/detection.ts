// Drift detection on streams: each stream through a real predictor and a real health monitor whose clock advances
// like traffic, checkHealth() after every request, the alert events captured; which checks fired, and after how much.
import {
  createHealthMonitor,
  createPredictor,
  loadBundle,
  type AlertEvent,
  type AlertSink,
  type BackendChoice,
  type CheckName,
  type HealthCheck,
  type HealthReport,
  type Manifest,
  type Predictor,
  type RunObservation,
  type Thresholds,
} from '../../runtime/node.ts';
import { createRng } from '../stats.ts';
import { percentileSorted, sortAscending } from '../../runtime/statistics.ts';
import { table } from '../table.ts';
import { buildStreams, type StreamPlan, type StreamSizes } from './streams.ts';

export interface DetectionOptions extends StreamSizes {
  /** Bundle folders. */
  readonly bundles: readonly string[];
  /** Default 'native'. */
  readonly backend?: BackendChoice;
  /** Texts per request (one predictBatch, one session run). Default 32. */
  readonly batchSize?: number;
  /** Simulated traffic, texts per second: the monitor's clock advances batchSize / rate s per request. Default 200. */
  readonly textsPerSecond?: number;
  /** Share of predictions that get ground truth through `feedback()` right after their request. Default 0.25. */
  readonly feedbackShare?: number;
  /** Threshold overrides, as a config file would give them. Default none (the bundle's derived defaults). */
  readonly thresholds?: Partial<Thresholds>;
  /** Called after each stream, for progress. */
  readonly onStream?: (result: StreamResult) => void;
}

/** When a check's alert first fired in a stream. */
export interface Detection {
  readonly check: CheckName;
  /** Texts and requests fed up to and including the request after which it fired. */
  readonly texts: number;
  readonly requests: number;
  /** Simulated seconds since the stream started. */
  readonly seconds: number;
  readonly value: number | null;
  readonly threshold: number;
}

/** A check's state at the end of a stream. */
export interface FinalCheck {
  readonly check: CheckName;
  readonly status: string;
  readonly value: number | null;
  readonly threshold: number;
  readonly samples: number;
  readonly stats?: Readonly<Record<string, number>>;
}

export interface StreamResult {
  readonly model: string;
  readonly backend: string;
  readonly stream: string;
  readonly description: string;
  readonly texts: number;
  readonly requests: number;
  /** Feedback items sent (ground truth for a share of the predictions). */
  readonly feedback: number;
  readonly expected: readonly string[];
  /** The first firing of every check that fired, in firing order. */
  readonly fired: readonly Detection[];
  /** Expected checks that never fired. */
  readonly missed: readonly string[];
  /** Checks that fired though neither expected nor tolerated: on the in-distribution stream, every alert. */
  readonly falseAlarms: readonly string[];
  /** Alert events by kind over the whole stream (a firing check repeats every alertRepeatSeconds). */
  readonly events: Readonly<Record<AlertEvent['kind'], number>>;
  readonly finalStatus: HealthReport['status'];
  readonly final: readonly FinalCheck[];
  /** Each check's worst value over the stream, among the reports that gave it a verdict (ok or bad). */
  readonly worst: Readonly<Partial<Record<CheckName, number>>>;
  readonly ok: boolean;
}

/** A check's values over the noise windows. */
export interface NoiseSpread {
  /** Windows replayed, and the samples in each (texts; feedback items for `accuracy`). */
  readonly windows: number;
  readonly samplesEach: number;
  readonly min: number;
  readonly median: number;
  readonly max: number;
  readonly threshold: number;
  /** Windows whose check was bad: false alarms at the smallest sample that allows a verdict. */
  readonly bad: number;
}

/**
 * The in-distribution stream cut into disjoint windows of the smallest sample that allows a verdict (`minTexts`
 * texts; `minFeedback` feedback items for accuracy), each replayed into a fresh monitor: how far the checks' values
 * wander on good traffic where a verdict is least certain. A threshold inside this spread raises false alarms.
 */
export interface NoiseWindows {
  readonly model: string;
  /** Per check with a verdict in every window. */
  readonly checks: Readonly<Partial<Record<CheckName, NoiseSpread>>>;
}

/**
 * A shift that starts after a full quality window of in-distribution traffic (the in-distribution stream's runs,
 * cycled), then the shifted stream's runs, cycled, at the same rate: the window mixes both, so detection takes longer
 * than on a fresh monitor. Alerts come from the monitor's own evaluation after recording (about once a second), with
 * no `checkHealth()` calls, as in serving. Replayed observations, so it is fast: no model runs.
 */
export interface Onset {
  readonly model: string;
  readonly stream: string;
  readonly expected: readonly string[];
  /** Per check that fired after the onset: simulated seconds and texts since the onset. */
  readonly fired: readonly { readonly check: CheckName; readonly seconds: number; readonly texts: number }[];
  /** Expected checks that had not fired after a full window of shifted traffic. */
  readonly missed: readonly string[];
  /** Alerts fired during the in-distribution hour before the onset (false alarms). */
  readonly firedBefore: readonly CheckName[];
}

export interface DetectionReport {
  readonly kind: 'drift-detection';
  readonly createdAt: string;
  readonly settings: {
    readonly backend: string;
    readonly batchSize: number;
    readonly textsPerSecond: number;
    readonly feedbackShare: number;
    readonly inDistribution: number;
    readonly shifted: number;
    readonly seed: number;
  };
  /** The thresholds each model's monitor used. */
  readonly thresholds: Readonly<Record<string, Thresholds>>;
  readonly results: readonly StreamResult[];
  readonly noise: readonly NoiseWindows[];
  readonly onsets: readonly Onset[];
  /** Every stream raised its expected alerts and the in-distribution stream none. */
  readonly ok: boolean;
}

/** Where every simulated stream's clock starts (a fixed instant keeps reports reproducible). */
const CLOCK_START = Date.parse('2026-12-01T00:00:00Z');

/**
 * Feeds every stream through every bundle's predictor with a fresh health monitor per stream and reports the alerts.
 * Deterministic for a seed except the monitor's own timings (run latency is real).
 * @throws Error when a bundle does not load or the corpus generator fails; a failed prediction item counts nowhere.
 */
export async function detectDrift(options: DetectionOptions): Promise<DetectionReport> {
  const {
    backend = 'native',
    batchSize = 32,
    textsPerSecond = 200,
    feedbackShare = 0.25,
    inDistribution = 10_000,
    shifted = 3_000,
    seed = 20270101,
  } = options;
  if (!(textsPerSecond > 0)) throw new RangeError(`textsPerSecond ${textsPerSecond}: give a rate > 0.`);
  if (!(feedbackShare >= 0 && feedbackShare <= 1)) {
    throw new RangeError(`feedbackShare ${feedbackShare}: give a share in [0, 1].`);
  }
  const results: StreamResult[] = [];
  const noise: NoiseWindows[] = [];
  const onsets: Onset[] = [];
  const thresholds: Record<string, Thresholds> = {};
  for (const dir of options.bundles) {
    let good: RunObservation[] = [];
    const bundle = await loadBundle(dir);
    const streams = await buildStreams((text) => bundle.tokenizer.encode(text).tokenCount, {
      inDistribution,
      shifted,
      seed,
    });
    const predictor = await createPredictor(bundle, { backend, batching: false });
    try {
      for (const plan of streams) {
        const { result, observations, feedback, monitorThresholds } = await runStream(plan, {
          predictor,
          batchSize,
          textsPerSecond,
          feedbackShare,
          seed,
          overrides: options.thresholds,
        });
        thresholds[result.model] = monitorThresholds;
        results.push(result);
        options.onStream?.(result);
        if (plan.name === 'in-distribution') {
          good = observations;
          noise.push(
            replayWindows(bundle.manifest, observations, feedback, monitorThresholds, textsPerSecond),
          );
        } else if (good.length > 0) {
          onsets.push(
            replayOnset(bundle.manifest, plan, good, observations, monitorThresholds, textsPerSecond),
          );
        }
      }
    } finally {
      await predictor.dispose();
    }
  }
  return {
    kind: 'drift-detection',
    createdAt: new Date().toISOString(),
    settings: { backend, batchSize, textsPerSecond, feedbackShare, inDistribution, shifted, seed },
    thresholds,
    results,
    noise,
    onsets,
    ok:
      results.every((r) => r.ok) && onsets.every((o) => o.missed.length === 0 && o.firedBefore.length === 0),
  };
}

interface StreamRun {
  readonly predictor: Predictor;
  readonly batchSize: number;
  readonly textsPerSecond: number;
  readonly feedbackShare: number;
  readonly seed: number;
  readonly overrides: Partial<Thresholds> | undefined;
}

/** Keeps the worse of `value` and the check's worst so far (the larger for a ceiling, the smaller for a floor). */
function keepWorst(worst: Partial<Record<CheckName, number>>, check: HealthCheck): void {
  if (check.value === null || (check.status !== 'ok' && check.status !== 'bad')) return;
  const before = worst[check.name];
  const worse = check.direction === 'max' ? Math.max : Math.min;
  worst[check.name] = before === undefined ? check.value : worse(before, check.value);
}

async function runStream(
  plan: StreamPlan,
  run: StreamRun,
): Promise<{
  result: StreamResult;
  observations: RunObservation[];
  feedback: FeedbackPair[];
  monitorThresholds: Thresholds;
}> {
  const { predictor, batchSize, textsPerSecond } = run;
  let clock = CLOCK_START;
  let texts = 0;
  let requests = 0;
  const fired = new Map<CheckName, Detection>();
  const events: Record<AlertEvent['kind'], number> = { firing: 0, repeat: 0, resolved: 0 };
  const worst: Partial<Record<CheckName, number>> = {};
  let lastReport: HealthReport | undefined;
  const capture: AlertSink = {
    name: 'capture',
    send(event) {
      events[event.kind]++;
      const { check } = event.alert;
      if (event.kind === 'firing' && !fired.has(check)) {
        fired.set(check, {
          check,
          texts,
          requests,
          seconds: (clock - CLOCK_START) / 1000,
          value: event.alert.value,
          threshold: event.alert.threshold,
        });
      }
    },
  };
  const monitor = createHealthMonitor(predictor, {
    now: () => clock,
    ...(run.overrides === undefined ? {} : { thresholds: run.overrides }),
    sinks: [capture],
  });
  const observations: RunObservation[] = [];
  const feedback: FeedbackPair[] = [];
  const unsubscribe = predictor.observe((o) => observations.push(o));
  const feedbackRng = createRng(run.seed + 99);
  try {
    for (let start = 0; start < plan.texts.length; start += batchSize) {
      const batch = plan.texts.slice(start, start + batchSize);
      const items = await predictor.predictBatch(
        batch.map((t) => t.text),
        { batchSize },
      );
      const ok = items.flatMap((item, i) => (item.status === 'ok' ? [{ item, i }] : []));
      const ids = monitor.rememberAll(ok.map(({ item }) => item.label));
      ok.forEach(({ item, i }, k) => {
        const id = ids[k] as string;
        if (feedbackRng() < run.feedbackShare) {
          monitor.feedback(id, batch[i]!.label);
          feedback.push([item.label, batch[i]!.label]);
        }
      });
      texts += batch.length;
      requests++;
      clock += (batch.length / textsPerSecond) * 1000;
      lastReport = monitor.checkHealth();
      for (const check of Object.values(lastReport.checks)) keepWorst(worst, check);
    }
  } finally {
    unsubscribe();
    monitor.dispose();
  }
  const missed = plan.expected.filter((check) => !fired.has(check as CheckName));
  const falseAlarms = [...fired.keys()].filter(
    (c) => !plan.expected.includes(c) && !plan.tolerated.includes(c),
  );
  const final = Object.values(lastReport?.checks ?? {}).map((c): FinalCheck => ({
    check: c.name,
    status: c.status,
    value: c.value,
    threshold: c.threshold,
    samples: c.samples,
    ...(c.stats === undefined ? {} : { stats: c.stats }),
  }));
  const result: StreamResult = {
    model: predictor.bundle.manifest.name,
    backend: predictor.backend.backend,
    stream: plan.name,
    description: plan.description,
    texts,
    requests,
    feedback: feedback.length,
    expected: plan.expected,
    fired: [...fired.values()],
    missed,
    falseAlarms,
    events,
    finalStatus: lastReport?.status ?? 'ok',
    final,
    worst,
    ok: missed.length === 0 && falseAlarms.length === 0,
  };
  return { result, observations, feedback, monitorThresholds: monitor.thresholds };
}

/** Replays a shift's onset after a full window of good traffic (see `Onset`). */
function replayOnset(
  manifest: Manifest,
  plan: StreamPlan,
  good: readonly RunObservation[],
  shifted: readonly RunObservation[],
  thresholds: Thresholds,
  textsPerSecond: number,
): Onset {
  let clock = CLOCK_START;
  let phase: 'before' | 'after' = 'before';
  let onsetAt = 0;
  let textsAfter = 0;
  const firedBefore = new Set<CheckName>();
  const fired = new Map<CheckName, { check: CheckName; seconds: number; texts: number }>();
  const monitor = createHealthMonitor(manifest, {
    now: () => clock,
    thresholds,
    sinks: [
      {
        name: 'capture',
        send(event) {
          if (event.kind !== 'firing') return;
          const { check } = event.alert;
          if (phase === 'before') firedBefore.add(check);
          else if (!fired.has(check))
            fired.set(check, { check, seconds: (clock - onsetAt) / 1000, texts: textsAfter });
        },
      },
    ],
  });
  const feed = (observation: RunObservation) => {
    clock += (observation.batchSize / textsPerSecond) * 1000;
    monitor.record(observation);
  };
  const windowMs = thresholds.qualityWindowSeconds * 1000;
  for (let i = 0; clock - CLOCK_START < windowMs; i++) feed(good[i % good.length]!);
  phase = 'after';
  onsetAt = clock;
  const done = () => plan.expected.every((check) => fired.has(check as CheckName));
  for (let i = 0; clock - onsetAt < windowMs && !done(); i++) {
    const observation = shifted[i % shifted.length]!;
    textsAfter += observation.batchSize;
    feed(observation);
  }
  monitor.dispose();
  return {
    model: manifest.name,
    stream: plan.name,
    expected: plan.expected,
    fired: [...fired.values()],
    missed: plan.expected.filter((check) => !fired.has(check as CheckName)),
    firedBefore: [...firedBefore],
  };
}

/** A prediction that got feedback: the predicted label and the true one. */
type FeedbackPair = readonly [predicted: string, truth: string];

/** Collects each judged check's value and verdict over windows, and summarises them as `NoiseSpread`s. */
function createSpreads() {
  const entries = new Map<CheckName, { values: number[]; threshold: number; bad: number; samples: number }>();
  return {
    add(check: HealthCheck): void {
      if (check.value === null || (check.status !== 'ok' && check.status !== 'bad')) return;
      const entry = entries.get(check.name) ?? { values: [], threshold: check.threshold, bad: 0, samples: 0 };
      entry.values.push(check.value);
      entry.samples = Math.max(entry.samples, check.samples);
      if (check.status === 'bad') entry.bad++;
      entries.set(check.name, entry);
    },
    /** The spreads of the checks judged in all `windows`. */
    summary(windows: number, only: (name: CheckName) => boolean): Partial<Record<CheckName, NoiseSpread>> {
      const out: Partial<Record<CheckName, NoiseSpread>> = {};
      for (const [name, entry] of entries) {
        if (entry.values.length !== windows || windows === 0 || !only(name)) continue;
        const sorted = sortAscending(entry.values);
        out[name] = {
          windows,
          samplesEach: entry.samples,
          min: sorted[0]!,
          median: percentileSorted(sorted, 0.5),
          max: sorted[sorted.length - 1]!,
          threshold: entry.threshold,
          bad: entry.bad,
        };
      }
      return out;
    },
  };
}

/** Replays disjoint windows of the in-distribution stream into fresh monitors (see `NoiseWindows`). */
function replayWindows(
  manifest: Manifest,
  observations: readonly RunObservation[],
  feedback: readonly FeedbackPair[],
  thresholds: Thresholds,
  textsPerSecond: number,
): NoiseWindows {
  const monitorAt = () => createHealthMonitor(manifest, { now: () => CLOCK_START, thresholds });
  // Texts: windows of whole runs (requests) until minTexts; a short last window has no verdict and is left out.
  const texts = createSpreads();
  let textWindows = 0;
  for (let next = 0; next < observations.length;) {
    let clock = CLOCK_START;
    const monitor = createHealthMonitor(manifest, { now: () => clock, thresholds });
    let count = 0;
    while (count < thresholds.minTexts && next < observations.length) {
      const observation = observations[next++]!;
      monitor.record(observation);
      count += observation.batchSize;
      clock += (observation.batchSize / textsPerSecond) * 1000;
    }
    if (count >= thresholds.minTexts) {
      textWindows++;
      for (const check of Object.values(monitor.checkHealth().checks)) texts.add(check);
    }
    monitor.dispose();
  }
  // Feedback: windows of exactly minFeedback items.
  const labels = createSpreads();
  let feedbackWindows = 0;
  for (let start = 0; start + thresholds.minFeedback <= feedback.length; start += thresholds.minFeedback) {
    const monitor = monitorAt();
    for (const [predicted, truth] of feedback.slice(start, start + thresholds.minFeedback)) {
      monitor.feedback(monitor.remember(predicted), truth);
    }
    feedbackWindows++;
    labels.add(monitor.checkHealth().checks.accuracy);
    monitor.dispose();
  }
  return {
    model: manifest.name,
    checks: {
      ...labels.summary(feedbackWindows, (name) => name === 'accuracy'),
      ...texts.summary(textWindows, (name) => name !== 'accuracy'),
    },
  };
}

const fmt = (value: number | null, digits = 3) => (value === null ? '-' : value.toFixed(digits));

/** The report as two plain-text tables: what fired and when, then each check's value at the end of each stream. */
export function formatDetection(report: DetectionReport): string {
  const { settings } = report;
  const alerts = table(
    ['model', 'stream', 'texts', 'alerts fired: check@texts (expected ones *)', 'missed', 'false alarms'],
    report.results.map((r) => [
      r.model,
      r.stream,
      String(r.texts),
      r.fired.map((d) => `${d.check}@${d.texts}${r.expected.includes(d.check) ? '*' : ''}`).join(' ') ||
        '(none)',
      r.missed.join(' ') || '-',
      r.falseAlarms.join(' ') || '0',
    ]),
  );
  const checks = report.results[0]?.final.map((c) => c.check) ?? [];
  const values = table(
    ['model', 'stream', ...checks],
    report.results.map((r) => [
      r.model,
      r.stream,
      ...checks.map((name) => {
        const c = r.final.find((f) => f.check === name);
        if (c === undefined) return '-';
        const mark = c.status === 'bad' ? '!' : c.status === 'ok' ? '' : '?';
        return `${fmt(c.value)}${mark}`;
      }),
    ]),
  );
  const limits = Object.entries(report.thresholds).map(
    ([model, t]) =>
      `${model}: maxOovRate ${t.maxOovRate}, maxTruncationRate ${t.maxTruncationRate}, maxLabelDrift ` +
      `${t.maxLabelDrift}, maxLengthDrift ${t.maxLengthDrift}, minAccuracy ${t.minAccuracy}, minEstimatedAccuracy ` +
      `${t.minEstimatedAccuracy}, minTexts ${t.minTexts}, minFeedback ${t.minFeedback}, quality window ` +
      `${t.qualityWindowSeconds} s`,
  );
  const noise = table(
    ['model', 'check', 'windows', 'samples each', 'min', 'median', 'max', 'threshold', 'bad'],
    report.noise.flatMap((n) =>
      Object.entries(n.checks).map(([check, c]) => [
        n.model,
        check,
        String(c.windows),
        String(c.samplesEach),
        fmt(c.min),
        fmt(c.median),
        fmt(c.max),
        fmt(c.threshold),
        String(c.bad),
      ]),
    ),
  );
  const inDistribution = report.results.filter((r) => r.stream === 'in-distribution');
  const worst = table(
    ['model', ...checks],
    inDistribution.map((r) => [
      r.model,
      ...checks.map((name) => {
        const value = r.worst[name];
        const threshold = r.final.find((c) => c.check === name)?.threshold;
        return value === undefined ? '-' : `${fmt(value)} / ${fmt(threshold ?? null)}`;
      }),
    ]),
  );
  const onsets = table(
    ['model', 'stream', 'alerts after the onset: check@seconds (texts)', 'missed', 'before the onset'],
    report.onsets.map((o) => [
      o.model,
      o.stream,
      o.fired.map((f) => `${f.check}@${f.seconds.toFixed(0)} s (${f.texts})`).join(' ') || '(none)',
      o.missed.join(' ') || '-',
      o.firedBefore.join(' ') || 'none',
    ]),
  );
  return [
    `drift detection: ${settings.backend}, ${settings.batchSize} texts per request, simulated ${settings.textsPerSecond} ` +
      `texts/s, feedback on ${(settings.feedbackShare * 100).toFixed(0)}% of predictions, seed ${settings.seed}; ` +
      `checkHealth() after every request (requests = texts / ${settings.batchSize})`,
    alerts,
    '',
    'a shift starting after a full quality window of in-distribution traffic (replayed runs, same rate):',
    onsets,
    '',
    'values at the end of each stream (! bad, ? insufficient data or unavailable):',
    values,
    '',
    'in-distribution stream, worst value while judged / threshold (ceilings: the largest; floors: the smallest):',
    worst,
    '',
    'in-distribution noise: disjoint windows of minTexts texts (accuracy: minFeedback items), each in a fresh monitor; ' +
      'oov and truncation are judged by their 99% lower bound, shown here is the rate:',
    noise,
    '',
    'thresholds:',
    ...limits,
    '',
    report.ok
      ? 'ok: every shifted stream raised its expected alerts, also after a window of good traffic; the in-distribution stream none'
      : 'FAILED: see the verdicts above',
  ].join('\n');
}
