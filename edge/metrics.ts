// The Prometheus text exposition (format 0.0.4) of the edge: a small portable writer, and the shipshape metric families.
//
// Why our own writer: the Worker cannot use prom-client (it needs node:*), and the exposition is a small, stable
// format: https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format. Both entries (Node and
// the Workers' aggregating Durable Object) render a monitor with the same functions, so their metrics match.
import type { AdmissionStats } from './admission.ts';
import {
  CHECK_NAMES,
  type CheckName,
  type HealthReport,
  type Histogram,
  type MonitorTotals,
} from '../runtime/monitor/types.ts';

/** The Content-Type of `GET /metrics`. */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** One family's definition: what the README's metrics table lists. */
export interface MetricFamily {
  readonly name: string;
  readonly type: MetricType;
  readonly labels: readonly string[];
  /** `seconds`, `bytes`, or what is counted (`requests`, `texts`...). */
  readonly unit: string;
  readonly help: string;
}

const family = (
  name: string,
  type: MetricType,
  labels: readonly string[],
  unit: string,
  help: string,
): MetricFamily => Object.freeze({ name, type, labels, unit, help });

/** Every family the edge exposes, in exposition order. */
export const METRIC_FAMILIES = Object.freeze({
  httpRequests: family(
    'shipshape_http_requests_total',
    'counter',
    ['route', 'method', 'status'],
    'requests',
    'HTTP requests answered, by route pattern, method and status.',
  ),
  httpDuration: family(
    'shipshape_http_request_duration_seconds',
    'histogram',
    ['route'],
    'seconds',
    'Time from the request reaching the app to its response, by route pattern.',
  ),
  queueWait: family(
    'shipshape_queue_wait_seconds',
    'histogram',
    [],
    'seconds',
    'Time prediction requests waited from arrival to admission (edge/admission.ts).',
  ),
  errors: family('shipshape_errors_total', 'counter', ['code'], 'requests', 'Error answers by error code.'),
  modelInfo: family(
    'shipshape_model_info',
    'gauge',
    ['model', 'version', 'backend'],
    'info',
    'The model serving, always 1.',
  ),
  texts: family('shipshape_texts_total', 'counter', ['model'], 'texts', 'Texts classified.'),
  tokens: family(
    'shipshape_tokens_total',
    'counter',
    ['model'],
    'tokens',
    'Tokens of the classified texts, before truncation.',
  ),
  unknownTokens: family(
    'shipshape_unknown_tokens_total',
    'counter',
    ['model'],
    'tokens',
    "Tokens missing from the bundle's vocabulary (mapped to <unk>).",
  ),
  truncatedTexts: family(
    'shipshape_truncated_texts_total',
    'counter',
    ['model'],
    'texts',
    "Texts longer than the model's max_len, cut to it.",
  ),
  predictions: family(
    'shipshape_predictions_total',
    'counter',
    ['model', 'label'],
    'texts',
    'Predictions by top label.',
  ),
  feedback: family(
    'shipshape_feedback_total',
    'counter',
    ['model', 'outcome'],
    'predictions',
    'Ground truth received on POST /v1/feedback, by whether the prediction was correct.',
  ),
  alertsFired: family(
    'shipshape_alerts_fired_total',
    'counter',
    ['model', 'check'],
    'alerts',
    'Alerts that started firing, by check.',
  ),
  inferenceDuration: family(
    'shipshape_inference_duration_seconds',
    'histogram',
    ['model'],
    'seconds',
    'Duration of one session run (one batch).',
  ),
  batchSize: family(
    'shipshape_inference_batch_size',
    'histogram',
    ['model'],
    'texts',
    'Texts per session run.',
  ),
  checkValue: family(
    'shipshape_health_check_value',
    'gauge',
    ['model', 'check'],
    'check unit',
    "A health check's measured value over its window (absent when there is none); p95_latency in seconds.",
  ),
  checkThreshold: family(
    'shipshape_health_check_threshold',
    'gauge',
    ['model', 'check'],
    'check unit',
    "A health check's threshold; p95_latency in seconds.",
  ),
  checkOk: family(
    'shipshape_health_check_ok',
    'gauge',
    ['model', 'check'],
    'boolean',
    '1 when the check passes, 0 when it is bad; absent while it has too few samples or is unavailable.',
  ),
  driftScore: family(
    'shipshape_drift_score',
    'gauge',
    ['model', 'check', 'measure'],
    'ratio',
    "Drift of the label and token-length distributions from the bundle's reference (absent below minTexts).",
  ),
  accuracy: family(
    'shipshape_accuracy',
    'gauge',
    ['model', 'source'],
    'ratio',
    'Accuracy from feedback, and estimated from calibrated confidence.',
  ),
  alertFiring: family(
    'shipshape_alert_firing',
    'gauge',
    ['model', 'check'],
    'boolean',
    '1 while the check has a firing alert.',
  ),
  engineMemory: family(
    'shipshape_engine_memory_bytes',
    'gauge',
    ['model', 'backend'],
    'bytes',
    "The inference engine's memory (WASM linear memory), when the backend tells.",
  ),
  inflightTexts: family(
    'shipshape_inflight_texts',
    'gauge',
    [],
    'texts',
    'Texts in service now (admitted, not finished).',
  ),
  queuedTexts: family('shipshape_queued_texts', 'gauge', [], 'texts', 'Texts waiting for admission now.'),
} satisfies Record<string, MetricFamily>);

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  readonly labels?: Labels;
  readonly value: number;
}

