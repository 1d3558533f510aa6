// What the health dashboard keeps between polls: reports and counters over time, as the columns its charts draw.
// No DOM here, so the page's arithmetic (rates, thresholds, formatting) is tested in Node.
import type { CheckName, HealthCheck, HealthReport } from '../../runtime/monitor/types.ts';
import { INFERENCE_ROUTES } from '../routes.ts';

/** One sample of the Prometheus text exposition: a metric name, its labels and its value. */
export interface MetricSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/** Reads `{a="x",b="y"}` from `line` at `start` (just after `{`); returns the labels and where they end. */
function readLabels(
  line: string,
  start: number,
): { labels: Record<string, string>; end: number } | undefined {
  const labels: Record<string, string> = {};
  let at = start;
  for (;;) {
    while (line[at] === ' ' || line[at] === ',') at++;
    if (line[at] === '}') return { labels, end: at + 1 };
    const name = LABEL_NAME.exec(line.slice(at))?.[0];
    if (name === undefined || line[at + name.length] !== '=' || line[at + name.length + 1] !== '"') return;
    at += name.length + 2;
    let value = '';
    for (; at < line.length && line[at] !== '"'; at++) {
      if (line[at] !== '\\') {
        value += line[at];
        continue;
      }
      at++;
      value += line[at] === 'n' ? '\n' : (line[at] ?? '');
    }
    if (at >= line.length) return;
    labels[name] = value;
    at++;
  }
}

/**
 * Parses the Prometheus text exposition format (version 0.0.4) into samples: enough of it for the dashboard's
 * counters. Comments, blank lines and lines it cannot read are skipped; `NaN`, `+Inf` and `-Inf` are read as numbers.
 */
export function parseMetrics(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const name = SAMPLE_NAME.exec(line)?.[0];
    if (name === undefined) continue;
    let labels: Record<string, string> = {};
    let rest = line.slice(name.length);
    if (rest.startsWith('{')) {
      const read = readLabels(line, name.length + 1);
      if (read === undefined) continue;
      labels = read.labels;
      rest = line.slice(read.end);
    }
    const [valueText] = rest.trim().split(/\s+/);
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    if (valueText === undefined || valueText === '' || (Number.isNaN(value) && valueText !== 'NaN')) continue;
    samples.push({ name, labels, value });
  }
  return samples;
}

/** The sum of every sample named `name` whose labels pass `where`; null when there is none. */
export function sumSamples(
  samples: readonly MetricSample[],
  name: string,
  where: (labels: Readonly<Record<string, string>>) => boolean = () => true,
): number | null {
  let sum: number | null = null;
  for (const sample of samples) {
    if (sample.name === name && where(sample.labels)) sum = (sum ?? 0) + sample.value;
  }
  return sum;
}

/** The cumulative counters the throughput charts turn into rates. */
export interface Counters {
  /** Prediction requests answered: POSTs to the inference routes, every status. */
  readonly requests: number | null;
  /** Texts classified. */
  readonly texts: number | null;
}

/** Reads the throughput counters out of a `/metrics` answer. */
export function readCounters(samples: readonly MetricSample[]): Counters {
  return {
    // As the monitor counts them (`RequestRecord.inference`): a 405 GET or an OPTIONS preflight predicts nothing.
    requests: sumSamples(
      samples,
      'shipshape_http_requests_total',
      (labels) => labels.method === 'POST' && INFERENCE_ROUTES.has(labels.route ?? ''),
    ),
    texts: sumSamples(samples, 'shipshape_texts_total'),
  };
}

/** One poll of the service: when (epoch ms), the health report, and the counters when `/metrics` answered. */
export interface Poll {
  readonly at: number;
  readonly report: HealthReport;
  readonly counters?: Counters;
}

/** What one poll adds to the charts; null where there is no value (a gap in the line). */
export interface HealthPoint {
  /** Unix seconds (uPlot's time axis). */
  readonly time: number;
  readonly p50LatencyMs: number | null;
  readonly p95LatencyMs: number | null;
  readonly p99LatencyMs: number | null;
  readonly maxP95LatencyMs: number | null;
  readonly requestsPerSecond: number | null;
  readonly textsPerSecond: number | null;
  readonly oovRate: number | null;
  readonly maxOovRate: number | null;
  readonly labelDrift: number | null;
  readonly maxLabelDrift: number | null;
  readonly lengthDrift: number | null;
  readonly maxLengthDrift: number | null;
  readonly accuracy: number | null;
  readonly estimatedAccuracy: number | null;
  readonly minAccuracy: number | null;
  readonly minEstimatedAccuracy: number | null;
}

type PointField = Exclude<keyof HealthPoint, 'time'>;

