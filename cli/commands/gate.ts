// `shipshape gate`: checks a bench report against the SLA and a baseline; exit 0 to release, 1 to stop.
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { evaluateGate, renderGateSummary } from '../../bench/gate.ts';
import { readReport } from '../../bench/report.ts';
import { readSla } from '../../bench/sla.ts';
import { readUploadSize } from '../../bench/upload-size.ts';

export const DEFAULT_SLA = fileURLToPath(new URL('../../bench/sla.json', import.meta.url));

interface GateFlags {
  report: string;
  baseline?: string;
  sla: string;
  summary?: string;
  uploadSizeFile?: string;
}

export function registerGate(program: Command): void {
  program
    .command('gate')
    .description(
      'check a bench report against the SLA and a baseline (exit 0 pass, 1 fail); print a Markdown summary',
    )
    .requiredOption('--report <file>', 'the new bench report (JSON)')
    .option('--baseline <file>', 'the report to compare with (e.g. bench/baseline.json)')
    .option('--sla <file>', 'limits and regression thresholds', DEFAULT_SLA)
    .option(
      '--summary <file>',
      'also write the Markdown summary here (e.g. $GITHUB_STEP_SUMMARY; appended to if it exists there)',
    )
    .option(
      '--upload-size-file <file>',
      'Worker upload size (JSON or wrangler output); overrides the report’s',
    )
    .action(async (flags: GateFlags) => {
      const [report, baseline, sla, uploadSize] = await Promise.all([
        readReport(flags.report),
        flags.baseline === undefined ? undefined : readReport(flags.baseline),
        readSla(flags.sla),
        flags.uploadSizeFile === undefined ? undefined : readUploadSize(flags.uploadSizeFile),
      ]);
      const result = evaluateGate({
        report,
        sla,
        ...(baseline === undefined ? {} : { baseline }),
        ...(uploadSize === undefined ? {} : { uploadSize }),
      });
      const markdown = renderGateSummary(result, {
        report: flags.report,
        sla: flags.sla,
        ...(flags.baseline === undefined ? {} : { baseline: flags.baseline }),
        reportInfo: report,
      });
      process.stdout.write(`${markdown}\n`);
      if (flags.summary !== undefined) {
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
