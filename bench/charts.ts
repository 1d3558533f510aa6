// SVG charts of a report (vega-lite compiled to vega, rendered headless): latency, throughput, memory and capacity.
import { Error as LOG_ERROR, parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { UnitSpec } from 'vega-lite/types_unstable/spec/unit.js';
import type { Report, Scenario } from './report.ts';
import type { SoakWindow } from './drift.ts';
import { memoryPlanNote, plannedBytes } from './memory-plan.ts';
import type { GateCheck } from './gate/index.ts';

const MIB = 1024 * 1024;

/** What a chart draws beside the run: the SLA's limits (read from the gate's checks) and a baseline's values. */
export interface ChartContext {
  /** The gate's checks on this report; their `sla` checks give the limits drawn. */
  readonly checks?: readonly GateCheck[];
  readonly baseline?: Report;
}

/** Scenarios measured per batch size: in-process and browser ones, labelled by where they ran. */
function batchRows(report: Pick<Report, 'scenarios'>): {
  bundle: string;
  series: string;
  batchSize: number;
  scenario: Scenario;
}[] {
  return report.scenarios.flatMap((s) => {
    if ((s.kind !== 'in-process' && s.kind !== 'browser') || !s.latency || !s.throughput) return [];
    const backend = s.backend?.backend ?? String(s.params.backendRequested);
    const where = s.kind === 'browser' ? 'chromium' : 'node';
    return [
      {
        bundle: String(s.params.bundle),
        series: `${where}-${backend}`,
        batchSize: Number(s.params.batchSize),
        scenario: s,
      },
    ];
  });
}

const baseConfig = {
  font: 'DejaVu Sans, Liberation Sans, Arial, sans-serif',
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e5e5e5' },
  header: { labelFontSize: 13, titleFontSize: 13 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 320, titleLimit: 320 },
  title: { fontSize: 15 },
};

/**
 * The SLA's limit on one metric of one scenario, from the gate's `sla` checks: the gate checks every rule that
 * matches, so the tightest binds (the lowest maximum, the highest minimum). Undefined when no check limits it.
 */
export function slaLimit(
  checks: readonly GateCheck[] | undefined,
  scenarioId: string,
  metricId: 'p95Ms' | 'p99Ms' | 'itemsPerSecond',
): number | undefined {
  const limits = (checks ?? []).flatMap((c) =>
    c.kind === 'sla' && c.scenario === scenarioId && c.metricId === metricId && c.limitValue !== undefined
      ? [c.limitValue]
      : [],
  );
  if (limits.length === 0) return undefined;
  return metricId === 'itemsPerSecond' ? Math.max(...limits) : Math.min(...limits);
}

/** Says what the marks beside the run's lines are, when there are any. */
function contextSubtitle(report: Report, context: ChartContext, limitText: string): string[] {
  const lines = [subtitle(report)];
  const parts: string[] = [];
  if (context.baseline)
    parts.push(
      `dashed, faint: the baseline (${context.baseline.mode} run ${context.baseline.createdAt.slice(0, 16)}Z)`,
    );
  if (context.checks?.some((c) => c.kind === 'sla'))
    parts.push(`bars: the SLA's ${limitText} per scenario, in its series' colour`);
  if (parts.length > 0) lines.push(parts.join('; '));
  return lines;
}

/** Solid for this run, dashed for the baseline. */
const sourceDash = {
  field: 'source',
  type: 'nominal' as const,
  title: 'run',
  scale: {
    domain: ['this run', 'baseline'],
    range: [
      [1, 0],
      [5, 4],
    ],
  },
};
const sourceOpacity = {
  field: 'source',
  type: 'nominal' as const,
  title: 'run',
  scale: { domain: ['this run', 'baseline'], range: [1, 0.45] },
};
/** A short horizontal bar at the limit, at the scenario's batch size. */
const limitMark = {
  type: 'tick' as const,
  orient: 'horizontal' as const,
  thickness: 3,
  size: 16,
  opacity: 1,
};

const batchAxis = {
  field: 'batchSize',
  type: 'quantitative' as const,
  title: 'batch size',
  scale: { type: 'log' as const, base: 2, padding: 12 },
  axis: { values: [1, 2, 4, 8, 16, 32, 64, 128, 256], format: 'd' },
};

/** What sets one chart against batch size apart from another: its y field and the mark shapes' meaning. */
interface BatchLayersOf {
  /** The value field, drawn on a log scale, and its axis title. */
  readonly y: { readonly field: string; readonly title: string };
  readonly pointSize: number;
  /** A field with two values, drawn as circle (the first, the good one) and cross. */
  readonly shape: {
    readonly field: string;
    readonly title: string;
    readonly domain: readonly [string, string];
  };
}

/**
 * The layers of a chart against batch size, per backend: this run's and the baseline's lines (source `this run`
 * and `baseline`), and rows of source `SLA limit` as short bars in the series' colour.
 */
function batchLayers(of: BatchLayersOf): UnitSpec<string>[] {
  const x = batchAxis;
  const y = {
    field: of.y.field,
    type: 'quantitative' as const,
    title: of.y.title,
    scale: { type: 'log' as const },
  };
  const color = { field: 'series', type: 'nominal' as const, title: 'runtime-backend' };
  return [
    {
      transform: [{ filter: "datum.source !== 'SLA limit'" }],
      mark: { type: 'line', point: { filled: true, size: of.pointSize } },
      encoding: {
        x,
        y,
        color,
        strokeDash: sourceDash,
        opacity: sourceOpacity,
        shape: {
          field: of.shape.field,
          type: 'nominal',
          title: of.shape.title,
          scale: { domain: [...of.shape.domain], range: ['circle', 'cross'] },
        },
      },
    },
    {
      transform: [{ filter: "datum.source === 'SLA limit'" }],
      mark: limitMark,
      encoding: { x, y, color },
    },
  ];
}

/**
 * Latency percentiles (rows p50, p95, p99) against batch size, per backend, one column per bundle; with the SLA's
 * p95 and p99 limits as bars and the baseline's percentiles as faint dashed lines when `context` has them.
 */
export function latencySpec(report: Report, context: ChartContext = {}): TopLevelSpec {
  const percentiles = ['p50', 'p95', 'p99'] as const;
  const measured = (source: 'this run' | 'baseline', rows: ReturnType<typeof batchRows>) =>
    rows.flatMap(({ bundle, series, batchSize, scenario }) =>
      percentiles.map((p) => ({
        source,
        bundle,
        series,
        batchSize,
        percentile: p,
        ms: scenario.latency?.percentiles[p].ms ?? 0,
        samples: scenario.latency?.percentiles[p].status === 'ok' ? 'enough' : 'too few (value unreliable)',
      })),
    );
  const rows = batchRows(report);
  const limits = rows.flatMap(({ bundle, series, batchSize, scenario }) =>
    (
      [
        ['p95', slaLimit(context.checks, scenario.id, 'p95Ms')],
        ['p99', slaLimit(context.checks, scenario.id, 'p99Ms')],
      ] as const
    ).flatMap(([percentile, ms]) =>
      ms === undefined ? [] : [{ source: 'SLA limit', bundle, series, batchSize, percentile, ms }],
    ),
  );
  const values = [
    ...measured('this run', rows),
    ...(context.baseline ? measured('baseline', batchRows(context.baseline)) : []),
    ...limits,
  ];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Latency per batch (one predictBatch call), by percentile',
      subtitle: contextSubtitle(report, context, 'p95/p99 limit'),
    },
    data: { values },
    facet: {
      row: { field: 'percentile', type: 'nominal', title: null, sort: ['p50', 'p95', 'p99'] },
      column: { field: 'bundle', type: 'nominal', title: null },
    },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 300,
      height: 160,
      layer: batchLayers({
        y: { field: 'ms', title: 'ms (log)' },
        pointSize: 45,
        shape: {
          field: 'samples',
          title: 'samples for this percentile',
          domain: ['enough', 'too few (value unreliable)'],
        },
      }),
    },
    config: baseConfig,
  };
}

