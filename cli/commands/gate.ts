// `shipshape gate`: checks a bench report against the SLA and a baseline; exit 0 to release, 1 to stop.
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { effectiveConfig, parseBenchConfig } from '../../bench/config.ts';
import { confirmFailures, evaluateGate, renderGateSummary, type GateResult } from '../../bench/gate/index.ts';
import { readBaseline } from '../../bench/gate/read-baseline.ts';
import { REMEASURE_POLICY, remeasureFailures, type RemeasureOptions } from '../../bench/gate/remeasure.ts';
import { createProgress } from '../../bench/progress.ts';
import { readReport, writeReport, type Report } from '../../bench/report.ts';
import { runBench } from '../../bench/run.ts';
import { readSla } from '../../bench/sla.ts';
import { readUploadSize } from '../../bench/upload-size.ts';
import { companionPaths } from './bench.ts';
import { DEFAULT_SLA } from './defaults.ts';

interface GateFlags {
  report: string;
  baseline?: string;
  sla: string;
  summary?: string;
  uploadSizeFile?: string;
  remeasure: number;
  url?: string;
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 5) {
    throw new InvalidArgumentError('Should be a whole number from 0 to 5.');
  }
  return n;
}

interface BenchRoundOptions {
  readonly report: Report;
  readonly reportPath: string;
  readonly rounds: number;
  readonly url?: string;
}

/**
 * The bench as the re-measure loop's runner: measures the given scenarios with the report's own configuration and
 * mode, and writes each round's report next to the first (`report-remeasure-1.json`, ...).
 */
function benchRound(options: BenchRoundOptions): RemeasureOptions['measure'] {
  return async (scenarios, round) => {
    // Parsed only when something is re-measured: a report whose config this version cannot read still gates.
    const config = effectiveConfig(
      parseBenchConfig(options.report.config, `${options.reportPath} (config)`),
      {
        quick: false,
        baseDir: dirname(options.reportPath),
      },
    );
    process.stderr.write(
      `gate: re-measuring ${scenarios.length} scenario(s) with a failing check (round ${round} of ${options.rounds}): ` +
        `${scenarios.join(', ')}\n`,
    );
    const { runBrowserScenarios } = await import('../../bench/scenarios/browser.ts');
    const rerun = await runBench({
      config,
      mode: options.report.mode,
      ...(options.url === undefined ? { serve: true } : { url: options.url }),
      scenarios,
      uploadSize: options.report.uploadSize,
      progress: createProgress(),
      runBrowser: runBrowserScenarios,
    });
    const path = companionPaths(options.reportPath).sibling(`remeasure-${round}.json`);
    await writeReport(path, rerun);
    return { report: rerun, path: relative(process.cwd(), path) || path };
  };
}

export function registerGate(program: Command): void {
  program
    .command('gate')
    .description(
      'check a bench report against the SLA and a baseline (exit 0 pass, 1 fail); print a Markdown summary',
    )
    .requiredOption('--report <file>', 'the new bench report (JSON)')
    .option(
      '--baseline <file>',
      'what to compare with: a baseline history (bench/baseline-history.json) or one bench report',
    )
    .option('--sla <file>', 'limits and regression thresholds', DEFAULT_SLA)
    .option(
      '--summary <file>',
      'also write the Markdown summary here (e.g. $GITHUB_STEP_SUMMARY; appended to if it exists there); ' +
        'an empty value is ignored',
    )
    .option(
      '--upload-size-file <file>',
      'Worker upload size (JSON or wrangler output); overrides the report’s',
    )
    .option(
      '--remeasure <rounds>',
      'measure scenarios with a failing SLA, regression or capacity-plan check again, up to this many times (0-5); ' +
        `${REMEASURE_POLICY}, else it becomes a warning`,
      parseCount,
      0,
    )
    .option(
      '--url <url>',
      'running service for re-measuring HTTP scenarios (default: start `shipshape serve`)',
    )
    .action(async (flags: GateFlags) => {
      const [report, baseline, sla, uploadSize] = await Promise.all([
        readReport(flags.report),
        flags.baseline === undefined ? undefined : readBaseline(flags.baseline),
        readSla(flags.sla),
        flags.uploadSizeFile === undefined ? undefined : readUploadSize(flags.uploadSizeFile),
      ]);
      const judge = (measured: Report): GateResult =>
        evaluateGate({
          report: measured,
          sla,
          ...(baseline === undefined ? {} : { baseline }),
          ...(uploadSize === undefined ? {} : { uploadSize }),
        });
      const first = judge(report);
      const result = confirmFailures(
        first,
        await remeasureFailures(first, {
          rounds: flags.remeasure,
          judge,
          measure: benchRound({
            report,
            reportPath: flags.report,
            rounds: flags.remeasure,
            ...(flags.url === undefined ? {} : { url: flags.url }),
          }),
        }),
      );
      const markdown = renderGateSummary(result, {
        report: flags.report,
        sla: flags.sla,
        ...(flags.baseline === undefined ? {} : { baseline: flags.baseline }),
        reportInfo: report,
      });
      process.stdout.write(`${markdown}\n`);
      // An empty path is the README's `--summary "$GITHUB_STEP_SUMMARY"` run outside GitHub Actions: no file.
      if (flags.summary !== undefined && flags.summary !== '') {
        if (flags.summary === process.env.GITHUB_STEP_SUMMARY) {
          await appendFile(flags.summary, `${markdown}\n`);
        } else {
          await mkdir(dirname(flags.summary), { recursive: true });
          await writeFile(flags.summary, `${markdown}\n`);
        }
      }
      process.exitCode = result.passed ? 0 : 1;
    });
}
