// Prometheus recording and alerting rules for one bundle, each alert with the promtool unit tests that prove it fires
// on a bad series and stays quiet on a good one.
import type { Manifest } from '../../runtime/bundle/manifest.ts';
import { INFERENCE_ROUTES } from '../../edge/routes.ts';
import { ShipshapeError } from '../../runtime/errors.ts';
import {
  CHECK_NAMES,
  LATENCY_BOUNDS_MS,
  type CheckName,
  type Thresholds,
} from '../../runtime/monitor/types.ts';
import { formatGoG, humanizePercentage } from './go-format.ts';
import { RUNBOOKS } from './runbooks.ts';

/** The file names `shipshape alerts` writes, and the deployment checklist looks for, in its output folder. */
export const RULES_FILE = 'shipshape.rules.yml';
export const RULES_TEST_FILE = 'shipshape.rules.test.yml';

/** The thresholds the rules use; the CLI derives them exactly as the monitor does (`defaultThresholds`). */
export type RuleThresholds = Pick<
  Thresholds,
  | 'maxP95LatencyMs'
  | 'maxOovRate'
  | 'maxLabelDrift'
  | 'maxLengthDrift'
  | 'minAccuracy'
  | 'minEstimatedAccuracy'
  | 'minTexts'
  | 'minRequests'
>;

export interface AlertRulesOptions {
  readonly manifest: Manifest;
  readonly thresholds: RuleThresholds;
  /** Share of inference requests to answer without a 5xx. Default 0.999. */
  readonly availabilityObjective?: number;
  /**
   * Share of inference requests to answer within `thresholds.maxP95LatencyMs`. Default 0.95: the SLA promises a p95
   * under that line, which is exactly "95% of requests under it".
   */
  readonly latencyObjective?: number;
  /**
   * Replaces every alert's `for:` (e.g. `5s`). Only for a live check that cannot wait 15 minutes; the unit tests
   * are generated with it too, so they still prove the rules as written.
   */
  readonly pendingFor?: string;
  /** The rules file's name, which the unit test file refers to. Default `shipshape.rules.yml`. */
  readonly rulesFileName?: string;
}

/**
 * The SRE workbook's multi-window, multi-burn-rate alerts (chapter 5, table 5-8), for a 30-day budget: an alert
 * needs its burn rate over both windows, the long one to be significant, the short one so it resolves soon after
 * the burn stops.
 */
export const BURN_RATE_ALERTS = [
  { speed: 'Fast', burnRate: 14.4, long: '1h', short: '5m', severity: 'page', budgetSpent: 0.02 },
  { speed: 'Medium', burnRate: 6, long: '6h', short: '30m', severity: 'page', budgetSpent: 0.05 },
  { speed: 'Slow', burnRate: 1, long: '3d', short: '6h', severity: 'ticket', budgetSpent: 0.1 },
] as const;
type BurnRateAlert = (typeof BURN_RATE_ALERTS)[number];

const RATIO_WINDOWS = ['5m', '30m', '1h', '6h', '3d'] as const;
/** The OOV rule's window: long enough for hundreds of texts at modest traffic, short enough to page the same day. */
export const OOV_WINDOW = '30m';

export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
}
export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: { readonly summary: string; readonly description: string; readonly runbook: string };
}
export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly (RecordingRule | AlertingRule)[];
}
/** A Prometheus rules file. */
export interface RuleFile {
  readonly groups: readonly RuleGroup[];
}

/** A promtool unit test group (`promtool test rules`). */
export interface RuleTestGroup {
  readonly name: string;
  readonly interval: string;
  readonly input_series: readonly { readonly series: string; readonly values: string }[];
  readonly promql_expr_test?: readonly {
    readonly expr: string;
    readonly eval_time: string;
    readonly exp_samples: readonly { readonly labels: string; readonly value: number }[];
  }[];
  readonly alert_rule_test: readonly {
    readonly eval_time: string;
    readonly alertname: string;
    readonly exp_alerts: readonly {
      readonly exp_labels: Readonly<Record<string, string>>;
      readonly exp_annotations: Readonly<Record<string, string>>;
    }[];
  }[];
}
export interface RuleTestFile {
  readonly rule_files: readonly string[];
  readonly evaluation_interval: string;
  readonly tests: readonly RuleTestGroup[];
}

/** One row of the summary: what an alert watches, when it fires, who it wakes. */
export interface AlertSummary {
  readonly alert: string;
  readonly severity: 'page' | 'ticket';
  readonly condition: string;
  readonly for: string;
  readonly tests: number;
}

