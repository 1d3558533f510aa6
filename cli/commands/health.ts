// `shipshape health`: asks a running service for its health checks, prints them, and exits 0/1/2 for canaries and cron.
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { z } from 'zod';
import { CHECK_NAMES } from '../../runtime/monitor/types.ts';
import { CodedError, messageOf, type CodedErrorOptions } from '../../runtime/errors.ts';

interface HealthFlags {
  url: string;
  token?: string;
  json?: true;
  timeout: number;
}

/** Exit codes: 0 ok or degraded, 1 failing, 2 no health answer (unreachable, refused, or not shipshape's). */
export const HEALTH_EXIT = Object.freeze({ healthy: 0, failing: 1, noAnswer: 2 });

const DEFAULT_TIMEOUT_MS = 10_000;

/** What the command reads of a `GET /v1/health` answer (the HealthReport of runtime/monitor/types.ts). */
const checkSchema = z.looseObject({
  name: z.string(),
  status: z.enum(['ok', 'bad', 'insufficient_data', 'unavailable']),
  value: z.number().nullable(),
  threshold: z.number(),
  direction: z.enum(['max', 'min']),
  samples: z.number(),
  minSamples: z.number(),
  severity: z.enum(['warning', 'critical']),
  detail: z.string(),
});
const reportSchema = z.looseObject({
  status: z.enum(['ok', 'degraded', 'failing']),
  model: z.object({ name: z.string(), version: z.string() }),
  checkedAt: z.string(),
  checks: z.record(z.string(), checkSchema),
  alerts: z.array(z.object({ check: z.string(), state: z.string(), since: z.string() })),
});
export type HealthAnswer = z.infer<typeof reportSchema>;

const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

/** Why there is no health report to print, as one line for stderr. */
export class NoHealthAnswer extends CodedError<'HEALTH_NO_ANSWER'> {
  override readonly name = 'NoHealthAnswer';

  constructor(message: string, options?: CodedErrorOptions) {
    super('HEALTH_NO_ANSWER', message, options);
  }
}

/** The health endpoint of a service URL: `URL/v1/health`, unless the URL already names it. */
export function healthUrl(url: string): string {
  const parsed = new URL(url);
  if (!parsed.pathname.replace(/\/+$/, '').endsWith('/v1/health')) {
    parsed.pathname = `${parsed.pathname.replace(/\/+$/, '')}/v1/health`;
  }
  return parsed.toString();
}

/**
 * Fetches and validates the service's health report (a 503 with a report is a failing service, not an error).
 * @throws NoHealthAnswer when the service is unreachable, times out, answers an error (401 without a token, 503
 *   NOT_READY while loading) or answers something that is not a shipshape health report.
 */
export async function fetchHealth(
  url: string,
  options: { token?: string; timeoutMs?: number } = {},
): Promise<HealthAnswer> {
  const target = healthUrl(url);
  let response: Response;
  try {
    response = await fetch(target, {
      headers: {
        Accept: 'application/json',
        ...(options.token === undefined ? {} : { Authorization: `Bearer ${options.token}` }),
      },
      signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason =
      error instanceof Error && error.name === 'TimeoutError'
        ? `no answer within ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`
        : (cause?.code ?? cause?.message ?? messageOf(error));
    throw new NoHealthAnswer(`${target} is unreachable (${reason}).`);
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new NoHealthAnswer(
      `${target} answered ${response.status} with a body that is not JSON; is it a shipshape service?`,
    );
  }
  const report = reportSchema.safeParse(json);
  if (report.success) return report.data;
  const error = errorSchema.safeParse(json);
  if (error.success) {
    const { code, message } = error.data.error;
    const hint = code === 'UNAUTHORIZED' ? ' Pass --token (or set SHIPSHAPE_TOKEN).' : '';
    throw new NoHealthAnswer(`${target} answered ${response.status} ${code}: ${message}${hint}`);
  }
  throw new NoHealthAnswer(
    `${target} answered ${response.status} with JSON that is not a shipshape health report ` +
      `(${report.error.issues[0]?.path.join('.') ?? 'body'}: ${report.error.issues[0]?.message ?? 'invalid'}).`,
  );
}

function showNumber(value: number | null): string {
  if (value === null) return '-';
  if (Number.isInteger(value)) return String(value);
  return Number(value.toPrecision(4)).toString();
}

/** The report as a table: one row per check, then the overall status and the alerts firing. */
export function formatHealth(report: HealthAnswer): string {
  const known = CHECK_NAMES.filter((name) => report.checks[name] !== undefined);
  const others = Object.keys(report.checks).filter(
    (name) => !(CHECK_NAMES as readonly string[]).includes(name),
  );
  const rows = [...known, ...others].map((name) => {
    const check = report.checks[name]!;
    return [
      name,
      check.status,
      showNumber(check.value),
      `${check.direction === 'max' ? '<=' : '>='} ${showNumber(check.threshold)}`,
      `${check.samples}/${check.minSamples}`,
    ];
  });
  const header = ['check', 'status', 'value', 'threshold', 'samples'];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i >= 2 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const firing = report.alerts.filter((alert) => alert.state === 'firing');
  return [
    `${report.model.name} ${report.model.version}, checked ${report.checkedAt}`,
    line(header),
    line(widths.map((width) => '-'.repeat(width))),
    ...rows.map(line),
    '',
    `status: ${report.status}`,
    `alerts firing: ${firing.length === 0 ? 'none' : firing.map((a) => `${a.check} (since ${a.since})`).join(', ')}`,
  ].join('\n');
}

function parseTimeout(value: string): number {
  if (!/^[1-9][0-9]*$/.test(value)) {
    throw new InvalidArgumentError(
      `"${value}" is not a timeout; use a whole number of milliseconds above 0.`,
    );
  }
  return Number(value);
}

export function registerHealth(program: Command): void {
  program
    .command('health')
    .description("print a running service's health checks; exit 0 ok or degraded, 1 failing, 2 no answer")
    .requiredOption('--url <url>', 'the service, e.g. http://127.0.0.1:8787 (GET <url>/v1/health)')
    .addOption(new Option('--token <token>', 'bearer token of the service').env('SHIPSHAPE_TOKEN'))
    .option('--json', 'print the health report as JSON')
    .option('--timeout <ms>', 'how long to wait for the answer', parseTimeout, DEFAULT_TIMEOUT_MS)
    .action(async (flags: HealthFlags) => {
      let report: HealthAnswer;
      try {
        report = await fetchHealth(flags.url, {
          ...(flags.token === undefined ? {} : { token: flags.token }),
          timeoutMs: flags.timeout,
        });
      } catch (error) {
        if (!(error instanceof NoHealthAnswer || error instanceof TypeError)) throw error;
        // TypeError: an invalid --url.
        process.stderr.write(`shipshape health: ${error.message}\n`);
        process.exitCode = HEALTH_EXIT.noAnswer;
        return;
      }
      process.stdout.write(`${flags.json === true ? JSON.stringify(report) : formatHealth(report)}\n`);
      process.exitCode = report.status === 'failing' ? HEALTH_EXIT.failing : HEALTH_EXIT.healthy;
    });
}