/**
 * Throughput (items/s) against batch size, per backend, one panel per bundle; with the SLA's minimum as bars and
 * the baseline as faint dashed lines when `context` has them.
 */
export function throughputSpec(report: Report, context: ChartContext = {}): TopLevelSpec {
  const measured = (source: 'this run' | 'baseline', rows: ReturnType<typeof batchRows>) =>
    rows.map(({ bundle, series, batchSize, scenario }) => ({
      source,
      bundle,
      series,
      batchSize,
      itemsPerSecond: scenario.throughput?.itemsPerSecond ?? 0,
      measurement: scenario.status === 'unstable' ? 'unstable (windows disagreed)' : 'stable',
    }));
  const rows = batchRows(report);
  const limits = rows.flatMap(({ bundle, series, batchSize, scenario }) => {
    const itemsPerSecond = slaLimit(context.checks, scenario.id, 'itemsPerSecond');
    return itemsPerSecond === undefined
      ? []
      : [{ source: 'SLA limit', bundle, series, batchSize, itemsPerSecond }];
  });
  const values = [
    ...measured('this run', rows),
    ...(context.baseline ? measured('baseline', batchRows(context.baseline)) : []),
    ...limits,
  ];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Throughput against batch size',
      subtitle: contextSubtitle(report, context, 'minimum items/s'),
    },
    data: { values },
    facet: { column: { field: 'bundle', type: 'nominal', title: null } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 300,
      height: 240,
      layer: batchLayers({
        y: { field: 'itemsPerSecond', title: 'items / s (log)' },
        pointSize: 50,
        shape: {
          field: 'measurement',
          title: 'measurement',
          domain: ['stable', 'unstable (windows disagreed)'],
        },
      }),
    },
    config: baseConfig,
  };
}