/** A chart of the dashboard: its title, its unit, and the point fields it draws as lines. */
export interface ChartSpec {
  readonly key: string;
  readonly title: string;
  readonly unit: 'ms' | 'per_second' | 'rate' | 'distance';
  readonly series: readonly {
    readonly field: PointField;
    readonly label: string;
    readonly threshold?: true;
  }[];
}

/** The dashboard's charts, in page order. A threshold series is drawn dashed. */
export const CHARTS: readonly ChartSpec[] = [
  {
    key: 'latency',
    title: 'Request latency, prediction routes (log scale)',
    unit: 'ms',
    series: [
      { field: 'p50LatencyMs', label: 'p50' },
      { field: 'p95LatencyMs', label: 'p95' },
      { field: 'p99LatencyMs', label: 'p99' },
      { field: 'maxP95LatencyMs', label: 'p95 threshold', threshold: true },
    ],
  },
  // Two charts, not two lines on one: texts/s runs at a near-constant multiple of requests/s, so on one axis one
  // line is flat at zero, and on two axes the lines lie on top of each other.
  {
    key: 'requests',
    title: 'Prediction requests per second',
    unit: 'per_second',
    series: [{ field: 'requestsPerSecond', label: 'requests/s' }],
  },
  {
    key: 'texts',
    title: 'Texts classified per second',
    unit: 'per_second',
    series: [{ field: 'textsPerSecond', label: 'texts/s' }],
  },
  {
    key: 'oov',
    title: 'Unknown-token (OOV) rate',
    unit: 'rate',
    series: [
      { field: 'oovRate', label: 'OOV rate' },
      { field: 'maxOovRate', label: 'ceiling', threshold: true },
    ],
  },
  {
    key: 'drift',
    title: 'Drift (Jensen-Shannon distance)',
    unit: 'distance',
    series: [
      { field: 'labelDrift', label: 'labels' },
      { field: 'lengthDrift', label: 'token lengths' },
      { field: 'maxLabelDrift', label: 'labels threshold', threshold: true },
      { field: 'maxLengthDrift', label: 'lengths threshold', threshold: true },
    ],
  },
  {
    key: 'accuracy',
    title: 'Accuracy',
    unit: 'rate',
    series: [
      { field: 'accuracy', label: 'from feedback' },
      { field: 'estimatedAccuracy', label: 'estimated' },
      { field: 'minAccuracy', label: 'feedback floor', threshold: true },
      { field: 'minEstimatedAccuracy', label: 'estimate floor', threshold: true },
    ],
  },
];

function finite(value: number | null | undefined): number | null {
  return value === null || value === undefined || !Number.isFinite(value) ? null : value;
}

/** Events per second between two readings of a counter; null across a reset (the service restarted) or a gap. */
function rate(now: number | null, before: number | null, seconds: number): number | null {
  if (now === null || before === null || seconds <= 0 || now < before) return null;
  return (now - before) / seconds;
}

/**
 * The chart values of one poll. `previous` (the poll before it) gives the counters' rates. A latency percentile
 * the check does not carry in `stats` (`p50`, `p99`) is a gap.
 */
export function pointOf(poll: Poll, previous?: Poll): HealthPoint {
  const { checks } = poll.report;
  const seconds = previous === undefined ? 0 : (poll.at - previous.at) / 1000;
  const counter = (key: keyof Counters) =>
    rate(poll.counters?.[key] ?? null, previous?.counters?.[key] ?? null, seconds);
  const latency = checks.p95_latency;
  return {
    time: poll.at / 1000,
    p50LatencyMs: finite(latency.stats?.p50),
    p95LatencyMs: finite(latency.value),
    p99LatencyMs: finite(latency.stats?.p99),
    maxP95LatencyMs: finite(latency.threshold),
    requestsPerSecond: counter('requests'),
    textsPerSecond: counter('texts'),
    oovRate: finite(checks.oov_rate.value),
    maxOovRate: finite(checks.oov_rate.threshold),
    labelDrift: finite(checks.label_drift.value),
    maxLabelDrift: finite(checks.label_drift.threshold),
    lengthDrift: finite(checks.length_drift.value),
    maxLengthDrift: finite(checks.length_drift.threshold),
    accuracy: finite(checks.accuracy.value),
    estimatedAccuracy: finite(checks.estimated_accuracy.value),
    minAccuracy: finite(checks.accuracy.threshold),
    minEstimatedAccuracy: finite(checks.estimated_accuracy.threshold),
  };
}

/** uPlot's data for one chart: the time column, then one column per series. */
export type ChartColumns = [number[], ...(number | null)[][]];

