// `shipshape alerts`: writes Prometheus recording and alerting rules for a bundle, and the promtool unit tests that
// prove each alert, from the same thresholds the service's monitor uses.
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { stringify } from 'yaml';
import { matchesScenario, readSla, type Sla } from '../../bench/sla.ts';
import { createAlertRules, type AlertRules } from '../../ops/alerts/rules.ts';
import { ShipshapeError } from '../../runtime/errors.ts';
import { defaultThresholds, parseThresholds } from '../../runtime/monitor/index.ts';
import { DEFAULT_BUNDLE, loadBundleDir } from '../bundle-arg.ts';
import { DEFAULT_SLA } from './gate.ts';

export const RULES_FILE = 'shipshape.rules.yml';
export const RULES_TEST_FILE = 'shipshape.rules.test.yml';

interface AlertsFlags {
  bundle: string;
  out: string;
  sla: string;
  healthConfig?: string;
  availabilityObjective: number;
  latencyObjective: number;
}

function parseObjective(value: string): number {
  const n = Number(value);
  if (!(n >= 0.95 && n < 1))
    throw new InvalidArgumentError('Should be a share from 0.95 up to 1, e.g. 0.999.');
  return n;
}

/**
 * The SLA's p95 line for requests over HTTP: the `maxP95Ms` of the first rule matching the open-loop scenarios
 * (`http-open/*`), the load most like production traffic. Undefined when the SLA has none.
 */
export function slaP95LatencyMs(sla: Sla): number | undefined {
  // A pattern matches the literal id `http-open/*` exactly when it matches every open-loop scenario id.
  return sla.scenarios.find(
    (rule) => rule.maxP95Ms !== undefined && matchesScenario(rule.match, 'http-open/*'),
  )?.maxP95Ms;
}

async function readHealthConfig(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch (error) {
    throw new ShipshapeError(
      'INPUT_INVALID',
      `--health-config ${path}: cannot read it as JSON (${(error as Error).message}). Give a JSON object of thresholds.`,
      { cause: error },
    );
  }
}

const YAML_OPTIONS = { lineWidth: 0 } as const;

/** The text `shipshape alerts` prints: what was written, the objectives, one row per alert. */
export function describeAlertRules(rules: AlertRules, files: { rules: string; tests: string }): string {
  const testCount = rules.tests.tests.length;
  const rows = rules.alerts.map((a) => `| ${a.alert} | ${a.severity} | ${a.condition} | ${a.for} |`);
  const alerting = rules.alerts.length;
  return [
    `Wrote ${files.rules} (${rules.recordingRules} recording rules, ${alerting} alerts) and ${files.tests} (${testCount} unit tests).`,
    `Check them: promtool check rules ${files.rules} && promtool test rules ${files.tests}`,
    '',
    `SLOs over 30 days on /v1/predict and v2 infer: availability ${rules.objectives.availability} without a 5xx; ` +
      `latency ${rules.objectives.latency} within le="${rules.latencyBucket}" s.`,
    'Burn-rate alerts need the rate over both windows: 14.4x over 1h and 5m (page), 6x over 6h and 30m (page), ' +
      '1x over 3d and 6h (ticket).',
    '',
    '| alert | severity | fires when | for |',
    '| --- | --- | --- | --- |',
    ...rows,
    ...(rules.omitted.length === 0 ? [] : ['', ...rules.omitted.map((o) => `Not generated: ${o}.`)]),
    '',
  ].join('\n');
}

export function registerAlerts(program: Command): void {
  program
    .command('alerts')
    .description('write Prometheus recording and alerting rules for a bundle, and their promtool unit tests')
    .option(
      '-b, --bundle <dir>',
      'bundle directory (its reference statistics set the thresholds)',
      DEFAULT_BUNDLE,
    )
    .requiredOption('-o, --out <dir>', `folder for ${RULES_FILE} and ${RULES_TEST_FILE}`)
    .option('--sla <file>', "SLA file: its http-open p95 line is the latency SLO's", DEFAULT_SLA)
    .option(
      '--health-config <file>',
      'JSON thresholds overriding the defaults (as `shipshape serve` takes them)',
    )
    .option(
      '--availability-objective <share>',
      'share of inference requests without a 5xx',
      parseObjective,
      0.999,
    )
    .option(
      '--latency-objective <share>',
      'share of inference requests within the p95 line',
      parseObjective,
      0.95,
    )
    .action(async (flags: AlertsFlags) => {
      const bundle = await loadBundleDir(flags.bundle, { verify: 'serving' });
      const sla = await readSla(flags.sla);
      const maxP95LatencyMs = slaP95LatencyMs(sla);
      const overrides =
        flags.healthConfig === undefined
          ? {}
          : parseThresholds(
              await readHealthConfig(flags.healthConfig),
              `--health-config ${flags.healthConfig}`,
            );
      const thresholds = {
        ...defaultThresholds(bundle.manifest, maxP95LatencyMs === undefined ? {} : { maxP95LatencyMs }),
        ...overrides,
      };
      const rules = createAlertRules({
        manifest: bundle.manifest,
        thresholds,
        availabilityObjective: flags.availabilityObjective,
        latencyObjective: flags.latencyObjective,
        rulesFileName: RULES_FILE,
      });
      const header = `# Generated by \`shipshape alerts\` for ${bundle.manifest.name} ${bundle.manifest.version}; regenerate, do not edit.\n`;
      const files = { rules: join(flags.out, RULES_FILE), tests: join(flags.out, RULES_TEST_FILE) };
      await mkdir(flags.out, { recursive: true });
      await writeFile(files.rules, header + stringify(rules.rules, YAML_OPTIONS));
      await writeFile(files.tests, header + stringify(rules.tests, YAML_OPTIONS));
      process.stdout.write(describeAlertRules(rules, files));
    });
}
