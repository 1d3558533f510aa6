// The live health dashboard's script: polls /v1/health and /metrics, shows the status, checks, alerts and charts.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './dashboard.css';
import { messageOf } from '../../runtime/errors.ts';
import type { HealthReport } from '../../runtime/monitor/types.ts';
import {
  CHARTS,
  checkRows,
  createHealthHistory,
  describeRefusal,
  describeScope,
  isErrorAnswer,
  isHealthReport,
  parseMetrics,
  readCounters,
  type ChartSpec,
  type Counters,
} from './health-history.ts';

/** How often the page asks, ms: the Worker's isolates flush to the aggregate every 2 s too. */
const POLL_MS = 2000;
/** Where the token lives: this tab only, gone when it closes. */
const TOKEN_KEY = 'shipshape.token';
const CHART_HEIGHT = 200;
/** Time-axis tick steps, seconds. */
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];

const COLORS = {
  line: ['#2f6fde', '#1f9d6b', '#8e44ad', '#d9822b'],
  threshold: ['#b3261e', '#d9822b'],
} as const;

function element<T extends HTMLElement = HTMLElement>(selector: string): T {
  const found = document.querySelector<T>(selector);
  if (found === null) throw new Error(`dashboard: ${selector} is missing`);
  return found;
}

const banner = element('[data-testid="status"]');
const statusWord = element('[data-testid="status-word"]');
const statusModel = element('[data-testid="status-model"]');
const statusScope = element('[data-testid="status-scope"]');
const statusTime = element('[data-testid="status-time"]');
const errorNote = element('[data-testid="error"]');
const alertList = element('[data-testid="alerts"]');
const checksBody = element('[data-testid="checks"] tbody');
const windowsNote = element('[data-testid="windows"]');
const chartsBox = element('[data-testid="charts"]');
const tokenInput = element<HTMLInputElement>('#token');

const history = createHealthHistory();

function clock(iso: string | number): string {
  return new Date(iso).toLocaleTimeString(undefined, { hour12: false });
}

function cell(text: string, className?: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  if (className !== undefined) td.className = className;
  return td;
}

function span(text: string, className: string): HTMLSpanElement {
  const node = document.createElement('span');
  node.textContent = text;
  node.className = className;
  return node;
}

function showChecks(report: HealthReport): void {
  const rows = checkRows(report).map((row) => {
    const tr = document.createElement('tr');
    tr.dataset.check = row.name;
    tr.dataset.status = row.status;
    const status = document.createElement('td');
    const badge = span(row.status.replace('_', ' '), `badge ${row.status}`);
    status.append(badge);
    tr.append(
      cell(row.name, 'name'),
      status,
      cell(row.value, 'num'),
      cell(row.threshold, 'num'),
      cell(row.samples, 'num'),
      cell(row.detail, 'detail'),
    );
    return tr;
  });
  checksBody.replaceChildren(...rows);
  const { latencySeconds, qualitySeconds } = report.windows;
  windowsNote.textContent =
    `Rolling windows: latency and errors over the last ${latencySeconds} s, drift, OOV, truncation and ` +
    `accuracy over the last ${qualitySeconds} s. A check says nothing until it has its samples.`;
}

function showAlerts(report: HealthReport): void {
  const firing = report.alerts.filter((alert) => alert.state === 'firing');
  if (firing.length === 0) {
    const none = document.createElement('li');
    none.className = 'none';
    none.textContent = 'None.';
    alertList.replaceChildren(none);
    return;
  }
  alertList.replaceChildren(
    ...firing.map((alert) => {
      const item = document.createElement('li');
      item.dataset.check = alert.check;
      item.append(
        span(alert.check, 'check'),
        span(alert.severity, `severity-${alert.severity}`),
        span(alert.detail, 'detail'),
        span(`firing since ${clock(alert.since)}, last sent ${clock(alert.lastSentAt)}`, 'since'),
      );
      return item;
    }),
  );
}

function showReport(report: HealthReport): void {
  banner.dataset.status = report.status;
  statusWord.textContent = report.status;
  statusModel.textContent = `${report.model.name} ${report.model.version}`;
  statusScope.textContent = describeScope(report);
  statusTime.textContent = `checked ${clock(report.checkedAt)}`;
  showChecks(report);
  showAlerts(report);
}

function showProblem(word: string, message: string): void {
  banner.dataset.status = 'error';
  statusWord.textContent = word;
  errorNote.textContent = message;
}

function tickFormat(unit: ChartSpec['unit']): (value: number) => string {
  switch (unit) {
    case 'ms':
      return (value) =>
        value >= 1000 ? `${Number((value / 1000).toPrecision(4))} s` : `${Number(value.toPrecision(4))} ms`;
    case 'per_second':
      return (value) => `${Number(value.toPrecision(4))}/s`;
    case 'rate':
      return (value) => `${Number((value * 100).toPrecision(4))} %`;
    case 'distance':
      return (value) => value.toFixed(3);
  }
}

/**
 * The value axis. Latency on a log scale: the percentiles (a few ms) and the SLA's ceiling (100 ms or more) both stay
 * readable. Accuracy from a little under its lowest line up to 100 %, so a drop of a few points shows. The rest from
 * zero with room above the highest line (a threshold included), 0..1 before any value.
 */
function yScale(spec: ChartSpec): uPlot.Scale {
  if (spec.unit === 'ms') {
    return {
      distr: 3,
      log: 10,
      range: (_plot, min, max) => {
        const low = Number.isFinite(min) && min > 0 ? min : 1;
        return uPlot.rangeLog(low, Number.isFinite(max) && max > low ? max : low * 10, 10, true);
      },
    };
  }
  if (spec.key === 'accuracy') {
    return { range: (_plot, min) => [Math.max(0, Math.floor((min - 0.05) * 20) / 20), 1] };
  }
  return { range: (_plot, _min, max) => [0, max > 0 ? max * 1.15 : 1] };
}

