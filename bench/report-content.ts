// What a report says, as data: the verdict, the lines that matter and the detail tables, for report.md and report.html.
import { aboveLabel, formatNumber } from './gate/format.ts';
import type { GateCheck, GateResult } from './gate/index.ts';
import type { MemoryPlan, Report, Scenario } from './report.ts';

const MIB = 1024 * 1024;

/** A piece of text; `code` is shown as code (a scenario id, a file, a pattern). */
export type Text = string | { readonly code: string };
/** A line of running text, in pieces. */
export type Line = readonly Text[];

/** A titled table with optional paragraphs before and after it. */
export interface Section {
  readonly title: string;
  readonly before: readonly Line[];
  readonly headers: readonly string[];
  readonly rows: readonly (readonly Text[])[];
  /** Shown as a bulleted list after the table. */
  readonly after: readonly Line[];
}

/** The gate's result on this run, and the files it was evaluated with. */
export interface ReportGate {
  readonly result: GateResult;
  /** The SLA file, as the user named it. */
  readonly sla: string;
  /** The baseline report, when one was given. */
  readonly baseline?: string;
}

/** One bullet of the summary, with its own bullets (e.g. each failed check). */
export interface SummaryItem {
  readonly line: Line;
  readonly items?: readonly Line[];
}

/** The top of a report: the verdict and the few lines that matter. */
export interface ReportSummary {
  /** `PASS`/`FAIL` from the gate, or `NOT EVALUATED` when no SLA was given. */
  readonly verdict: 'PASS' | 'FAIL' | 'NOT EVALUATED';
  /** The line beside the verdict: what was checked against what, and the check counts. */
  readonly verdictLine: Line;
  /** Bulleted: the machine note, scenarios, failures, warnings, unstable scenarios, HTTP and upload figures. */
  readonly lines: readonly SummaryItem[];
  /** The headline figures per bundle and backend. */
  readonly headline: Section | null;
}

function mib(bytes: number | null | undefined): string {
  return typeof bytes === 'number' ? `${(bytes / MIB).toFixed(1)}` : 'n/a';
}

function ms(scenario: Scenario, p: 'p50' | 'p90' | 'p95' | 'p99'): string {
  const value = scenario.latency?.percentiles[p];
  if (!value) return 'n/a';
  return value.status === 'ok' ? formatNumber(value.ms) : `${formatNumber(value.ms)}*`;
}

function status(s: Scenario): string {
  return s.status === 'ok' ? 'ok' : `${s.status}${s.reason ? `: ${s.reason}` : ''}`;
}

function backendText(s: Scenario): string {
  if (!s.backend) return String(s.params.backendRequested ?? 'n/a');
  const fallback = s.backend.fallbackReason ? ` (fallback: ${s.backend.fallbackReason})` : '';
  return `${s.backend.backend}${fallback}`;
}