const SERIES_OF_ROLE = {
  calibration: 'measured (fitted)',
  check: 'measured (held out, predicted)',
  reference: 'measured (not used)',
} as const;

/** Measured peak memory against batch size, with the memory plan's line and the budget, per bundle and backend. */
export function memorySpec(report: Report): TopLevelSpec {
  const values: Record<string, string | number>[] = [];
  const panels: string[] = [];
  // Node panels first, Chromium's after, in the order the plans were made.
  const plans = [...report.memoryPlans].sort(
    (a, b) => Number(a.bundle.includes('(chromium)')) - Number(b.bundle.includes('(chromium)')),
  );
  for (const plan of plans) {
    // The header's second and third lines say what the plan's percentage and its largest batch mean.
    const panel = [`${plan.bundle} / ${plan.backend} (${plan.metric})`, ...memoryPlanNote(plan)].join('\n');
    panels.push(panel);
    const sizes = plan.points.map((p) => p.batchSize);
    const lo = Math.min(...sizes, 1);
    const hi = Math.max(...sizes, 1);
    for (const p of plan.points) {
      values.push({
        panel,
        batchSize: p.batchSize,
        mib: p.measuredBytes / MIB,
        series: SERIES_OF_ROLE[p.role],
      });
    }
    if (plan.verdict !== 'insufficient-data' || plan.points.length >= 2) {
      for (let b = lo; b <= hi; b *= 2)
        values.push({ panel, batchSize: b, mib: plannedBytes(plan, b) / MIB, series: 'plan' });
    }
    values.push({ panel, batchSize: lo, mib: plan.budgetBytes / MIB, series: 'budget' });
    values.push({ panel, batchSize: hi, mib: plan.budgetBytes / MIB, series: 'budget' });
  }
  const seriesScale = {
    domain: [...Object.values(SERIES_OF_ROLE), 'plan', 'budget'],
    range: ['#4c78a8', '#e45756', '#bab0ac', '#72b7b2', '#9d755d'],
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Peak memory against batch size: measured, planned, budget',
      subtitle: [
        subtitle(report),
        'plan %: (planned - measured) / measured at the largest measured batch, held out of the fit; negative: the plan is below the measurement',
        '"(the cap)": memory did not grow with the batch, so the budget sets no limit; the number is the configured memory.maxBatchSizeCap',
      ],
    },
    data: { values },
    facet: {
      field: 'panel',
      type: 'nominal',
      title: null,
      sort: panels,
      header: { labelExpr: "split(datum.value, '\\n')", labelFontSize: 11 },
    },
    columns: 2,
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 280,
      height: 200,
      layer: [
        {
          transform: [{ filter: "datum.series === 'plan'" }],
          mark: { type: 'line', strokeWidth: 2 },
          encoding: {
            x: batchAxis,
            y: { field: 'mib', type: 'quantitative', title: 'MiB', scale: { zero: true } },
            color: { field: 'series', type: 'nominal', title: null, scale: seriesScale },
          },
        },
        {
          transform: [{ filter: "datum.series === 'budget'" }],
          mark: { type: 'line', strokeWidth: 2, strokeDash: [6, 4] },
          encoding: {
            x: batchAxis,
            y: { field: 'mib', type: 'quantitative' },
            color: { field: 'series', type: 'nominal', scale: seriesScale },
          },
        },
        {
          transform: [{ filter: "indexof(datum.series, 'measured') === 0" }],
          mark: { type: 'point', filled: true, size: 70 },
          encoding: {
            x: batchAxis,
            y: { field: 'mib', type: 'quantitative' },
            color: { field: 'series', type: 'nominal', scale: seriesScale },
          },
        },
      ],
    },
    config: baseConfig,
  };
}

