// `shipshape bench`: measures the scenarios of bench/bench.config.json and writes the report, Markdown, HTML, charts.
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { renderCharts } from '../../bench/charts.ts';
import { loadBenchConfig } from '../../bench/config.ts';
import { evaluateGate } from '../../bench/gate/index.ts';
import { readBaselineFile } from '../../bench/gate/read-baseline.ts';
import { createProgress } from '../../bench/progress.ts';
import type { ReportGate } from '../../bench/report-content.ts';
import { renderReportHtml } from '../../bench/report-html.ts';
import { renderReportMarkdown } from '../../bench/report-markdown.ts';
import { writeReport } from '../../bench/report.ts';
import { runBench, SCENARIO_GROUPS, type ScenarioGroup } from '../../bench/run.ts';
import { readSla } from '../../bench/sla.ts';
import { readUploadSize } from '../../bench/upload-size.ts';
import { DEFAULT_SLA } from './defaults.ts';

export const DEFAULT_CONFIG = fileURLToPath(new URL('../../bench/bench.config.json', import.meta.url));
export const DEFAULT_REPORT = fileURLToPath(new URL('../../bench/reports/report.json', import.meta.url));

interface BenchFlags {
  config: string;
  quick?: boolean;
  out: string;
  url?: string;
  serve?: boolean;
  uploadSizeFile?: string;
  only?: ScenarioGroup[];
  scenario?: string[];
  charts: boolean;
  sla: string;
  baseline?: string;
}

function parseGroups(value: string): ScenarioGroup[] {
  const groups = value.split(',').map((g) => g.trim());
  for (const g of groups) {
    if (!(SCENARIO_GROUPS as readonly string[]).includes(g)) {
      throw new InvalidArgumentError(
        `Unsupported scenario group "${g}". Should be one of: ${SCENARIO_GROUPS.join(', ')}.`,
      );
    }
  }
  return groups as ScenarioGroup[];
}

/** Where the Markdown, the HTML, the charts and other files of a report at `out` go: next to it, named after it. */
export function companionPaths(out: string): {
  markdown: string;
  html: string;
  sibling: (name: string) => string;
} {
  const stem = basename(out).replace(/\.json$/i, '');
  const dir = dirname(out);
  return {
    markdown: join(dir, `${stem}.md`),
    html: join(dir, `${stem}.html`),
    sibling: (name) => join(dir, `${stem}-${name}`),
  };
}

/** The display form of a path the user gave: relative to the working directory when inside it. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' || rel.startsWith('..') ? path : rel;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description(
      'measure latency, throughput, memory and cold start; write a JSON report, Markdown and SVG charts',
    )
    .option('--config <file>', 'bench configuration', DEFAULT_CONFIG)
    .option('--quick', "CI mode: the config's `quick` overrides (fewer batch sizes, short windows)")
    .option('--out <file>', 'report path; Markdown and charts are written next to it', DEFAULT_REPORT)
    .option('--url <url>', 'base URL of a running service for the HTTP scenarios (loopback only)')
    .option('--serve', 'start `shipshape serve` on the first bundle for the HTTP scenarios (when no --url)')
    .option('--upload-size-file <file>', 'Worker upload size from the edge build (JSON or wrangler output)')
    .option('--only <groups>', `comma-separated subset of: ${SCENARIO_GROUPS.join(', ')}`, parseGroups)
    .option(
      '--scenario <patterns>',
      'comma-separated scenario id patterns to run (`*` within a segment, `**` across), e.g. "in-process/*/wasm/b1"',
      (value: string) =>
        value
          .split(',')
          .map((p) => p.trim())
          .filter((p) => p.length > 0),
    )
    .option('--no-charts', 'skip the SVG charts')
    .option(
      '--sla <file>',
      "SLA whose verdict heads report.md and report.html (the gate's SLA checks)",
      DEFAULT_SLA,
    )
    .option(
      '--baseline <file>',
      'a baseline history (bench/baseline-history.json) or one bench report: adds the regression checks to the verdict and draws its newest full report on the charts',
    )
    .action(async (flags: BenchFlags) => {
      const quick = flags.quick === true;
      const config = await loadBenchConfig(flags.config, { quick });
      const uploadSize = flags.uploadSizeFile ? await readUploadSize(flags.uploadSizeFile) : null;
      // Read before measuring: a bad SLA or baseline path should fail in a second, not after the run.
      const sla = await readSla(flags.sla);
      const baseline = flags.baseline === undefined ? undefined : await readBaselineFile(flags.baseline);
      if (baseline !== undefined && baseline.report === undefined && flags.charts) {
        // The charts draw percentiles by batch size, which a history's per-run summaries do not keep.
        process.stderr.write(
          `bench: ${shown(flags.baseline ?? '')} names no full report of its newest run (\`latest\`): the charts draw no baseline\n`,
        );
      }
      const { runBrowserScenarios } = await import('../../bench/scenarios/browser.ts');
      const report = await runBench({
        config,
        mode: quick ? 'quick' : 'full',
        ...(flags.url === undefined ? {} : { url: flags.url }),
        serve: flags.serve === true,
        ...(flags.only === undefined ? {} : { only: flags.only }),
        ...(flags.scenario === undefined ? {} : { scenarios: flags.scenario }),
        uploadSize,
        progress: createProgress(),
        runBrowser: runBrowserScenarios,
      });
      await writeReport(flags.out, report);
      const paths = companionPaths(flags.out);
      const written = [flags.out];
      const gate: ReportGate = {
        result: evaluateGate({
          report,
          sla,
          ...(baseline ? { baseline: baseline.baseline } : {}),
        }),
        sla: shown(flags.sla),
        ...(flags.baseline === undefined ? {} : { baseline: shown(flags.baseline) }),
      };
      const charts = flags.charts
        ? await renderCharts(report, {
            checks: gate.result.checks,
            ...(baseline?.report ? { baseline: baseline.report } : {}),
          })
        : {};
      await mkdir(dirname(flags.out), { recursive: true });
      for (const [name, svg] of Object.entries(charts)) {
        await writeFile(paths.sibling(name), svg);
        written.push(paths.sibling(name));
      }
      const chartLinks = Object.keys(charts).map((name) => basename(paths.sibling(name)));
      await writeFile(paths.markdown, renderReportMarkdown(report, chartLinks, gate));
      written.push(paths.markdown);
      await writeFile(paths.html, await renderReportHtml(report, charts, gate));
      written.push(paths.html);
      const counts = new Map<string, number>();
      for (const s of report.scenarios) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
      process.stdout.write(
        `bench: ${report.scenarios.length} scenarios (${[...counts].map(([k, v]) => `${v} ${k}`).join(', ')}) in ` +
          `${(report.durationMs / 1000).toFixed(0)} s; SLA ${gate.result.passed ? 'PASS' : 'FAIL'} before re-measurement\n` +
          written.map((p) => `  wrote ${relative(process.cwd(), p) || p}\n`).join(''),
      );
      if (report.scenarios.some((s) => s.status === 'errored')) process.exitCode = 1;
    });
}