function isMeasured(s: Scenario): boolean {
  return s.status !== 'skipped' && s.status !== 'errored';
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** `a`, `b` and `c`, as code; with `more`, `a`, `b`, `c` and `more`. */
function codeList(values: readonly string[], more?: string): Text[] {
  return [
    ...values.flatMap((value, i) => [
      ...(i === 0 ? [] : [i === values.length - 1 && more === undefined ? ' and ' : ', ']),
      { code: value },
    ]),
    ...(more === undefined ? [] : [` and ${more}`]),
  ];
}

function checkLine(c: GateCheck): Line {
  return [
    { code: c.scenario },
    `: ${c.metric} ${c.value} (limit ${c.limit})${c.detail ? `; ${c.detail}` : ''}`,
  ];
}

/** Most failed checks named one by one at the top; the rest are in the gate's table below. */
const MAX_LISTED = 8;

/** A list of ids, cut after `MAX_LISTED` with a count of the rest. */
function shortList(ids: readonly string[]): Text[] {
  const shown = ids.slice(0, MAX_LISTED);
  const rest = ids.length - shown.length;
  return codeList(shown, rest > 0 ? `${rest} more` : undefined);
}

/**
 * The failed checks as bullets: the scenarios that were not measured at all in one bullet (a partial run, e.g.
 * `--scenario`, misses many), each other failure with its value and limit, at most `MAX_LISTED` of them.
 */
function failedItems(failed: readonly GateCheck[]): Line[] {
  const absent = failed.filter((c) => c.kind === 'presence');
  const measured = failed.filter((c) => c.kind !== 'presence');
  const items: Line[] = measured.slice(0, MAX_LISTED).map(checkLine);
  if (measured.length > MAX_LISTED)
    items.push([`and ${measured.length - MAX_LISTED} more, in the gate's table below`]);
  if (absent.length > 0)
    items.push([
      `not measured in this run (${absent.length}; a missing or errored scenario, or an SLA pattern nothing matched): `,
      ...shortList(absent.map((c) => c.scenario)),
      '.',
    ]);
  return items;
}

/**
 * The verdict and what matters: the gate's verdict on this run (before any re-measurement, which only
 * `shipshape gate --remeasure` does), the scenario counts, the failed checks and the unstable scenarios by id, the
 * gate's notes (a baseline from another machine first), and headline figures.
 */
export function reportSummary(report: Report, gate?: ReportGate): ReportSummary {
  const lines: SummaryItem[] = [];
  const counts = new Map<string, number>();
  for (const s of report.scenarios) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
  lines.push({
    line: [
      `${plural(report.scenarios.length, 'scenario')}` +
        [...counts].map(([name, n], i) => `${i === 0 ? ': ' : ', '}${n} ${name}`).join('') +
        `, in ${(report.durationMs / 1000).toFixed(0)} s (${report.mode} run, ${report.machine.cpuModel} x${report.machine.cores}).`,
    ],
  });
  let verdict: ReportSummary['verdict'] = 'NOT EVALUATED';
  let verdictLine: Line = ['no SLA given: nothing was checked.'];
  if (gate) {
    const checks = gate.result.checks;
    const failed = checks.filter((c) => c.verdict === 'fail');
    const warned = checks.filter((c) => c.verdict === 'warn');
    // Unstable measurements warn too; they have their own bullet below, by scenario id.
    const otherWarnings = warned.filter((c) => c.kind !== 'stability');
    const skipped = checks.filter((c) => c.verdict === 'skipped');
    verdict = gate.result.passed ? 'PASS' : 'FAIL';
    verdictLine = [
      'against the SLA ',
      { code: gate.sla },
      ...(gate.baseline ? [' and the baseline ', { code: gate.baseline }] : []),
      `: ${plural(checks.length, 'check')}, ${checks.length - failed.length - warned.length - skipped.length} passed, ` +
        `${failed.length} failed, ${plural(warned.length, 'warning')}, ${skipped.length} skipped ` +
        '(before re-measurement, which `shipshape gate --remeasure` adds).',
    ];
    // A different machine changes how every regression reads: say it before anything else.
    for (const caveat of [...(gate.result.caveats ?? [])].reverse()) lines.unshift({ line: [caveat] });
    lines.push(
      failed.length === 0
        ? { line: ['Failed: none.'] }
        : { line: [`Failed (${failed.length}):`], items: failedItems(failed) },
    );
    if (otherWarnings.length > 0)
      lines.push({
        line: [
          `Warnings other than unstable measurements (${otherWarnings.length}, they do not block a release):`,
        ],
        items: [
          ...otherWarnings
            .slice(0, MAX_LISTED)
            .map((c): Line => [{ code: c.scenario }, `: ${c.metric} ${c.value}`]),
          ...(otherWarnings.length > MAX_LISTED
            ? [[`and ${otherWarnings.length - MAX_LISTED} more, in the gate's table below`]]
            : []),
        ],
      });
  }
  const unstable = report.scenarios.filter(
    (s) => s.status === 'unstable' || s.status === 'insufficient-samples',
  );
  lines.push({
    line:
      unstable.length === 0
        ? ['Unstable or short of samples: none.']
        : [
            `Unstable or short of samples (${unstable.length}, their figures are less trustworthy): `,
            ...shortList(unstable.map((s) => s.id)),
            '.',
          ],
  });
  const broken = report.scenarios.filter((s) => !isMeasured(s));
  if (broken.length > 0)
    lines.push({
      line: [`Skipped or errored (${broken.length}): `, ...shortList(broken.map((s) => s.id)), '.'],
    });
  const open = report.scenarios.filter((s) => s.kind === 'http-open' && isMeasured(s));
  for (const s of open) {
    lines.push({
      line: [
        'HTTP open loop ',
        { code: s.id },
        `: p95 ${ms(s, 'p95')} ms at ${formatNumber(s.throughput?.requestsPerSecond ?? 0)} requests/s, ${s.http?.errors ?? 0} errors.`,
      ],
    });
  }
  if (report.uploadSize)
    lines.push({
      line: [
        `Worker upload: ${mib(report.uploadSize.gzipBytes)} MiB gzip (${mib(report.uploadSize.bytes)} MiB raw), from ${report.uploadSize.source}.`,
      ],
    });
  return { verdict, verdictLine, lines, headline: headlineSection(report) };
}

/** Per bundle and backend in-process: p95 at the smallest batch, the best throughput and its batch, cold start. */
function headlineSection(report: Report): Section | null {
  const groups = new Map<string, Scenario[]>();
  for (const s of report.scenarios) {
    if (s.kind !== 'in-process' || !isMeasured(s)) continue;
    const key = `${String(s.params.bundle)}\u0000${backendText(s)}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  if (groups.size === 0) return null;
  const rows = [...groups].map(([key, scenarios]) => {
    const [bundle = '', backend = ''] = key.split('\u0000');
    const bySize = [...scenarios].sort((a, b) => Number(a.params.batchSize) - Number(b.params.batchSize));
    const smallest = bySize[0] as Scenario;
    const best = bySize.reduce((a, b) =>
      (b.throughput?.itemsPerSecond ?? 0) > (a.throughput?.itemsPerSecond ?? 0) ? b : a,
    );
    const cold = report.scenarios.find(
      (s) =>
        s.kind === 'cold-start' &&
        isMeasured(s) &&
        s.params.bundle === bundle &&
        backendText(s) === backend &&
        s.coldStart,
    );
    return [
      bundle,
      backend,
      `${ms(smallest, 'p95')} (b${String(smallest.params.batchSize)})`,
      `${formatNumber(best.throughput?.itemsPerSecond ?? 0)} (b${String(best.params.batchSize)})`,
      cold?.coldStart ? formatNumber(cold.coldStart.p50Ms) : 'n/a',
    ];
  });
  return {
    title: 'Headline figures (in-process on Node)',
    before: [],
    headers: [
      'bundle',
      'backend',
      'p95 ms at the smallest batch',
      'best items/s (batch)',
      'cold start p50 ms',
    ],
    rows,
    after: [],
  };
}

/** What the plan's percentage and its "largest batch" mean, said once above the table and the chart. */
export const MEMORY_PLAN_EXPLAINED: readonly Line[] = [
  [
    'planned(b) = overhead + weights + bytesPerItem x b, fitted on the two batch sizes below the largest measured ' +
      '(on the WASM heap for WASM backends); the largest measured batch is held out, predicted and compared.',
  ],
  [
    'The percentage is (planned - measured) / measured at that held-out batch: negative means the plan predicted ' +
      'less memory than was measured (it under-plans), positive more (it over-plans).',
  ],
  [
    '"largest batch in budget" is where planned(b) reaches the budget. When memory does not grow with the batch ' +
      '(0.0 KiB per item), the budget never binds and the plan stops at the configured cap ' +
      '(`memory.maxBatchSizeCap`, default 4096), marked "(the cap)": the cap is a setting, not a memory limit, and ' +
      'batches above the largest measured one are an extrapolation.',
  ],
];

function memoryLimitText(p: MemoryPlan): string {
  const largest = Math.max(0, ...p.points.map((x) => x.batchSize));
  const capped = p.maxBatchSizeWithinBudget !== null && p.bytesPerItem <= 0;
  return `${p.maxBatchSizeWithinBudget ?? 'none'}${capped ? ' (the cap)' : ''} of ${mib(p.budgetBytes)} MiB, measured up to b=${largest}`;
}

function checkedText(p: MemoryPlan): string {
  const check = p.points.find((x) => x.role === 'check');
  if (!check) return 'n/a';
  return `${check.errorPct >= 0 ? '+' : ''}${check.errorPct.toFixed(1)}% at b=${check.batchSize}`;
}

/** The detail tables, in reading order: per batch size, cold start, HTTP, overload, capacity, memory, the rest. */
export function reportSections(report: Report): Section[] {
  const sections: Section[] = [];
  const measured = report.scenarios.filter(isMeasured);
  const id = (s: Scenario): Text => ({ code: s.id });
  const batched = measured.filter((s) => s.kind === 'in-process' || s.kind === 'browser');
  if (batched.length > 0) {
    sections.push({
      title: 'Per batch size',
      before: [],
      headers: [
        'scenario',
        'backend',
        'status',
        'p50',
        'p90',
        'p95',
        'p99',
        'items/s',
        'batches/s',
        'samples',
        'peak RSS MiB',
        'isolate MiB',
        'WASM heap MiB',
      ],
      rows: batched.map((s) => [
        id(s),
        backendText(s),
        status(s),
        ms(s, 'p50'),
        ms(s, 'p90'),
        ms(s, 'p95'),
        ms(s, 'p99'),
        formatNumber(s.throughput?.itemsPerSecond ?? 0),
        formatNumber(s.throughput?.requestsPerSecond ?? 0),
        String(s.latency?.count ?? 0),
        mib(s.memory?.peakRssBytes),
        mib(s.memory?.isolateBytes),
        mib(s.memory?.wasmHeapBytes),
      ]),
      after: [],
    });
  }
  const cold = measured.filter((s) => s.kind === 'cold-start');
  if (cold.length > 0) {
    sections.push({
      title: 'Cold start (fresh process per trial)',
      before: [],
      headers: [
        'scenario',
        'backend',
        'status',
        'p50 ms',
        'max ms',
        'trials',
        'import',
        'loadBundle',
        'createPredictor',
        'first prediction',
        'process total',
        'peak RSS MiB',
      ],
      rows: cold.map((s) => {
        const c = s.coldStart;
        return c
          ? [
              id(s),
              backendText(s),
              status(s),
              formatNumber(c.p50Ms),
              formatNumber(c.maxMs),
              String(c.trials),
              formatNumber(c.phasesMs.importRuntime),
              formatNumber(c.phasesMs.loadBundle),
              formatNumber(c.phasesMs.createPredictor),
              formatNumber(c.phasesMs.firstPrediction),
              formatNumber(c.phasesMs.processTotal),
              mib(s.memory?.peakRssBytes),
            ]
          : [id(s), backendText(s), status(s), '', '', '', '', '', '', '', '', ''];
      }),
      after: [],
    });
  }
  const http = measured.filter((s) => s.kind === 'http-closed' || s.kind === 'http-open');
  if (http.length > 0) {
    sections.push({
      title: 'HTTP',
      before: [],
      headers: ['scenario', 'status', 'p50', 'p90', 'p95', 'p99', 'req/s', 'items/s', 'requests', 'errors'],
      rows: http.map((s) => [
        id(s),
        status(s),
        ms(s, 'p50'),
        ms(s, 'p90'),
        ms(s, 'p95'),
        ms(s, 'p99'),
        formatNumber(s.throughput?.requestsPerSecond ?? 0),
        formatNumber(s.throughput?.itemsPerSecond ?? 0),
        String(s.http?.requests ?? 0),
        String(s.http?.errors ?? 0),
      ]),
      after: [],
    });
  }
  const overload = measured.filter((s) => s.kind === 'http-overload');
  if (overload.length > 0) {
    sections.push({
      title: 'Overload (open loop at a multiple of the measured capacity)',
      before: [],
      headers: [
        'scenario',
        'status',
        'capacity req/s',
        'offered req/s',
        'admitted p50',
        'p95',
        'p99',
        'goodput req/s',
        'shed',
        'other errors',
        'requests',
      ],
      rows: overload.map((s) => {
        const h = s.http;
        return [
          id(s),
          status(s),
          formatNumber(h?.capacityRatePerSecond ?? 0),
          formatNumber(h?.offeredRatePerSecond ?? 0),
          ms(s, 'p50'),
          ms(s, 'p95'),
          ms(s, 'p99'),
          formatNumber(s.throughput?.requestsPerSecond ?? 0),
          h && h.requests > 0 ? `${((100 * (h.shed ?? 0)) / h.requests).toFixed(1)}%` : '',
          String(h?.errors ?? 0),
          String(h?.requests ?? 0),
        ];
      }),
      after: [],
    });
  }
  const capacity = measured.flatMap((s) =>
    s.kind === 'http-capacity' && s.capacity ? [{ s, c: s.capacity }] : [],
  );
  if (capacity.length > 0) {
    const num = (value: number | null): string => (value === null ? 'n/a' : formatNumber(value));
    sections.push({
      title: 'Capacity plan self-check',
      before: [
        [
          'The queueing model turns the measured profile (concurrency-1 service times, saturated throughput, workers) ' +
            'into the rate one replica sustains within the p95 limit; the plan keeps headroom below it. Open loop ' +
            '(Poisson, latency from the scheduled send) at the planned rate the SLA must hold; at the higher rate it must not.',
        ],
      ],
      headers: [
        'scenario',
        'workers',
        'capacity req/s (before / after planned)',
        'sustainable req/s',
        'point',
        'offered req/s',
        'achieved req/s',
        'p50',
        'p95',
        'p95 model',
        'p99',
        'shed',
        'errors',
        'service CPU ms/req',
        'bench CPU ms/req',
        'client lag p95',
        'other processes, cores',
      ],
      rows: capacity.flatMap(({ s, c }) =>
        (
          [
            ['planned', c.planned],
            [aboveLabel(c), c.above],
          ] as const
        ).map(([name, p]) => [
          id(s),
          String(c.profile.servers),
          `${formatNumber(c.profile.capacityRps)} / ${formatNumber(c.capacityAfterRps)}`,
          formatNumber(c.model.sustainableRatePerSecond),
          name,
          formatNumber(p.offeredRatePerSecond),
          formatNumber(p.achievedRatePerSecond),
          num(p.p50Ms),
          num(p.p95Ms),
          formatNumber(p.predictedP95Ms),
          num(p.p99Ms),
          String(p.shed),
          String(p.errors),
          num(p.cpuPerRequestMs),
          num(p.clientCpuPerRequestMs ?? null),
          formatNumber(p.clientLagP95Ms),
          num(p.otherCores ?? null),
        ]),
      ),
      after: capacity.map(({ s, c }) => [
        id(s),
        ` (${c.verdict}; p95 limit ${formatNumber(c.p95LimitMs)} ms, headroom ${Math.round(c.headroom * 100)}%, ` +
          `service peak RSS ${mib(c.peakRssBytes)} MiB): ${c.detail}`,
      ]),
    });
  }
  if (report.memoryPlans.length > 0) {
    sections.push({
      title: 'Memory plan',
      before: MEMORY_PLAN_EXPLAINED,
      headers: [
        'bundle',
        'backend',
        'metric',
        'weights MiB',
        'overhead MiB',
        'KiB per item',
        'plan vs measured',
        'largest batch in budget',
        'verdict',
        'detail',
      ],
      rows: report.memoryPlans.map((p) => [
        p.bundle,
        p.backend,
        p.metric,
        mib(p.weightsBytes),
        mib(p.overheadBytes),
        (p.bytesPerItem / 1024).toFixed(1),
        checkedText(p),
        memoryLimitText(p),
        p.verdict,
        p.detail,
      ]),
      after: [],
    });
  }
  const other = report.scenarios.filter((s) => !isMeasured(s));
  if (other.length > 0) {
    sections.push({
      title: 'Skipped or errored',
      before: [],
      headers: ['scenario', 'status', 'reason'],
      rows: other.map((s) => [id(s), s.status, s.reason ?? '']),
      after: [],
    });
  }
  return sections;
}

/** The run's provenance: when, how long, versions, machine. */
export function runLines(report: Report): Line[] {
  const v = report.versions;
  const m = report.machine;
  return [
    [
      `${report.createdAt}, ${(report.durationMs / 1000).toFixed(0)} s. ` +
        `node ${v.node}, shipshape ${v.shipshape}, onnxruntime-node ${v.onnxruntimeNode ?? 'n/a'}, ` +
        `onnxruntime-web ${v.onnxruntimeWeb ?? 'n/a'}, chromium ${v.chromium ?? 'n/a'}.`,
    ],
    [
      `Machine: ${m.cpuModel}, ${m.cores} cores, ${(m.memoryBytes / 1024 ** 3).toFixed(1)} GiB, ${m.platform}/${m.arch}, ` +
        `load ${m.loadAverage.map((l) => l.toFixed(2)).join(' ')}.`,
    ],
    [
      'Latency in ms per call (a batch for in-process and browser, a request for HTTP). "*" marks a percentile with ' +
        'too few samples (it needs ceil(minTail / (1 - p))); a scenario is "unstable" when its last windows disagreed.',
    ],
  ];
}