export interface HistogramSample {
  readonly labels?: Labels;
  readonly histogram: Histogram;
  /** Multiplies bounds and sum, e.g. 1/1000 for a histogram kept in ms and exposed in seconds. Default 1. */
  readonly scale?: number;
}

/** Escapes a label value: backslash, double quote and line feed (the format's only escapes). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Escapes HELP text: backslash and line feed. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value as the format spells it: Go's float syntax, with `+Inf`, `-Inf` and `NaN`. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/**
 * A bound scaled to the exposed unit, rounded to 12 significant digits so `le` reads as written (`0.1`, never
 * `0.10000000000000002`) and alert rules can name it.
 */
export function scaleBound(bound: number, scale: number): number {
  return scale === 1 ? bound : Number((bound * scale).toPrecision(12));
}

function renderLabels(labels: Labels | undefined, extra?: readonly [string, string]): string {
  const pairs = Object.entries(labels ?? {});
  if (extra !== undefined) pairs.push([extra[0], extra[1]]);
  if (pairs.length === 0) return '';
  return `{${pairs.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(',')}}`;
}

/**
 * Builds one exposition. Families are written in the order they are added, each once, with `# HELP` and `# TYPE`;
 * a family without samples is left out (Prometheus reads absence as "no data", which is what it is).
 */
export class Exposition {
  readonly #lines: string[] = [];
  readonly #written = new Set<string>();

