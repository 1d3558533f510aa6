// `shipshape checklist`: the deployment checklist against a running candidate, with evidence; optionally a blessing.
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { createBlessing, DEFAULT_BLESSING, writeBlessing } from '../../ops/checklist/blessing.ts';
import { runChecklist, type ChecklistOptions, type Target } from '../../ops/checklist/checklist.ts';
import { renderMarkdown, renderText } from '../../ops/checklist/render.ts';
import type { BackendName } from '../../runtime/types.ts';
import { DEFAULT_BUNDLE, resolveBundleDir } from '../bundle-arg.ts';
import { DEFAULT_SLA } from './defaults.ts';

interface ChecklistFlags {
  bundle: string;
  report: string;
  sla: string;
  baseline?: string;
  url: string;
  token?: string;
  logs?: string;
  rules: string;
  target: Target;
  backend?: BackendName;
  batchSize: number;
  promtool?: string;
  markdown?: string;
  json?: string;
  bless?: string | true;
}

function parseBatchSize(value: string): number {
  if (!/^[1-9][0-9]*$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError(`expected an integer >= 1, got "${value}".`);
  }
  return Number(value);
}

/** The service's base URL: http(s) only, so that a typo is a usage error (exit 2) and not nine failed items. */
function parseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(
      `expected the service's base URL, e.g. http://127.0.0.1:8787, got "${value}".`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(`expected an http(s) URL, e.g. http://127.0.0.1:8787, got "${value}".`);
  }
  return value;
}

/** A path as a person reads it: relative to the working directory when inside it (the blessing keeps it so). */
function shown(path: string): string {
  const inside = relative(process.cwd(), path);
  return inside !== '' && !inside.startsWith('..') && !isAbsolute(inside) ? inside : path;
}

async function writeOut(path: string, text: string): Promise<void> {
  if (path === process.env.GITHUB_STEP_SUMMARY) {
    await appendFile(path, text);
    return;
  }
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}

export function registerChecklist(program: Command): void {
  program
    .command('checklist')
    .description(
      'run the deployment checklist against a running service: each item with its verdict and evidence (exit 0 only when all pass)',
    )
    .option(
      '-b, --bundle <dir>',
      'the bundle being deployed (a folder or a name under artifacts/)',
      DEFAULT_BUNDLE,
    )
    .option('--report <file>', 'bench report (shipshape bench --out)', 'out/report.json')
    .option('--sla <file>', 'SLA the gate checks the report against', DEFAULT_SLA)
    .option(
      '--baseline <file>',
      'baseline history or report for the gate’s regression checks (default: the SLA only)',
    )
    .addOption(
      new Option('--url <url>', 'the running service, e.g. http://127.0.0.1:8787')
        .argParser(parseUrl)
        .makeOptionMandatory(),
    )
    .addOption(new Option('--token <token>', 'bearer token for the service').env('SHIPSHAPE_TOKEN'))
    .option('--logs <file>', "the service's captured output (stdout and stderr), for the logging item")
    .option(
      '--rules <path>',
      'alert rules: `shipshape alerts` output folder, or its rules file',
      'out/alerts',
    )
    .addOption(
      new Option('--target <target>', 'where it deploys: node (backend native) or workers (wasm)')
        .choices(['node', 'workers'])
        .default('node'),
    )
    .addOption(
      new Option(
        '--backend <backend>',
        'backend to judge when the service does not say (GET /v1/models)',
      ).choices(['native', 'wasm']),
    )
    .addOption(
      new Option('--batch-size <n>', 'the serving batch size (the edge config batchSize)')
        .env('SHIPSHAPE_BATCH_SIZE')
        .argParser(parseBatchSize)
        .default(32),
    )
    .option('--promtool <path>', 'promtool executable (default: promtool on the PATH)')
    .option(
      '--markdown <file>',
      'also write the result as Markdown (e.g. $GITHUB_STEP_SUMMARY, appended there)',
    )
    .option('--json <file>', 'also write the result as JSON')
    .option(
      '--bless [file]',
      `write a blessing for npm run deploy (default ${DEFAULT_BLESSING}), even when items fail`,
    )
    .action(async (flags: ChecklistFlags) => {
      const options: ChecklistOptions = {
        bundleDir: shown(resolveBundleDir(flags.bundle)),
        report: flags.report,
        sla: shown(flags.sla),
        url: flags.url,
        rules: flags.rules,
        target: flags.target,
        batchSize: flags.batchSize,
        ...(flags.baseline === undefined ? {} : { baseline: flags.baseline }),
        ...(flags.token === undefined || flags.token === '' ? {} : { token: flags.token }),
        ...(flags.logs === undefined ? {} : { logs: flags.logs }),
        ...(flags.backend === undefined ? {} : { backend: flags.backend }),
        ...(flags.promtool === undefined ? {} : { promtool: flags.promtool }),
      };
      const result = await runChecklist(options);
      process.stdout.write(renderText(result));
      if (flags.markdown !== undefined) await writeOut(flags.markdown, renderMarkdown(result));
      if (flags.json !== undefined) await writeOut(flags.json, `${JSON.stringify(result, null, 2)}\n`);
      if (flags.bless !== undefined) {
        const path = flags.bless === true ? DEFAULT_BLESSING : flags.bless;
        await writeBlessing(path, await createBlessing(result, options));
        process.stdout.write(`${result.passed ? 'Blessed' : 'Not blessed (items failed)'}: wrote ${path}\n`);
      }
      process.exitCode = result.passed ? 0 : 1;
    });
}