/**
 * HTTP: latency percentiles against the achieved request rate, for the closed-loop sweep (a line through its
 * concurrencies) and the open-loop runs (Poisson arrivals, points at their rate), each point labelled with its
 * concurrency or offered rate; beside it, the closed loop's requests/s against concurrency in one neutral colour (it
 * is not a percentile). Null when the report has no HTTP run.
 */
export function httpSpec(report: Report): TopLevelSpec | null {
  const runs = report.scenarios.flatMap((s): { s: Scenario; run: string; label: string }[] => {
    if (!s.latency || !s.throughput) return [];
    if (s.kind === 'http-closed')
      return [{ s, run: 'closed loop', label: `c${String(s.params.concurrency)}` }];
    if (s.kind === 'http-open')
      return [{ s, run: 'open loop (Poisson)', label: `${String(s.params.ratePerSecond)}/s offered` }];
    return [];
  });
  if (runs.length === 0) return null;
  const values = runs.flatMap(({ s, run, label }) =>
    (['p50', 'p95', 'p99'] as const).map((p) => ({
      run,
      label,
      concurrency: s.kind === 'http-closed' ? Number(s.params.concurrency) : null,
      percentile: p,
      ms: s.latency?.percentiles[p].ms ?? 0,
      rps: s.throughput?.requestsPerSecond ?? 0,
    })),
  );
  const rps = {
    field: 'rps',
    type: 'quantitative' as const,
    title: 'achieved requests / s (log)',
    scale: { type: 'log' as const },
  };
  const ms = { field: 'ms', type: 'quantitative' as const, title: 'latency (ms)' };
  const color = {
    field: 'percentile',
    type: 'nominal' as const,
    title: 'percentile',
    scale: { domain: ['p50', 'p95', 'p99'], range: ['#4c78a8', '#f58518', '#e45756'] },
  };
  const shape = {
    field: 'run',
    type: 'nominal' as const,
    title: 'run',
    scale: { domain: ['closed loop', 'open loop (Poisson)'], range: ['circle', 'diamond'] },
  };
  const closedOnly = { filter: "datum.run === 'closed loop'" };
  const panels: StackedPanel[] = [
    {
      width: 340,
      height: 240,
      title: 'latency against achieved rate',
      layer: [
        {
          transform: [closedOnly],
          mark: { type: 'line' },
          encoding: { x: rps, y: ms, color },
        },
        {
          mark: { type: 'point', filled: true, size: 80 },
          encoding: { x: rps, y: ms, color, shape },
        },
        {
          transform: [{ filter: "datum.percentile === 'p99'" }],
          mark: { type: 'text', dy: -10, fontSize: 10, color: '#555555' },
          encoding: { x: rps, y: ms, text: { field: 'label' } },
        },
      ],
    },
  ];
  if (runs.some((r) => r.run === 'closed loop')) {
    panels.push({
      width: 260,
      height: 240,
      title: 'closed loop: throughput against concurrency',
      transform: [closedOnly, { filter: "datum.percentile === 'p50'" }],
      mark: { type: 'line', point: { filled: true, color: '#555555' }, color: '#555555' },
      encoding: {
        x: {
          field: 'concurrency',
          type: 'quantitative',
          scale: { type: 'log', base: 2 },
          axis: { format: 'd' },
        },
        y: { field: 'rps', type: 'quantitative', title: 'requests / s' },
      },
    });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'HTTP: latency against request rate, closed and open loop',
      subtitle: subtitle(report),
    },
    data: { values },
    hconcat: panels,
    config: baseConfig,
  };
}