  #header(definition: MetricFamily): void {
    if (this.#written.has(definition.name)) {
      throw new Error(`Metric family ${definition.name} written twice in one exposition.`);
    }
    this.#written.add(definition.name);
    this.#lines.push(`# HELP ${definition.name} ${escapeHelp(definition.help)}`);
    this.#lines.push(`# TYPE ${definition.name} ${definition.type}`);
  }

  /**
   * Adds a counter or gauge family.
   * @throws Error when the family is a histogram, or was already added.
   */
  add(definition: MetricFamily, samples: readonly Sample[]): this {
    if (definition.type === 'histogram')
      throw new Error(`${definition.name} is a histogram; use histogram().`);
    if (samples.length === 0) return this;
    this.#header(definition);
    for (const sample of samples) {
      this.#lines.push(`${definition.name}${renderLabels(sample.labels)} ${formatValue(sample.value)}`);
    }
    return this;
  }

  /**
   * Adds a histogram family: cumulative `_bucket{le}` lines ending with `le="+Inf"`, then `_sum` and `_count`.
   * @throws Error when the family is not a histogram, was already added, or a histogram's counts do not fit its
   *   bounds (one count per bound plus one above them).
   */
  histogram(definition: MetricFamily, samples: readonly HistogramSample[]): this {
    if (definition.type !== 'histogram') throw new Error(`${definition.name} is a ${definition.type}.`);
    if (samples.length === 0) return this;
    this.#header(definition);
    for (const { labels, histogram, scale = 1 } of samples) {
      if (histogram.counts.length !== histogram.bounds.length + 1) {
        throw new Error(
          `${definition.name}: ${histogram.counts.length} counts for ${histogram.bounds.length} bounds; ` +
            'expected one per bound plus one above them.',
        );
      }
      let cumulative = 0;
      histogram.bounds.forEach((bound, i) => {
        cumulative += histogram.counts[i] ?? 0;
        const le = formatValue(scaleBound(bound, scale));
        this.#lines.push(`${definition.name}_bucket${renderLabels(labels, ['le', le])} ${cumulative}`);
      });
      cumulative += histogram.counts.at(-1) ?? 0;
      this.#lines.push(`${definition.name}_bucket${renderLabels(labels, ['le', '+Inf'])} ${cumulative}`);
      this.#lines.push(`${definition.name}_sum${renderLabels(labels)} ${formatValue(histogram.sum * scale)}`);
      this.#lines.push(`${definition.name}_count${renderLabels(labels)} ${cumulative}`);
    }
    return this;
  }

  /** The exposition text, ending with a line feed (empty when nothing was added). */
  text(): string {
    return this.#lines.length === 0 ? '' : `${this.#lines.join('\n')}\n`;
  }
}

const MS = 1 / 1000;
const sortedKeys = <T>(record: Readonly<Record<string, T>>) => Object.keys(record).sort();

/**
 * The families a health monitor knows: requests, errors, texts, tokens, predictions, feedback, run durations and
 * batch sizes (cumulative since the monitor started: a swapped-in model starts again at zero, which Prometheus reads
 * as a counter reset), then the checks of `report`: values, thresholds, verdicts, drift scores, accuracy, alerts.
 */
export function renderMonitorMetrics(totals: MonitorTotals, report: HealthReport): string {
  const f = METRIC_FAMILIES;
  const model = totals.model.name;
  const out = new Exposition();

  const requests = [...totals.requests].sort(
    (a, b) => a.route.localeCompare(b.route) || a.method.localeCompare(b.method) || a.status - b.status,
  );
  out.add(
    f.httpRequests,
    requests.map(({ route, method, status, count }) => ({
      labels: { route, method, status: String(status) },
      value: count,
    })),
  );
  out.histogram(
    f.httpDuration,
    sortedKeys(totals.requestDurationMs).map((route) => ({
      labels: { route },
      histogram: totals.requestDurationMs[route]!,
      scale: MS,
    })),
  );
  out.histogram(f.queueWait, [{ histogram: totals.queueWaitMs, scale: MS }]);
  out.add(
    f.errors,
    sortedKeys(totals.errorsByCode).map((code) => ({ labels: { code }, value: totals.errorsByCode[code]! })),
  );

  out.add(f.modelInfo, [
    { labels: { model, version: totals.model.version, backend: totals.backend }, value: 1 },
  ]);
  out.add(f.texts, [{ labels: { model }, value: totals.texts }]);
  out.add(f.tokens, [{ labels: { model }, value: totals.tokens }]);
  out.add(f.unknownTokens, [{ labels: { model }, value: totals.unknownTokens }]);
  out.add(f.truncatedTexts, [{ labels: { model }, value: totals.truncatedTexts }]);
  // Manifest label order, every label present (zero included), so a label that stops being predicted shows as 0.
  out.add(
    f.predictions,
    Object.entries(totals.predictionsByLabel).map(([label, value]) => ({ labels: { model, label }, value })),
  );
  out.add(f.feedback, [
    { labels: { model, outcome: 'correct' }, value: totals.feedback.correct },
    { labels: { model, outcome: 'incorrect' }, value: totals.feedback.incorrect },
  ]);
  out.add(
    f.alertsFired,
    CHECK_NAMES.map((check) => ({ labels: { model, check }, value: totals.alertsFired[check] ?? 0 })),
  );
  out.histogram(f.inferenceDuration, [{ labels: { model }, histogram: totals.runDurationMs, scale: MS }]);
  out.histogram(f.batchSize, [{ labels: { model }, histogram: totals.batchSize }]);

  renderChecks(out, model, report);
  return out.text();
}