export interface AlertRules {
  readonly rules: RuleFile;
  readonly tests: RuleTestFile;
  readonly alerts: readonly AlertSummary[];
  /** Rules left out, and why (e.g. no calibration data in the bundle). */
  readonly omitted: readonly string[];
  readonly recordingRules: number;
  readonly latencyBucket: string;
  readonly objectives: { readonly availability: number; readonly latency: number };
}

/** How an annotation shows `$value` and labels: Go templates in the rules, rendered text in the unit tests. */
interface Render {
  readonly value: string;
  label(name: string): string;
}
type ValueFormat = 'percent' | 'fixed3' | 'g4';

interface ProofCase {
  /** What the case shows, as a sentence. */
  readonly name: string;
  readonly interval: string;
  readonly series: readonly { readonly series: string; readonly values: string }[];
  readonly evalTime: string;
  /** The alert's own labels (before the rule's static labels) and `$value` when it must fire; absent: quiet. */
  readonly fires?: { readonly labels: Readonly<Record<string, string>>; readonly value: number };
  /** A condition (`... > bool ...`) that must hold at the eval time too, so a quiet case is quiet for its reason. */
  readonly holds?: { readonly expr: string; readonly labels: string };
}

interface AlertDefinition {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly valueFormat: ValueFormat;
  readonly summary: (r: Render) => string;
  readonly description: (r: Render) => string;
  readonly runbook: string;
  readonly condition: string;
  readonly cases: readonly ProofCase[];
}

const JOB = 'shipshape';
const INSTANCE = '127.0.0.1:8787';
const TARGET = `job="${JOB}",instance="${INSTANCE}"`;
const ROUTE_MATCH = `route=~"${[...INFERENCE_ROUTES].join('|')}"`;
/** Only POSTs predict: a GET on /v1/predict is a client's mistake (405), as the monitor counts it. */
const POST_MATCH = `${ROUTE_MATCH},method="POST"`;
const ROUTE_TEXT = '/v1/predict and v2 infer requests';

/** Rounds away binary noise (1 - 0.999 is 0.0010000000000000009), so expressions and series read as written. */
function clean(x: number): number {
  return Number(x.toPrecision(12));
}

function cleanThresholds(t: RuleThresholds): RuleThresholds {
  return {
    maxP95LatencyMs: t.maxP95LatencyMs,
    maxOovRate: clean(t.maxOovRate),
    maxLabelDrift: clean(t.maxLabelDrift),
    maxLengthDrift: clean(t.maxLengthDrift),
    minAccuracy: clean(t.minAccuracy),
    minEstimatedAccuracy: clean(t.minEstimatedAccuracy),
    minTexts: t.minTexts,
    minRequests: t.minRequests,
  };
}

function percent(x: number): string {
  return `${clean(x * 100)}%`;
}

/** A counter that grows by `perStep` for `steps` steps, in promtool's expanding notation. */
function counter(perStep: number, steps: number): string {
  return `0+${clean(perStep)}x${steps}`;
}

function gauge(value: number, steps: number): string {
  return `${clean(value)}+0x${steps}`;
}

function series(name: string, labels: Readonly<Record<string, string>>): string {
  const inner = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  return `${name}{${TARGET}${inner === '' ? '' : `,${inner}`}}`;
}

const templateRender: Record<ValueFormat, string> = {
  percent: '{{ $value | humanizePercentage }}',
  fixed3: '{{ printf "%.3f" $value }}',
  g4: '{{ printf "%.4g" $value }}',
};

function renderValue(format: ValueFormat, value: number): string {
  if (format === 'percent') return humanizePercentage(value);
  if (format === 'fixed3') return value.toFixed(3);
  return formatGoG(value, 4);
}

/**
 * The error budget of `objective`. From 0.95 up: below it a 14.4x burn would be most requests, and the unit tests'
 * bad cases (20x the budget) would be more than every request.
 */
function checkObjective(name: string, objective: number): number {
  if (!(objective >= 0.95 && objective < 1)) {
    throw new ShipshapeError(
      'INPUT_INVALID',
      `${name} objective ${objective} is out of range: give a share from 0.95 up to (not including) 1, e.g. 0.999.`,
    );
  }
  return clean(1 - objective);
}

/**
 * The `le` label of the latency bucket at `ms`, as `/metrics` writes it (seconds).
 * @throws ShipshapeError INPUT_INVALID when `ms` is not one of `LATENCY_BOUNDS_MS`: Prometheus can only count
 *   requests over a line that is a bucket bound.
 */