/**
 * The capacity self-check: the model's p95 against the offered rate (a line), the two measured p95s (points) and the
 * p95 limit (a dashed rule), one panel per capacity scenario. Null when the report has none.
 */
export function capacitySpec(report: Report): TopLevelSpec | null {
  const checks = report.scenarios.flatMap((s) => (s.capacity ? [{ id: s.id, c: s.capacity }] : []));
  if (checks.length === 0) return null;
  const values = checks.flatMap(({ id, c }) => [
    ...c.model.curve.map((p) => ({
      scenario: id,
      series: 'model p95',
      rate: p.ratePerSecond,
      ms: p.p95Ms,
      limit: c.p95LimitMs,
    })),
    ...(
      [
        ['measured p95 at planned', c.planned],
        ['measured p95 above', c.above],
      ] as const
    ).flatMap(([series, p]) =>
      p.p95Ms === null
        ? []
        : [{ scenario: id, series, rate: p.offeredRatePerSecond, ms: p.p95Ms, limit: c.p95LimitMs }],
    ),
  ]);
  const rate = { field: 'rate', type: 'quantitative' as const, title: 'offered requests / s (one replica)' };
  const ms = { field: 'ms', type: 'quantitative' as const, title: 'p95 latency (ms)' };
  const color = {
    field: 'series',
    type: 'nominal' as const,
    title: null,
    scale: {
      domain: ['model p95', 'measured p95 at planned', 'measured p95 above'],
      range: ['#4c78a8', '#54a24b', '#e45756'],
    },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Capacity plan: the model against the measurement, with the p95 limit',
      subtitle: subtitle(report),
    },
    data: { values },
    facet: { field: 'scenario', type: 'nominal', title: null },
    spec: {
      width: 420,
      height: 240,
      layer: [
        {
          transform: [{ filter: "datum.series === 'model p95'" }],
          mark: { type: 'line', point: true },
          encoding: { x: rate, y: ms, color },
        },
        {
          transform: [{ filter: "datum.series !== 'model p95'" }],
          mark: { type: 'point', filled: true, size: 90 },
          encoding: { x: rate, y: ms, color },
        },
        {
          mark: { type: 'rule', strokeDash: [6, 4], color: '#888888' },
          encoding: { y: { aggregate: 'max', field: 'limit', type: 'quantitative' } },
        },
      ],
    },
    config: baseConfig,
  };
}

function subtitle(report: Report): string {
  return `${report.mode} run ${report.createdAt.slice(0, 16)}Z, ${report.machine.cpuModel} x${report.machine.cores}, node ${report.versions.node}`;
}

/** vega-lite's logger, minus its warnings (e.g. merged legends), which would interleave with the bench's output. */
const quietLogger = {
  level(): number {
    return 0;
  },
  error(...args: readonly unknown[]) {
    throw new Error(args.map(String).join(' '));
  },
  warn() {
    return quietLogger;
  },
  info() {
    return quietLogger;
  },
  debug() {
    return quietLogger;
  },
};