/** Checks measured in ms: their values and thresholds are exposed in seconds, the base unit. */
const MS_CHECKS: ReadonlySet<CheckName> = new Set(['p95_latency']);

/** The check gauges of a report, in `CHECK_NAMES` order. */
function renderChecks(out: Exposition, model: string, report: HealthReport): void {
  const f = METRIC_FAMILIES;
  const checks = CHECK_NAMES.map((name) => {
    const check = report.checks[name];
    if (!MS_CHECKS.has(name)) return check;
    // Division, not `* 0.001`: 0.9 / 1000 is 0.0009, 0.9 * 0.001 is 0.0009000000000000001.
    return {
      ...check,
      value: check.value === null ? null : check.value / 1000,
      threshold: check.threshold / 1000,
    };
  });
  const judged = (name: CheckName) => {
    const status = report.checks[name].status;
    return status === 'ok' || status === 'bad';
  };
  out.add(
    f.checkValue,
    checks.flatMap((check) =>
      check.value === null ? [] : [{ labels: { model, check: check.name }, value: check.value }],
    ),
  );
  out.add(
    f.checkThreshold,
    checks.map((check) => ({ labels: { model, check: check.name }, value: check.threshold })),
  );
  out.add(
    f.checkOk,
    checks.flatMap((check) =>
      judged(check.name) ? [{ labels: { model, check: check.name }, value: check.ok ? 1 : 0 }] : [],
    ),
  );
  out.add(
    f.driftScore,
    (['label_drift', 'length_drift'] as const).flatMap((name) => {
      const check = report.checks[name];
      if (!judged(name)) return [];
      const scores: Sample[] = [];
      if (check.value !== null) {
        scores.push({ labels: { model, check: name, measure: 'js_distance' }, value: check.value });
      }
      const psi = check.stats?.psi;
      if (psi !== undefined) scores.push({ labels: { model, check: name, measure: 'psi' }, value: psi });
      return scores;
    }),
  );
  const accuracy: Sample[] = [];
  const feedback = report.checks.accuracy.value;
  if (feedback !== null) accuracy.push({ labels: { model, source: 'feedback' }, value: feedback });
  const estimated = report.checks.estimated_accuracy.value;
  if (estimated !== null) accuracy.push({ labels: { model, source: 'estimated' }, value: estimated });
  out.add(f.accuracy, accuracy);
  const firing = new Set(report.alerts.filter((a) => a.state === 'firing').map((a) => a.check));
  out.add(
    f.alertFiring,
    CHECK_NAMES.map((check) => ({ labels: { model, check }, value: firing.has(check) ? 1 : 0 })),
  );
}

/** What the edge process (or isolate) itself knows, beside its monitor. */
export interface EdgeGauges {
  readonly admission: AdmissionStats;
  /** The serving model and the engine's memory, when a model is loaded and its backend tells. */
  readonly engine?: { readonly model: string; readonly backend: string; readonly memoryBytes: number };
}

/** The edge's own gauges: texts in service and queued at the admission gate, and the engine's memory. */
export function renderEdgeMetrics(gauges: EdgeGauges): string {
  const f = METRIC_FAMILIES;
  const out = new Exposition();
  const { engine } = gauges;
  if (engine !== undefined) {
    out.add(f.engineMemory, [
      { labels: { model: engine.model, backend: engine.backend }, value: engine.memoryBytes },
    ]);
  }
  out.add(f.inflightTexts, [{ value: gauges.admission.inServiceTexts }]);
  out.add(f.queuedTexts, [{ value: gauges.admission.queuedTexts }]);
  return out.text();
}