export function latencyBucketLabel(ms: number): string {
  if (!(LATENCY_BOUNDS_MS as readonly number[]).includes(ms)) {
    const below = [...LATENCY_BOUNDS_MS].reverse().find((b) => b < ms);
    const above = LATENCY_BOUNDS_MS.find((b) => b > ms);
    throw new ShipshapeError(
      'INPUT_INVALID',
      `Latency threshold ${ms} ms is not a bucket bound of shipshape_http_request_duration_seconds, so Prometheus ` +
        `cannot count the requests slower than it. Use a bound: ${below ?? '-'} or ${above ?? '-'} ms ` +
        '(LATENCY_BOUNDS_MS in runtime/monitor/types.ts).',
    );
  }
  return String(clean(ms / 1000));
}

function ratioRecord(kind: 'errors' | 'slow', window: string): string {
  return `shipshape:inference_${kind}:ratio_rate${window}`;
}

/**
 * The matcher of the bucket `le`. Prometheus 3 normalizes classic-histogram `le` values to floats when it ingests
 * them (`le="1"` is stored as `le="1.0"`), Prometheus 2 keeps them as written: a whole number of seconds matches both.
 */
export function bucketMatcher(le: string): string {
  return /^\d+$/.test(le) ? `le=~"${le}|${le}[.]0"` : `le="${le}"`;
}

function recordingRules(le: string): RecordingRule[] {
  const requests = (w: string, extra = '') =>
    `sum by (job) (rate(shipshape_http_requests_total{${POST_MATCH}${extra}}[${w}]))`;
  return [
    ...RATIO_WINDOWS.map((w) => ({
      record: ratioRecord('errors', w),
      // `or ... 0 *`: a service that never answered a 5xx has no 5xx series; its ratio is 0, not absent.
      expr: `(\n  ${requests(w, ',status=~"5.."')}\n  or on (job) 0 * ${requests(w)}\n)\n/ ${requests(w)}`,
    })),
    ...RATIO_WINDOWS.map((w) => ({
      record: ratioRecord('slow', w),
      expr:
        `1 - (\n  sum by (job) (rate(shipshape_http_request_duration_seconds_bucket{${ROUTE_MATCH},${bucketMatcher(le)}}[${w}]))\n` +
        `  / sum by (job) (rate(shipshape_http_request_duration_seconds_count{${ROUTE_MATCH}}[${w}]))\n)`,
    })),
  ];
}

interface SloSpec {
  readonly slo: 'availability' | 'latency';
  readonly check: CheckName;
  readonly budget: number;
  readonly objective: number;
  readonly minRequests: number;
  readonly lineMs: number;
  readonly le: string;
}

const STEPS: Record<BurnRateAlert['speed'], { interval: string; steps: number; evalTime: string }> = {
  Fast: { interval: '1m', steps: 90, evalTime: '75m' },
  Medium: { interval: '1m', steps: 420, evalTime: '6h30m' },
  // Ten-minute samples: three days at one a minute would make the test file 4,000 points per series.
  Slow: { interval: '10m', steps: 470, evalTime: '3d3h' },
};
/** Burn rates the bad cases run at: above each alert's own rate, below the next faster one's. */
const BAD_BURN: Record<BurnRateAlert['speed'], number> = { Fast: 20, Medium: 8, Slow: 2 };
const REQUESTS_PER_MINUTE = 1000;
/**
 * How often promtool evaluates the rules in the unit tests. promtool evaluates every rule at every step from 0 to the
 * eval time (about 7 ms a step here), so the 3-day slow-burn cases cost 4,500 steps at 1m (two minutes for the file)
 * and 900 at 5m. Every window, `for:` and eval time in the tests is a multiple of it.
 */
const TEST_EVALUATION_INTERVAL = '5m';

function minutes(interval: string): number {
  return interval === '10m' ? 10 : 1;
}