function powersOfTen(_plot: uPlot, splits: number[]): (number | null)[] {
  return splits.map((split) => (Number.isInteger(Math.log10(split)) ? split : null));
}

interface Chart {
  readonly spec: ChartSpec;
  readonly plot: uPlot;
  readonly box: HTMLElement;
  readonly note: HTMLElement;
}

function createChart(spec: ChartSpec): Chart {
  const card = document.createElement('section');
  card.className = 'card chart';
  card.dataset.chart = spec.key;
  const title = document.createElement('h2');
  title.textContent = spec.title;
  const box = document.createElement('div');
  box.className = 'plot';
  const note = document.createElement('p');
  note.className = 'hint';
  card.append(title, box, note);
  chartsBox.append(card);
  const format = tickFormat(spec.unit);
  let lines = 0;
  let thresholds = 0;
  const series: uPlot.Series[] = [
    {},
    ...spec.series.map((line): uPlot.Series => {
      const threshold = line.threshold === true;
      const stroke = threshold
        ? (COLORS.threshold[thresholds++ % COLORS.threshold.length] ?? '#b3261e')
        : (COLORS.line[lines++ % COLORS.line.length] ?? '#2f6fde');
      return {
        label: line.label,
        stroke,
        width: threshold ? 1.5 : 2,
        ...(threshold ? { dash: [6, 4] } : {}),
        spanGaps: false,
        points: { show: false },
        value: (_plot, value) => (value === null ? '–' : format(value)),
      };
    }),
  ];
  const plot = new uPlot(
    {
      width: Math.max(box.clientWidth, 300),
      height: CHART_HEIGHT,
      series,
      scales: {
        x: { time: true },
        y: yScale(spec),
      },
      axes: [
        // Clock times on one line, whole seconds at least (uPlot's default labels :11.500 on a young page and
        // stacks the date under the first tick of each minute, where labels collide).
        {
          incrs: TIME_STEPS,
          space: 80,
          values: (_plot, ticks) => ticks.map((tick) => (tick === null ? '' : clock(tick * 1000))),
        },
        {
          size: 72,
          // A log axis leaves the ticks it does not label as null.
          values: (_plot, ticks) => ticks.map((tick) => (tick === null ? '' : format(tick))),
          // On the log axis, grid lines at the powers of ten only: one per split is a grey band.
          ...(spec.unit === 'ms' ? { grid: { filter: powersOfTen }, ticks: { filter: powersOfTen } } : {}),
        },
      ],
      legend: { live: false },
    },
    history.columns(spec),
    box,
  );
  return { spec, plot, box, note };
}

const charts = CHARTS.map(createChart);

new ResizeObserver(() => {
  for (const chart of charts) {
    chart.plot.setSize({ width: Math.max(chart.box.clientWidth, 300), height: CHART_HEIGHT });
  }
}).observe(chartsBox);

function redraw(): void {
  for (const chart of charts) chart.plot.setData(history.columns(chart.spec));
}

function authHeaders(): Record<string, string> {
  const token = tokenInput.value.trim();
  return token === '' ? {} : { Authorization: `Bearer ${token}` };
}

/** The throughput counters, or why there are none (the charts say so rather than drawing zeros). */
async function fetchCounters(headers: Record<string, string>): Promise<Counters | string> {
  try {
    const response = await fetch('/metrics', { headers, cache: 'no-store' });
    if (!response.ok) {
      const body: unknown = await response.json().catch(() => undefined);
      return `No throughput: /metrics answered ${describeRefusal(response.status, isErrorAnswer(body) ? body : undefined)}`;
    }
    return readCounters(parseMetrics(await response.text()));
  } catch (error) {
    return `No throughput: /metrics did not answer (${messageOf(error)}).`;
  }
}

let polls = 0;

async function poll(): Promise<void> {
  const headers = authHeaders();
  const at = Date.now();
  try {
    const [response, counters] = await Promise.all([
      fetch('/v1/health', { headers, cache: 'no-store' }),
      fetchCounters(headers),
    ]);
    const body: unknown = await response.json().catch(() => undefined);
    if (!isHealthReport(body)) {
      const refusal = isErrorAnswer(body) ? body : undefined;
      const code = refusal?.error.code;
      const word = code === 'NOT_READY' ? 'loading' : response.status === 401 ? 'no access' : 'error';
      showProblem(word, describeRefusal(response.status, refusal));
      return;
    }
    // A late answer to an older poll (the token changed mid-poll) is not shown over a newer one.
    const point = history.add({ at, report: body, ...(typeof counters === 'string' ? {} : { counters }) });
    if (point === undefined) return;
    errorNote.textContent = '';
    showReport(body);
    for (const chart of charts) {
      if (chart.spec.unit === 'per_second')
        chart.note.textContent = typeof counters === 'string' ? counters : '';
    }
    redraw();
    polls++;
    document.body.dataset.polls = String(polls);
  } catch (error) {
    showProblem(
      'unreachable',
      `The service did not answer: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

async function pollForever(): Promise<void> {
  await poll();
  setTimeout(() => void pollForever(), POLL_MS);
}

tokenInput.value = sessionStorage.getItem(TOKEN_KEY) ?? '';
tokenInput.addEventListener('change', () => {
  const token = tokenInput.value.trim();
  if (token === '') sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
  void poll();
});

void pollForever();
