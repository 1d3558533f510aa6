// The report as Markdown: one table per scenario kind, the memory plans, and links to the charts.
import { aboveLabel, formatNumber } from './gate/format.ts';
import type { Report, Scenario } from './report.ts';

const MIB = 1024 * 1024;

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

/** Renders the report; `charts` are file names relative to the Markdown file. */
export function renderReportMarkdown(report: Report, charts: readonly string[] = []): string {
  const lines: string[] = [];
  const v = report.versions;
  const m = report.machine;
  lines.push(
    `# shipshape bench (${report.mode})`,
    '',
    `${report.createdAt}, ${(report.durationMs / 1000).toFixed(0)} s. ` +
      `node ${v.node}, shipshape ${v.shipshape}, onnxruntime-node ${v.onnxruntimeNode ?? 'n/a'}, ` +
      `onnxruntime-web ${v.onnxruntimeWeb ?? 'n/a'}, chromium ${v.chromium ?? 'n/a'}.`,
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${(m.memoryBytes / 1024 ** 3).toFixed(1)} GiB, ${m.platform}/${m.arch}, ` +
      `load ${m.loadAverage.map((l) => l.toFixed(2)).join(' ')}.`,
    '',
    'Latency in ms per call (a batch for in-process and browser, a request for HTTP). `*` marks a percentile with ' +
      'too few samples (it needs `ceil(minTail / (1 - p))`); a scenario is `unstable` when its last windows disagreed.',
    '',
  );
  const measured = report.scenarios.filter((s) => s.status !== 'skipped' && s.status !== 'errored');
  const batched = measured.filter((s) => s.kind === 'in-process' || s.kind === 'browser');
  if (batched.length > 0) {
    lines.push(
      '## Per batch size',
      '',
      '| scenario | backend | status | p50 | p90 | p95 | p99 | items/s | batches/s | samples | peak RSS MiB | isolate MiB | WASM heap MiB |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const s of batched) {
      lines.push(
        `| \`${s.id}\` | ${backendText(s)} | ${status(s)} | ${ms(s, 'p50')} | ${ms(s, 'p90')} | ${ms(s, 'p95')} | ${ms(s, 'p99')} | ` +
          `${formatNumber(s.throughput?.itemsPerSecond ?? 0)} | ${formatNumber(s.throughput?.requestsPerSecond ?? 0)} | ` +
          `${s.latency?.count ?? 0} | ${mib(s.memory?.peakRssBytes)} | ${mib(s.memory?.isolateBytes)} | ${mib(s.memory?.wasmHeapBytes)} |`,
      );
    }
    lines.push('');
  }
  const cold = measured.filter((s) => s.kind === 'cold-start');
  if (cold.length > 0) {
    lines.push(
      '## Cold start (fresh process per trial)',
      '',
      '| scenario | backend | status | p50 ms | max ms | trials | import | loadBundle | createPredictor | first prediction | process total | peak RSS MiB |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const s of cold) {
      const c = s.coldStart;
      lines.push(
        c
          ? `| \`${s.id}\` | ${backendText(s)} | ${status(s)} | ${formatNumber(c.p50Ms)} | ${formatNumber(c.maxMs)} | ${c.trials} | ` +
              `${formatNumber(c.phasesMs.importRuntime)} | ${formatNumber(c.phasesMs.loadBundle)} | ${formatNumber(c.phasesMs.createPredictor)} | ` +
              `${formatNumber(c.phasesMs.firstPrediction)} | ${formatNumber(c.phasesMs.processTotal)} | ${mib(s.memory?.peakRssBytes)} |`
          : `| \`${s.id}\` | ${backendText(s)} | ${status(s)} | | | | | | | | | |`,
      );
    }
    lines.push('');
  }
  const http = measured.filter((s) => s.kind === 'http-closed' || s.kind === 'http-open');
  if (http.length > 0) {
    lines.push(
      '## HTTP',
      '',
      '| scenario | status | p50 | p90 | p95 | p99 | req/s | items/s | requests | errors |',
      '|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const s of http) {
      lines.push(
        `| \`${s.id}\` | ${status(s)} | ${ms(s, 'p50')} | ${ms(s, 'p90')} | ${ms(s, 'p95')} | ${ms(s, 'p99')} | ` +
          `${formatNumber(s.throughput?.requestsPerSecond ?? 0)} | ${formatNumber(s.throughput?.itemsPerSecond ?? 0)} | ` +
          `${s.http?.requests ?? 0} | ${s.http?.errors ?? 0} |`,
      );
    }
    lines.push('');
  }
  const overload = measured.filter((s) => s.kind === 'http-overload');
  if (overload.length > 0) {
    lines.push(
      '## Overload (open loop at a multiple of the measured capacity)',
      '',
      '| scenario | status | capacity req/s | offered req/s | admitted p50 | p95 | p99 | goodput req/s | shed | other errors | requests |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const s of overload) {
      const h = s.http;
      const shedPct = h && h.requests > 0 ? `${((100 * (h.shed ?? 0)) / h.requests).toFixed(1)}%` : '';
      lines.push(
        `| \`${s.id}\` | ${status(s)} | ${formatNumber(h?.capacityRatePerSecond ?? 0)} | ${formatNumber(h?.offeredRatePerSecond ?? 0)} | ` +
          `${ms(s, 'p50')} | ${ms(s, 'p95')} | ${ms(s, 'p99')} | ${formatNumber(s.throughput?.requestsPerSecond ?? 0)} | ` +
          `${shedPct} | ${h?.errors ?? 0} | ${h?.requests ?? 0} |`,
      );
    }
    lines.push('');
  }
  const capacity = measured.filter((s) => s.kind === 'http-capacity' && s.capacity);
  if (capacity.length > 0) {
    lines.push(
      '## Capacity plan self-check',
      '',
      'The queueing model turns the measured profile (concurrency-1 service times, saturated throughput, workers) ' +
        'into the rate one replica sustains within the p95 limit; the plan keeps headroom below it. Open loop ' +
        '(Poisson, latency from the scheduled send) at the planned rate the SLA must hold; at the higher rate it must not.',
      '',
      '| scenario | workers | capacity req/s (before / after planned) | sustainable req/s | point | offered req/s | achieved req/s | p50 | p95 | p95 model | p99 | shed | errors | service CPU ms/req | bench CPU ms/req | client lag p95 | other processes, cores |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    );
    const num = (value: number | null): string => (value === null ? 'n/a' : formatNumber(value));
    for (const s of capacity) {
      const c = s.capacity as NonNullable<Scenario['capacity']>;
      for (const [name, p] of [
        ['planned', c.planned],
        [aboveLabel(c), c.above],
      ] as const) {
        lines.push(
          `| \`${s.id}\` | ${c.profile.servers} | ${formatNumber(c.profile.capacityRps)} / ${formatNumber(c.capacityAfterRps)} | ` +
            `${formatNumber(c.model.sustainableRatePerSecond)} | ` +
            `${name} | ${formatNumber(p.offeredRatePerSecond)} | ${formatNumber(p.achievedRatePerSecond)} | ${num(p.p50Ms)} | ${num(p.p95Ms)} | ` +
            `${formatNumber(p.predictedP95Ms)} | ${num(p.p99Ms)} | ${p.shed} | ${p.errors} | ${num(p.cpuPerRequestMs)} | ${num(p.clientCpuPerRequestMs ?? null)} | ${formatNumber(p.clientLagP95Ms)} | ${num(p.otherCores ?? null)} |`,
        );
      }
    }
    lines.push(
      '',
      ...capacity.map((s) => {
        const c = s.capacity as NonNullable<Scenario['capacity']>;
        return (
          `- \`${s.id}\` (${c.verdict}; p95 limit ${formatNumber(c.p95LimitMs)} ms, headroom ${Math.round(c.headroom * 100)}%, ` +
          `service peak RSS ${mib(c.peakRssBytes)} MiB): ${c.detail}`
        );
      }),
      '',
    );
  }
  if (report.memoryPlans.length > 0) {
    lines.push(
      '## Memory plan',
      '',
      'planned(b) = overhead + weights + bytesPerItem x b, fitted on the two batch sizes below the largest ' +
        '(on the WASM heap for WASM backends); the largest is predicted and compared with the measurement.',
      '',
      '| bundle | backend | metric | weights MiB | overhead MiB | KiB per item | largest batch in budget | verdict | detail |',
      '|---|---|---|---|---|---|---|---|---|',
    );
    for (const p of report.memoryPlans) {
      lines.push(
        `| ${p.bundle} | ${p.backend} | ${p.metric} | ${mib(p.weightsBytes)} | ${mib(p.overheadBytes)} | ` +
          `${(p.bytesPerItem / 1024).toFixed(1)} | ${p.maxBatchSizeWithinBudget ?? 'none'} (of ${mib(p.budgetBytes)} MiB) | ${p.verdict} | ${p.detail} |`,
      );
    }
    lines.push('');
  }
  const other = report.scenarios.filter((s) => s.status === 'skipped' || s.status === 'errored');
  if (other.length > 0) {
    lines.push(
      '## Skipped or errored',
      '',
      ...other.map((s) => `- \`${s.id}\`: ${s.status}: ${s.reason ?? ''}`),
      '',
    );
  }
  if (report.uploadSize) {
    lines.push(
      `Worker upload: ${mib(report.uploadSize.gzipBytes)} MiB gzip (${mib(report.uploadSize.bytes)} MiB raw), from ${report.uploadSize.source}.`,
      '',
    );
  }
  if (charts.length > 0) lines.push('## Charts', '', ...charts.map((c) => `![${c}](${c})`), '');
  return lines.join('\n');
}