/** Input series of inference traffic where `badShare` of requests are 5xx (availability) or slow (latency). */
function sloSeries(
  spec: SloSpec,
  interval: string,
  steps: number,
  badShare: number,
  perMinute = REQUESTS_PER_MINUTE,
): ProofCase['series'] {
  const n = perMinute * minutes(interval);
  const bad = clean(n * badShare);
  const request = (status: string) =>
    series('shipshape_http_requests_total', { route: '/v1/predict', method: 'POST', status });
  if (spec.slo === 'availability') {
    return [
      { series: request('200'), values: counter(n - bad, steps) },
      { series: request('503'), values: counter(bad, steps) },
    ];
  }
  const histogram = (suffix: string, extra: Record<string, string>) =>
    series(`shipshape_http_request_duration_seconds_${suffix}`, { route: '/v1/predict', ...extra });
  return [
    { series: request('200'), values: counter(n, steps) },
    { series: histogram('bucket', { le: spec.le }), values: counter(n - bad, steps) },
    { series: histogram('bucket', { le: '+Inf' }), values: counter(n, steps) },
    { series: histogram('count', {}), values: counter(n, steps) },
  ];
}

/** Traffic on routes the SLOs leave out (client mistakes, a failing `/metrics` scrape): must change nothing. */
function noiseSeries(spec: SloSpec, interval: string, steps: number): ProofCase['series'] {
  const n = REQUESTS_PER_MINUTE * minutes(interval);
  if (spec.slo === 'availability') {
    return [
      {
        series: series('shipshape_http_requests_total', {
          route: '/v1/predict',
          method: 'POST',
          status: '422',
        }),
        values: counter(n / 2, steps),
      },
      {
        series: series('shipshape_http_requests_total', { route: '/metrics', method: 'GET', status: '500' }),
        values: counter(n, steps),
      },
    ];
  }
  const slowMetrics = (suffix: string, extra: Record<string, string>) => ({
    series: series(`shipshape_http_request_duration_seconds_${suffix}`, { route: '/metrics', ...extra }),
    values: counter(extra.le === spec.le ? 0 : n, steps),
  });
  return [slowMetrics('bucket', { le: spec.le }), slowMetrics('count', {})];
}

function sloAlerts(spec: SloSpec): AlertDefinition[] {
  const kind = spec.slo === 'availability' ? 'errors' : 'slow';
  const what =
    spec.slo === 'availability'
      ? `answered 5xx (objective: ${percent(spec.objective)} without one)`
      : `slower than ${spec.lineMs} ms (objective: ${percent(spec.objective)} within it, the SLA's p95)`;
  return BURN_RATE_ALERTS.map((b): AlertDefinition => {
    const alert = `Shipshape${spec.slo === 'availability' ? 'Availability' : 'Latency'}Burn${b.speed}`;
    const threshold = clean(b.burnRate * spec.budget);
    const guard = `sum by (job) (increase(shipshape_http_requests_total{${POST_MATCH}}[${b.long}])) >= ${spec.minRequests}`;
    const { interval, steps, evalTime } = STEPS[b.speed];
    const badShare = clean(BAD_BURN[b.speed] * spec.budget);
    const labels = { job: JOB };
    const cases: ProofCase[] = [
      {
        name: `${alert} fires when ${percent(badShare)} of inference requests are ${kind === 'errors' ? '5xx' : 'slow'} (${BAD_BURN[b.speed]}x the budget)`,
        interval,
        series: sloSeries(spec, interval, steps, badShare),
        evalTime,
        fires: { labels, value: clean(badShare) },
      },
      {
        name: `${alert} stays quiet at half the budget, with client errors and a failing /metrics route beside it`,
        interval,
        series: [
          ...sloSeries(spec, interval, steps, 0.5 * spec.budget),
          ...noiseSeries(spec, interval, steps),
        ],
        evalTime,
      },
    ];
    if (b.speed === 'Fast') {
      // The long window still burns; the clean short window says the incident is over.
      const n = REQUESTS_PER_MINUTE;
      const bad = clean(n * badShare);
      // Sixty minutes at the bad rate, then fifteen with every request good.
      const recovered = (perStep: number) => `${counter(perStep, 60)} ${clean(perStep * 60 + n)}+${n}x14`;
      const request = (status: string) =>
        series('shipshape_http_requests_total', { route: '/v1/predict', method: 'POST', status });
      const histogram = (suffix: string, extra: Record<string, string>) =>
        series(`shipshape_http_request_duration_seconds_${suffix}`, { route: '/v1/predict', ...extra });
      cases.push({
        name: `${alert} resolves once the last ${b.short} are clean although the last ${b.long} burned ${BAD_BURN.Fast}x`,
        interval: '1m',
        series:
          spec.slo === 'availability'
            ? [
                { series: request('200'), values: recovered(n - bad) },
                { series: request('503'), values: `${counter(bad, 60)} ${clean(bad * 60)}+0x15` },
              ]
            : [
                { series: request('200'), values: counter(n, 75) },
                { series: histogram('bucket', { le: spec.le }), values: recovered(n - bad) },
                { series: histogram('count', {}), values: counter(n, 75) },
              ],
        evalTime: '75m',
        holds: {
          expr: `${ratioRecord(kind, b.long)} > bool (${b.burnRate} * ${spec.budget})`,
          labels: `{job="${JOB}"}`,
        },
      });
      cases.push({
        name: `${alert} stays quiet on a trickle of traffic (fewer than ${spec.minRequests} requests in ${b.long}) even when half of it is bad`,
        interval: '1m',
        series: sloSeries(spec, '1m', 90, 0.5, 1),
        evalTime: '75m',
      });
    }
    return {
      alert,
      expr: `${ratioRecord(kind, b.long)} > (${b.burnRate} * ${spec.budget})\nand ${ratioRecord(kind, b.short)} > (${b.burnRate} * ${spec.budget})\nand on (job) ${guard}`,
      labels: { severity: b.severity, slo: spec.slo, check: spec.check },
      valueFormat: 'percent',
      summary: (r) =>
        `${r.label('job')}: ${spec.slo} error budget burning ${b.burnRate}x (${r.value} of requests ${spec.slo === 'availability' ? 'failed' : 'slow'} over ${b.long})`,
      description: (r) =>
        `${r.value} of ${ROUTE_TEXT} over the last ${b.long} were ${what}, and over the last ${b.short} too: ` +
        `above ${b.burnRate}x the error budget of ${percent(spec.budget)} (threshold ${percent(threshold)}). ` +
        `At this rate ${percent(b.budgetSpent)} of the 30-day budget is gone in ${b.long}.`,
      runbook: RUNBOOKS[spec.slo],
      condition: `${spec.slo === 'availability' ? '5xx' : `slower than ${spec.lineMs} ms`} share > ${b.burnRate} x ${percent(spec.budget)} over ${b.long} and ${b.short}, >= ${spec.minRequests} requests`,
      cases,
    };
  });
}