/** Compiles and renders a vega-lite spec to an SVG string, without a browser or canvas. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec, { logger: quietLogger }).spec), { renderer: 'none' }).logLevel(
    LOG_ERROR,
  );
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Every chart the report has data for, by file name; `context` adds the SLA and baseline marks. */
export async function renderCharts(
  report: Report,
  context: ChartContext = {},
): Promise<Record<string, string>> {
  const charts: Record<string, string> = {};
  if (batchRows(report).length > 0) {
    charts['latency.svg'] = await renderSvg(latencySpec(report, context));
    charts['throughput.svg'] = await renderSvg(throughputSpec(report, context));
  }
  if (report.memoryPlans.length > 0) charts['memory.svg'] = await renderSvg(memorySpec(report));
  const http = httpSpec(report);
  if (http) charts['http.svg'] = await renderSvg(http);
  const capacity = capacitySpec(report);
  if (capacity) charts['capacity.svg'] = await renderSvg(capacity);
  return charts;
}

/** One panel of a vertical concatenation. */
type StackedPanel = Extract<TopLevelSpec, { vconcat: unknown }>['vconcat'][number];

/**
 * A soak over time: windowed p50 and p99 latency above, the server's RSS below (when measured), each with its
 * least-squares line (dashed) over the windows after the warm-up; warm-up windows are faint points.
 */
export function soakSpec(
  windows: readonly SoakWindow[],
  options: { title: string; subtitle: string; warmupWindows: number },
): TopLevelSpec {
  const phase = (window: SoakWindow) => (window.index < options.warmupWindows ? 'warm-up' : 'measured');
  // p99 describes a window's whole span (plotted at its middle); RSS is a reading at its end.
  const latency = windows.flatMap((window) =>
    (['p50', 'p99'] as const).flatMap((percentile) => {
      const ms = percentile === 'p50' ? window.p50Ms : window.p99Ms;
      const minute = (window.startS + window.endS) / 120;
      return ms === null ? [] : [{ minute, ms, percentile, phase: phase(window) }];
    }),
  );
  const rss = windows.flatMap((window) =>
    window.rssMiB === null ? [] : [{ minute: window.endS / 60, mib: window.rssMiB, phase: phase(window) }],
  );
  const x = { field: 'minute', type: 'quantitative', title: 'minutes since the soak started' } as const;
  const faintWarmUp = { condition: { test: "datum.phase === 'measured'", value: 1 }, value: 0.3 } as const;
  const measuredOnly = { filter: "datum.phase === 'measured'" } as const;
  const color = { field: 'percentile', type: 'nominal', title: null, sort: ['p50', 'p99'] } as const;
  const panels: StackedPanel[] = [
    {
      width: 560,
      height: 200,
      data: { values: latency },
      layer: [
        {
          mark: { type: 'point', size: 40, filled: true },
          encoding: {
            x,
            y: { field: 'ms', type: 'quantitative', title: 'latency per window (ms)' },
            color,
            opacity: faintWarmUp,
          },
        },
        {
          transform: [measuredOnly, { regression: 'ms', on: 'minute', groupby: ['percentile'] }],
          mark: { type: 'line', strokeDash: [6, 3] },
          encoding: { x, y: { field: 'ms', type: 'quantitative' }, color },
        },
      ],
    },
  ];
  if (rss.length > 0) {
    const green = '#54a24b';
    panels.push({
      width: 560,
      height: 160,
      data: { values: rss },
      layer: [
        {
          mark: { type: 'point', size: 40, filled: true, color: green },
          encoding: {
            x,
            y: { field: 'mib', type: 'quantitative', title: 'server RSS (MiB)', scale: { zero: false } },
            opacity: faintWarmUp,
          },
        },
        {
          transform: [measuredOnly, { regression: 'mib', on: 'minute' }],
          mark: { type: 'line', strokeDash: [6, 3], color: green },
          encoding: { x, y: { field: 'mib', type: 'quantitative' } },
        },
      ],
    });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: options.title, subtitle: options.subtitle },
    vconcat: panels,
    config: baseConfig,
  };
}