/** The polls of one page session, oldest forgotten first, as chart points. */
export interface HealthHistory {
  /**
   * Adds a poll and returns its point; a poll of another model name or version starts the history again. A poll
   * that started before the last one added (two polls in flight, one answered late) is not added, since the time
   * axis must only go forward: undefined then.
   */
  add(poll: Poll): HealthPoint | undefined;
  readonly points: readonly HealthPoint[];
  /** The columns `chart` draws, in `chart.series` order after the time column. */
  columns(chart: ChartSpec): ChartColumns;
}

/** Keeps the last `capacity` polls (default 1800: an hour at one poll every 2 s). */
export function createHealthHistory(capacity = 1800): HealthHistory {
  const points: HealthPoint[] = [];
  let previous: Poll | undefined;
  return {
    points,
    add(poll) {
      if (previous !== undefined && poll.at <= previous.at) return undefined;
      const { name, version } = poll.report.model;
      if (previous !== undefined) {
        const model = previous.report.model;
        if (model.name !== name || model.version !== version) {
          points.length = 0;
          previous = undefined;
        }
      }
      const point = pointOf(poll, previous);
      points.push(point);
      if (points.length > capacity) points.splice(0, points.length - capacity);
      previous = poll;
      return point;
    },
    columns(chart) {
      return [
        points.map((point) => point.time),
        ...chart.series.map((series) => points.map((point) => point[series.field])),
      ];
    },
  };
}

/** Checks whose value is a share (0..1), shown as a percentage. */
const RATE_CHECKS: ReadonlySet<CheckName> = new Set([
  'accuracy',
  'estimated_accuracy',
  'error_rate',
  'oov_rate',
  'truncation_rate',
]);

/** A check's value (or threshold) for people: `12.3 ms`, `2.20 %`, `0.031`; `–` for none. */
export function formatCheckValue(name: CheckName, value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '–';
  if (name === 'p95_latency') return `${value.toFixed(1)} ms`;
  if (RATE_CHECKS.has(name)) return `${(value * 100).toFixed(2)} %`;
  return value.toFixed(3);
}

/** One row of the checks table, as text. */
export interface CheckRow {
  readonly name: CheckName;
  readonly status: HealthCheck['status'];
  readonly value: string;
  readonly threshold: string;
  readonly samples: string;
  readonly detail: string;
}

/** The checks table: one row per check, in report order. */
export function checkRows(report: HealthReport): CheckRow[] {
  return Object.values(report.checks).map((check) => ({
    name: check.name,
    status: check.status,
    value: formatCheckValue(check.name, check.value),
    threshold: `${check.direction === 'max' ? '≤' : '≥'} ${formatCheckValue(check.name, check.threshold)}`,
    samples: `${check.samples} / ${check.minSamples}`,
    detail: check.detail,
  }));
}

/** The edge's error answer, `{"error":{"code","message"}}`. */
export interface ErrorAnswer {
  readonly error: { readonly code: string; readonly message: string };
}

/** True when a parsed body is the edge's error answer (`{"error":{"code","message"}}`), checked field by field. */
export function isErrorAnswer(value: unknown): value is ErrorAnswer {
  if (typeof value !== 'object' || value === null) return false;
  const { error } = value as { error?: unknown };
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return typeof code === 'string' && typeof message === 'string';
}

/** What the page says when `/v1/health` answers an error instead of a report. */
export function describeRefusal(status: number, answer: ErrorAnswer | undefined): string {
  const { code, message } = answer?.error ?? {
    code: 'HTTP_ERROR',
    message: 'The service answered no report.',
  };
  if (status === 401 || code === 'UNAUTHORIZED') {
    return `${status} ${code}: ${message} Enter the service's token above.`;
  }
  if (code === 'NOT_READY') return `${status} ${code}: ${message} The dashboard keeps polling.`;
  return `${status} ${code}: ${message}`;
}

/**
 * Whose report it is, for the banner: a Worker's `/v1/health` adds `scope`, `service` when the report aggregates
 * every isolate (the HEALTH Durable Object), `isolate` when the isolate that answered speaks for itself alone. Node's
 * report has no scope: it is the process's. Empty when there is nothing to say.
 */
export function describeScope(report: HealthReport & { readonly scope?: unknown }): string {
  if (report.scope === 'service') return 'all isolates';
  if (report.scope === 'isolate') return 'this isolate only (no HEALTH binding)';
  return '';
}

/** Whether a parsed answer is a health report (`/v1/health` answers one with 200 and, when failing, 503). */
export function isHealthReport(body: unknown): body is HealthReport {
  if (typeof body !== 'object' || body === null) return false;
  const candidate = body as Partial<HealthReport>;
  return (
    typeof candidate.status === 'string' &&
    typeof candidate.checks === 'object' &&
    candidate.checks !== null &&
    typeof candidate.model === 'object'
  );
}