function oovAlert(model: string, t: RuleThresholds, holdFor: string): AlertDefinition | string {
  const ceiling = t.maxOovRate;
  if (ceiling >= 1) return 'ShipshapeOovRateHigh: the OOV ceiling is 1, so no rate can pass it';
  const sel = `{model="${model}"}`;
  const perModel = (metric: string, fn: string) =>
    `sum by (job, model) (${fn}(${metric}${sel}[${OOV_WINDOW}]))`;
  const expr =
    `${perModel('shipshape_unknown_tokens_total', 'rate')}\n/ ${perModel('shipshape_tokens_total', 'rate')}\n` +
    `> ${ceiling}\nand on (job, model) ${perModel('shipshape_texts_total', 'increase')} >= ${t.minTexts}`;
  // 40 tokens a text; twice the texts the guard needs in the window, or half of them for the trickle case.
  const textsPerMinute = (share: number) => Math.ceil((share * t.minTexts) / 30);
  const traffic = (oovShare: number, textShare: number) => {
    const texts = textsPerMinute(textShare);
    const tokens = texts * 40;
    const unknown = clean(tokens * oovShare);
    return {
      series: [
        { series: series('shipshape_texts_total', { model }), values: counter(texts, 60) },
        { series: series('shipshape_tokens_total', { model }), values: counter(tokens, 60) },
        { series: series('shipshape_unknown_tokens_total', { model }), values: counter(unknown, 60) },
      ],
      value: clean(unknown / tokens),
    };
  };
  const badShare = Math.min(2 * ceiling, (1 + ceiling) / 2);
  const bad = traffic(badShare, 2);
  return {
    alert: 'ShipshapeOovRateHigh',
    expr,
    for: holdFor,
    labels: { severity: 'ticket', check: 'oov_rate' },
    valueFormat: 'percent',
    summary: (r) =>
      `${r.label('model')}: ${r.value} of tokens are unknown to the model (ceiling ${percent(ceiling)})`,
    description: (r) =>
      `Over the last ${OOV_WINDOW}, ${r.value} of the tokens ${r.label('job')} saw were not in ${model}'s vocabulary, ` +
      `above the ceiling of ${percent(ceiling)} derived from the bundle's reference rate ` +
      `(at least ${t.minTexts} texts in the window).`,
    runbook: RUNBOOKS.oov,
    condition: `unknown / all tokens over ${OOV_WINDOW} > ${percent(ceiling)}, >= ${t.minTexts} texts`,
    cases: [
      {
        name: `ShipshapeOovRateHigh fires when ${percent(bad.value)} of tokens are unknown`,
        interval: '1m',
        series: bad.series,
        evalTime: '45m',
        fires: { labels: { job: JOB, model }, value: bad.value },
      },
      {
        name: `ShipshapeOovRateHigh stays quiet at half the ceiling`,
        interval: '1m',
        series: traffic(ceiling / 2, 2).series,
        evalTime: '45m',
      },
      {
        name: `ShipshapeOovRateHigh stays quiet below ${t.minTexts} texts in the window, however many are unknown`,
        interval: '1m',
        series: traffic(badShare, 0.5).series,
        evalTime: '45m',
      },
    ],
  };
}

