// `shipshape baseline`: records bench runs into the baseline history, shows it, and charts its trend.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { InvalidArgumentError, type Command } from 'commander';
import {
  appendRun,
  DEFAULT_KEEP,
  historyRunOf,
  readBaselineHistory,
  writeBaselineHistory,
  type BaselineHistory,
} from '../../bench/baseline-history.ts';
import { describeHistory, trendSpec } from '../../bench/baseline-trend.ts';
import { renderSvg } from '../../bench/charts.ts';
import { readReport } from '../../bench/report.ts';

export const DEFAULT_HISTORY = 'bench/baseline-history.json';
export const DEFAULT_LATEST = 'bench/baseline.json';

interface RecordFlags {
  report: string;
  history: string;
  keep: number;
  /** A path, or false for --no-latest. */
  latest: string | false;
}

function parseKeep(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100)
    throw new InvalidArgumentError('Should be a whole number from 1 to 100.');
  return n;
}

/** The checkout's commit, or null outside a git checkout (an unpacked release, a CI cache without .git). */
async function gitCommit(): Promise<string | null> {
  try {
    const { stdout } = await promisify(execFile)('git', ['rev-parse', 'HEAD'], { timeout: 10_000 });
    return stdout.trim() || null;
  } catch {
    return null;
  }
}

async function readHistoryIfAny(path: string): Promise<BaselineHistory | undefined> {
  try {
    return await readBaselineHistory(path);
  } catch (error) {
    // Only a missing file starts a new history; an unreadable or invalid one must not be overwritten.
    if ((error as { cause?: { code?: unknown } }).cause?.code === 'ENOENT') return undefined;
    throw error;
  }
}

/** A path as the user would type it: relative within the working folder, as given outside it. */
function display(path: string): string {
  const inside = relative(process.cwd(), path);
  return inside === '' || inside.startsWith('..') || isAbsolute(inside) ? path : inside;
}

export function registerBaseline(program: Command): void {
  const baseline = program
    .command('baseline')
    .description(
      'record bench runs into the baseline history the gate compares with; show it; chart its trend',
    );

  baseline
    .command('record')
    .description(
      'append a bench report to the history (keeping the newest --keep runs) and make it the latest baseline',
    )
    .requiredOption('--report <file>', 'the bench report to record (JSON)')
    .option('--history <file>', 'the baseline history', DEFAULT_HISTORY)
    .option('--keep <runs>', 'runs to keep; the oldest beyond are dropped', parseKeep, DEFAULT_KEEP)
    .option('--latest <file>', 'also copy the report here, as the latest full baseline', DEFAULT_LATEST)
    .option('--no-latest', 'do not copy the report')
    .action(async (flags: RecordFlags) => {
      const [report, history, commit] = await Promise.all([
        readReport(flags.report),
        readHistoryIfAny(flags.history),
        gitCommit(),
      ]);
      const run = historyRunOf(report, { source: display(flags.report), commit });
      const latest =
        flags.latest === false
          ? undefined
          : relative(dirname(flags.history), flags.latest).split(sep).join('/');
      const next = appendRun(history, run, flags.keep, latest);
      const dropped = (history?.runs.length ?? 0) + 1 - next.runs.length;
      await writeBaselineHistory(flags.history, next);
      process.stderr.write(
        `baseline: recorded ${display(flags.report)} (${report.mode}, ${report.createdAt}, ` +
          `${report.machine.cpuModel} x${report.machine.cores}, load ${report.machine.loadAverage.map((l) => l.toFixed(2)).join(' ')}) ` +
          `into ${display(flags.history)}: ${next.runs.length} run(s)` +
          (dropped > 0 ? `, dropped the oldest ${dropped}` : '') +
          '\n',
      );
      // Recording the latest baseline itself (`--report bench/baseline.json`) leaves it where it is.
      if (flags.latest !== false && resolve(flags.latest) !== resolve(flags.report)) {
        await mkdir(dirname(flags.latest), { recursive: true });
        await copyFile(flags.report, flags.latest);
        process.stderr.write(`baseline: ${display(flags.latest)} is now ${display(flags.report)}\n`);
      }
    });

  baseline
    .command('show')
    .description(
      'print the recorded runs (date, machine, load) and per metric its median and spread across them',
    )
    .option('--history <file>', 'the baseline history', DEFAULT_HISTORY)
    .action(async (flags: { history: string }) => {
      const history = await readBaselineHistory(flags.history);
      process.stdout.write(describeHistory(history, display(flags.history)));
    });

  baseline
    .command('trend')
    .description(
      'draw each metric over the recorded runs, relative to its median, one panel per scenario (SVG)',
    )
    .option('--history <file>', 'the baseline history', DEFAULT_HISTORY)
    .requiredOption('--out <file>', 'the SVG to write')
    .action(async (flags: { history: string; out: string }) => {
      const history = await readBaselineHistory(flags.history);
      const svg = await renderSvg(trendSpec(history));
      await mkdir(dirname(flags.out), { recursive: true });
      await writeFile(flags.out, svg);
      process.stderr.write(`baseline: wrote ${display(flags.out)} (${history.runs.length} runs)\n`);
    });
}