function driftAlert(
  model: string,
  check: 'label_drift' | 'length_drift',
  ceiling: number,
  holdFor: string,
): AlertDefinition | string {
  const alert = check === 'label_drift' ? 'ShipshapeLabelDrift' : 'ShipshapeLengthDrift';
  if (ceiling >= 1)
    return `${alert}: the ceiling is 1, the largest Jensen-Shannon distance, so it cannot fire`;
  const what = check === 'label_drift' ? 'predicted-label mix' : 'token-length mix';
  const labels = { model, check };
  const score = (measure: string, value: number) => ({
    series: series('shipshape_drift_score', { ...labels, measure }),
    values: gauge(value, 40),
  });
  const bad = clean(Math.min(2 * ceiling, (1 + ceiling) / 2));
  return {
    alert,
    expr: `shipshape_drift_score{model="${model}",check="${check}",measure="js_distance"} > ${ceiling}`,
    for: holdFor,
    labels: { severity: 'ticket' },
    valueFormat: 'fixed3',
    summary: (r) =>
      `${r.label('model')}: the ${what} drifted from the bundle's reference (JS distance ${r.value})`,
    description: (r) =>
      `The Jensen-Shannon distance between ${r.label('instance')}'s ${what} and the reference shipped in the ` +
      `bundle is ${r.value}, above ${ceiling}, for ${holdFor}.`,
    runbook: RUNBOOKS.drift,
    condition: `Jensen-Shannon distance > ${ceiling}`,
    cases: [
      {
        name: `${alert} fires at a Jensen-Shannon distance of ${bad}`,
        interval: '1m',
        series: [score('js_distance', bad), score('psi', 2)],
        evalTime: '30m',
        fires: { labels: { job: JOB, instance: INSTANCE, ...labels, measure: 'js_distance' }, value: bad },
      },
      {
        name: `${alert} stays quiet at half the ceiling, whatever PSI says`,
        interval: '1m',
        series: [score('js_distance', clean(ceiling / 2)), score('psi', 10)],
        evalTime: '30m',
      },
    ],
  };
}

function accuracyAlert(
  model: string,
  source: 'feedback' | 'estimated',
  floor: number,
  holdFor: string,
): AlertDefinition | string {
  const alert = source === 'feedback' ? 'ShipshapeAccuracyLow' : 'ShipshapeEstimatedAccuracyLow';
  if (floor <= 0) return `${alert}: the floor is 0, so no accuracy can fall below it`;
  const check: CheckName = source === 'feedback' ? 'accuracy' : 'estimated_accuracy';
  const accuracy = (value: number) => ({
    series: series('shipshape_accuracy', { model, source }),
    values: gauge(value, 40),
  });
  const verdict = (ok: number) => ({
    series: series('shipshape_health_check_ok', { model, check }),
    values: gauge(ok, 40),
  });
  const bad = clean(floor >= 0.2 ? floor - 0.1 : floor / 2);
  const what =
    source === 'feedback'
      ? 'Accuracy on the labels sent to /v1/feedback'
      : "Accuracy estimated from the model's confidence (calibrated on the validation split)";
  return {
    alert,
    // The monitor's verdict guards the point value: it judges feedback accuracy by a 99% Wilson bound, and has no
    // verdict below `minFeedback` labels or `minTexts` texts, so a handful of unlucky labels never pages.
    expr:
      `shipshape_accuracy{model="${model}",source="${source}"} < ${floor}\n` +
      `and on (job, instance, model) shipshape_health_check_ok{model="${model}",check="${check}"} == 0`,
    for: holdFor,
    labels: { severity: source === 'feedback' ? 'page' : 'ticket', check },
    valueFormat: 'fixed3',
    summary: (r) =>
      `${r.label('model')}: ${source === 'feedback' ? 'accuracy' : 'estimated accuracy'} ${r.value}`,
    description: (r) =>
      `${what} is ${r.value} on ${r.label('instance')}, below the floor of ${floor} ` +
      `(the bundle's test accuracy less 0.05), for ${holdFor}.`,
    runbook: RUNBOOKS.accuracy,
    condition: `${source} accuracy < ${floor} and the monitor's verdict is bad`,
    cases: [
      {
        name: `${alert} fires at ${source} accuracy ${bad}`,
        interval: '1m',
        series: [accuracy(bad), verdict(0)],
        evalTime: '30m',
        fires: { labels: { job: JOB, instance: INSTANCE, model, source }, value: bad },
      },
      {
        name: `${alert} stays quiet above the floor`,
        interval: '1m',
        series: [accuracy(clean((1 + floor) / 2)), verdict(1)],
        evalTime: '30m',
      },
      {
        name: `${alert} stays quiet below the floor while the monitor judges it within sampling error`,
        interval: '1m',
        series: [accuracy(bad), verdict(1)],
        evalTime: '30m',
      },
      {
        name: `${alert} stays quiet while the monitor has too few samples for a verdict`,
        interval: '1m',
        series: [accuracy(bad)],
        evalTime: '30m',
      },
    ],
  };
}

/** The checks other rules already alert on: the catch-all leaves them out so one bad check pages once. */
const DEDICATED: Partial<Record<CheckName, string>> = {
  p95_latency: 'ShipshapeLatencyBurn*',
  error_rate: 'ShipshapeAvailabilityBurn*',
  oov_rate: 'ShipshapeOovRateHigh',
  label_drift: 'ShipshapeLabelDrift',
  length_drift: 'ShipshapeLengthDrift',
  accuracy: 'ShipshapeAccuracyLow',
  estimated_accuracy: 'ShipshapeEstimatedAccuracyLow',
};

function healthCheckAlert(model: string, holdFor: string): AlertDefinition | string {
  const rest = CHECK_NAMES.filter((c) => DEDICATED[c] === undefined);
  if (rest.length === 0) return 'ShipshapeHealthCheckBad: every check has its own rule';
  const [first] = rest;
  const [covered] = CHECK_NAMES.filter((c) => DEDICATED[c] !== undefined);
  const check = (name: string, value: number, ok: number) => [
    { series: series('shipshape_health_check_value', { model, check: name }), values: gauge(value, 40) },
    { series: series('shipshape_health_check_ok', { model, check: name }), values: gauge(ok, 40) },
  ];
  return {
    alert: 'ShipshapeHealthCheckBad',
    expr:
      `shipshape_health_check_value{model="${model}",check=~"${rest.join('|')}"}\n` +
      `and on (job, instance, model, check) shipshape_health_check_ok == 0`,
    for: holdFor,
    labels: { severity: 'ticket' },
    valueFormat: 'g4',
    summary: (r) => `${r.label('model')}: health check ${r.label('check')} is bad (${r.value})`,
    description: (r) =>
      `The monitor on ${r.label('instance')} judged ${r.label('check')} bad for ${holdFor}: its value is ` +
      `${r.value}, past its threshold (shipshape_health_check_threshold).`,
    runbook: RUNBOOKS.healthCheck,
    condition: `the monitor's verdict is bad for ${rest.join(', ')} (checks without a rule of their own)`,
    cases: [
      {
        name: `ShipshapeHealthCheckBad fires when the monitor judges ${first} bad`,
        interval: '1m',
        series: check(first!, 0.2, 0),
        evalTime: '30m',
        fires: { labels: { job: JOB, instance: INSTANCE, model, check: first! }, value: 0.2 },
      },
      {
        name: `ShipshapeHealthCheckBad stays quiet while ${first} is ok`,
        interval: '1m',
        series: check(first!, 0.01, 1),
        evalTime: '30m',
      },
      {
        name: `ShipshapeHealthCheckBad stays quiet when ${covered} is bad, which its own rule alerts on`,
        interval: '1m',
        series: check(covered!, 0.2, 0),
        evalTime: '30m',
      },
    ],
  };
}

function toRule(def: AlertDefinition, render: Render): AlertingRule {
  return {
    alert: def.alert,
    expr: def.expr,
    ...(def.for === undefined ? {} : { for: def.for }),
    labels: def.labels,
    annotations: { summary: def.summary(render), description: def.description(render), runbook: def.runbook },
  };
}

function toTests(def: AlertDefinition): RuleTestGroup[] {
  return def.cases.map((c) => {
    const fired = c.fires;
    const render: Render | undefined =
      fired === undefined
        ? undefined
        : { value: renderValue(def.valueFormat, fired.value), label: (name) => fired.labels[name] ?? '' };
    return {
      name: c.name,
      interval: c.interval,
      input_series: c.series,
      ...(c.holds === undefined
        ? {}
        : {
            promql_expr_test: [
              {
                expr: c.holds.expr,
                eval_time: c.evalTime,
                exp_samples: [{ labels: c.holds.labels, value: 1 }],
              },
            ],
          }),
      alert_rule_test: [
        {
          eval_time: c.evalTime,
          alertname: def.alert,
          exp_alerts:
            fired === undefined || render === undefined
              ? []
              : [
                  {
                    exp_labels: { ...fired.labels, ...def.labels },
                    exp_annotations: toRule(def, render).annotations,
                  },
                ],
        },
      ],
    };
  });
}

/**
 * The recording and alerting rules for `options.manifest`'s model, with their promtool unit tests.
 * Availability and latency: multi-window multi-burn-rate SLO alerts on the inference routes. Quality: OOV rate
 * (computed by Prometheus from the counters, so it spans replicas), drift and accuracy (the monitor's gauges), and
 * the monitor's verdict for any check without a rule of its own.
 * @throws ShipshapeError INPUT_INVALID for an objective out of range or a latency line that is not a bucket bound.
 */
export function createAlertRules(options: AlertRulesOptions): AlertRules {
  const { manifest } = options;
  const t = cleanThresholds(options.thresholds);
  const model = manifest.name;
  const availability = options.availabilityObjective ?? 0.999;
  const latency = options.latencyObjective ?? 0.95;
  const le = latencyBucketLabel(t.maxP95LatencyMs);
  const common = { minRequests: t.minRequests, lineMs: t.maxP95LatencyMs, le };
  const slo = [
    ...sloAlerts({
      slo: 'availability',
      check: 'error_rate',
      budget: checkObjective('Availability', availability),
      objective: availability,
      ...common,
    }),
    ...sloAlerts({
      slo: 'latency',
      check: 'p95_latency',
      budget: checkObjective('Latency', latency),
      objective: latency,
      ...common,
    }),
  ];
  const quality = [
    oovAlert(model, t, options.pendingFor ?? '10m'),
    driftAlert(model, 'label_drift', t.maxLabelDrift, options.pendingFor ?? '15m'),
    driftAlert(model, 'length_drift', t.maxLengthDrift, options.pendingFor ?? '15m'),
    accuracyAlert(model, 'feedback', t.minAccuracy, options.pendingFor ?? '15m'),
    manifest.calibration === undefined
      ? 'ShipshapeEstimatedAccuracyLow: the bundle has no calibration section, so the monitor cannot estimate accuracy'
      : accuracyAlert(model, 'estimated', t.minEstimatedAccuracy, options.pendingFor ?? '15m'),
    healthCheckAlert(model, options.pendingFor ?? '15m'),
  ];
  const defs = [...slo, ...quality.filter((d): d is AlertDefinition => typeof d !== 'string')];
  const omitted = quality.filter((d): d is string => typeof d === 'string');
  const template = (format: ValueFormat): Render => ({
    value: templateRender[format],
    label: (name) => `{{ $labels.${name} }}`,
  });
  const recording = recordingRules(le);
  const rulesFileName = options.rulesFileName ?? RULES_FILE;
  return {
    rules: {
      groups: [
        { name: 'shipshape-slo-ratios', rules: recording },
        { name: 'shipshape-slo-alerts', rules: slo.map((d) => toRule(d, template(d.valueFormat))) },
        {
          name: `shipshape-${model}-quality`,
          rules: defs.filter((d) => !slo.includes(d)).map((d) => toRule(d, template(d.valueFormat))),
        },
      ],
    },
    tests: {
      rule_files: [rulesFileName],
      evaluation_interval: TEST_EVALUATION_INTERVAL,
      tests: defs.flatMap(toTests),
    },
    alerts: defs.map((d) => ({
      alert: d.alert,
      severity: d.labels.severity === 'page' ? 'page' : 'ticket',
      condition: d.condition,
      for: d.for ?? '-',
      tests: d.cases.length,
    })),
    omitted,
    recordingRules: recording.length,
    latencyBucket: le,
    objectives: { availability, latency },
  };
}
