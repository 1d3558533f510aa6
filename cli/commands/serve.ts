// `shipshape serve`: the edge API and the demo page on Node; SIGHUP swaps the model, SIGINT or SIGTERM drain and stop.
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { readSla } from '../../bench/sla.ts';
import { readConfig } from '../../edge/config.ts';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS, startNodeServer, type NodeServer } from '../../edge/node-server.ts';
import { parseThresholds } from '../../runtime/monitor/index.ts';
import type { Thresholds } from '../../runtime/monitor/types.ts';
import { BACKEND_LADDERS, type BackendChoice } from '../../runtime/backends.ts';
import { DEFAULT_BUNDLE, resolveBundleDir } from '../bundle-arg.ts';
import { messageOf } from '../../runtime/errors.ts';

/** The SLA `serve` takes its latency threshold from when `--sla` is not given (if the file exists). */
export const DEFAULT_SERVE_SLA = fileURLToPath(new URL('../../bench/sla.json', import.meta.url));

interface ServeFlags {
  bundle: string;
  port: number;
  host: string;
  backend: BackendChoice;
  shutdownTimeout: number | undefined;
  workers: number;
  skipParity?: true;
  healthConfig?: string;
  sla?: string;
}

/**
 * The latency threshold of an SLA file: the strictest `maxP95Ms` of its `http-open/...` rules (the open-loop HTTP
 * scenarios are what a served request is). Undefined when it has none.
 * @throws SlaError when the file is missing or invalid.
 */
export async function slaLatencyMs(path: string): Promise<number | undefined> {
  const sla = await readSla(path);
  const limits = sla.scenarios.flatMap((rule) =>
    rule.match.startsWith('http-open/') && rule.maxP95Ms !== undefined ? [rule.maxP95Ms] : [],
  );
  return limits.length === 0 ? undefined : Math.min(...limits);
}

/**
 * Reads a health config file: a JSON object with any fields of `Thresholds` (the schema of
 * `SHIPSHAPE_HEALTH_THRESHOLDS`).
 * @throws Error when the file cannot be read as JSON; ShipshapeError INPUT_INVALID naming the field at fault.
 */
export async function readHealthConfig(path: string): Promise<Partial<Thresholds>> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new Error(`--health-config ${path}: cannot read it as JSON (${messageOf(error)}).`, {
      cause: error,
    });
  }
  return parseThresholds(json, `--health-config ${path}`);
}

/**
 * The thresholds `serve` hands the monitor, each source over the one before: the SLA's latency (`--sla`, default
 * bench/sla.json when present), then `SHIPSHAPE_HEALTH_THRESHOLDS`, then `--health-config`. Fields none of them sets
 * keep the defaults the monitor derives from the bundle.
 */
export async function serveThresholds(
  flags: Pick<ServeFlags, 'healthConfig' | 'sla'>,
  env: NodeJS.ProcessEnv,
): Promise<Partial<Thresholds>> {
  const slaPath = flags.sla ?? (existsSync(DEFAULT_SERVE_SLA) ? DEFAULT_SERVE_SLA : undefined);
  const latency = slaPath === undefined ? undefined : await slaLatencyMs(slaPath);
  return {
    ...(latency === undefined ? {} : { maxP95LatencyMs: latency }),
    ...readConfig(env).healthThresholds,
    ...(flags.healthConfig === undefined ? {} : await readHealthConfig(flags.healthConfig)),
  };
}

/** The environment variable behind `--shutdown-timeout`. */
export const SHUTDOWN_TIMEOUT_VARIABLE = 'SHIPSHAPE_SHUTDOWN_TIMEOUT_MS';

const BACKENDS: readonly BackendChoice[] = ['auto', ...BACKEND_LADDERS.node];

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^[0-9]+$/.test(value) || port > 65_535) {
    throw new InvalidArgumentError(
      `"${value}" is not a port; use an integer from 0 to 65535 (0 picks a free one).`,
    );
  }
  return port;
}

function parseWorkers(value: string): number {
  if (!/^[0-9]+$/.test(value.trim()) || Number(value) > 1024) {
    throw new InvalidArgumentError(
      `"${value}" is not a number of workers; use an integer from 0 (the model runs on the event loop's thread) ` +
        'to 1024.',
    );
  }
  return Number(value);
}

const isMilliseconds = (value: string) => /^[0-9]+$/.test(value) && Number.isSafeInteger(Number(value));
const millisecondsHint = 'use a whole number of milliseconds (0 cuts in-flight requests at once)';

function parseMilliseconds(value: string): number {
  if (!isMilliseconds(value)) {
    throw new InvalidArgumentError(`--shutdown-timeout is ${JSON.stringify(value)}; ${millisecondsHint}.`);
  }
  return Number(value);
}

/**
 * The shutdown deadline: the flag, else `SHIPSHAPE_SHUTDOWN_TIMEOUT_MS`, else `DEFAULT_SHUTDOWN_TIMEOUT_MS`.
 * @throws Error naming the variable for a value that is not a whole number of milliseconds.
 */
export function shutdownTimeout(flag: number | undefined, env: NodeJS.ProcessEnv): number {
  if (flag !== undefined) return flag;
  const value = env[SHUTDOWN_TIMEOUT_VARIABLE];
  if (value === undefined || value === '') return DEFAULT_SHUTDOWN_TIMEOUT_MS;
  if (!isMilliseconds(value)) {
    throw new Error(`${SHUTDOWN_TIMEOUT_VARIABLE} is ${JSON.stringify(value)}; ${millisecondsHint}.`);
  }
  return Number(value);
}

/** SIGHUP: reload the bundle directory; the slot logs the outcome, and the server serves on either way. */
async function reloadOnSignal(server: NodeServer): Promise<void> {
  process.stdout.write(`shipshape: SIGHUP: reloading the bundle from ${server.bundle}\n`);
  try {
    await server.reload();
  } catch (error) {
    // The slot logged the cause already; this line says what the operator's signal came to.
    process.stderr.write(`shipshape: ${messageOf(error)}\n`);
  }
}

function parseBackend(value: string): BackendChoice {
  if (!(BACKENDS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(
      `Unsupported backend "${value}". Should be one of: ${BACKENDS.join(', ')}.`,
    );
  }
  return value as BackendChoice;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the HTTP API (/v1, /v2 Open Inference Protocol) and the demo page on Node')
    .option('-b, --bundle <dir>', 'bundle directory', DEFAULT_BUNDLE)
    .addOption(
      new Option('-p, --port <port>', 'port (0 picks a free one)')
        .env('PORT')
        .argParser(parsePort)
        .default(8787),
    )
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--backend <backend>', `backend: ${BACKENDS.join(', ')}`, parseBackend, 'auto' as BackendChoice)
    .addOption(
      new Option(
        '--workers <n>',
        'worker threads that run the model, each with its own session; 0 runs it in-process',
      )
        .env('SHIPSHAPE_WORKERS')
        .argParser(parseWorkers)
        .default(availableParallelism(), 'the available cores'),
    )
    .option(
      '--shutdown-timeout <ms>',
      `on SIGTERM/SIGINT, how long in-flight requests may take to finish (default ${SHUTDOWN_TIMEOUT_VARIABLE} or ` +
        `${DEFAULT_SHUTDOWN_TIMEOUT_MS})`,
      (value: string) => parseMilliseconds(value),
    )
    .option(
      '--health-config <file>',
      'JSON file of health threshold overrides (fields of Thresholds, as SHIPSHAPE_HEALTH_THRESHOLDS; the file wins)',
    )
    .option(
      '--sla <file>',
      'SLA file whose http-open maxP95Ms is the p95 latency threshold (default bench/sla.json when present)',
    )
    .option(
      '--skip-parity',
      'serve without the load-time parity proof (emergencies only; every load logs a warning; ' +
        'env SHIPSHAPE_SKIP_PARITY=1 does the same)',
    )
    .addHelpText(
      'after',
      '\nConfiguration from the environment: SHIPSHAPE_TOKEN, SHIPSHAPE_CORS_ORIGINS, SHIPSHAPE_MAX_BODY_BYTES,\n' +
        'SHIPSHAPE_MAX_TEXTS, SHIPSHAPE_MAX_TEXT_LENGTH, SHIPSHAPE_BATCH_SIZE, SHIPSHAPE_ALLOW_EMPTY_TEXTS,\n' +
        `SHIPSHAPE_ACCESS_LOG, SHIPSHAPE_ADMIN_TOKEN, ${SHUTDOWN_TIMEOUT_VARIABLE}, SHIPSHAPE_WORKERS,\n` +
        'SHIPSHAPE_SKIP_PARITY, SHIPSHAPE_METRICS_PUBLIC, SHIPSHAPE_HEALTH_THRESHOLDS, SHIPSHAPE_ALERT_WEBHOOK\n' +
        '(see README.md).\n' +
        '\nHealth: GET /metrics (Prometheus), GET /v1/health, POST /v1/feedback; health is checked every 10 s and\n' +
        'on every read, and each alert event is one JSON log line ("msg":"alert").\n' +
        '\nThe bundle serves only once its model reproduced parity.jsonl on the serving backend; a refused bundle\n' +
        'exits 1 with its code.\n' +
        '\nSignals: SIGHUP reloads the bundle directory (verified, then swapped in without dropping requests);\n' +
        'SIGTERM or SIGINT drain in-flight requests and exit (1 if the deadline cut some; a second signal kills).\n' +
        'Run it as `node bin/shipshape.js serve` or `./node_modules/.bin/shipshape serve` so signals reach it.',
    )
    .action(async (flags: ServeFlags) => {
      const deadlineMs = shutdownTimeout(flags.shutdownTimeout, process.env);
      const thresholds = await serveThresholds(flags, process.env);
      const server = await startNodeServer({
        thresholds,
        bundle: resolveBundleDir(flags.bundle),
        port: flags.port,
        host: flags.host,
        predictor: { backend: flags.backend },
        workers: flags.workers,
        ...(flags.skipParity === true ? { skipParity: true } : {}),
      });
      // Handlers first, then the line that tells a supervisor (or a test) the server is up and may be signalled.
      const reload = () => void reloadOnSignal(server);
      process.on('SIGHUP', reload);
      const stopped = new Promise<NodeJS.Signals>((resolveStop) => {
        // Handlers go after the first signal, so a second one kills the process the default way.
        const stop = (received: NodeJS.Signals) => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolveStop(received);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      const predictor = server.edge.model.current;
      const model = predictor?.bundle.manifest;
      const threads =
        flags.workers === 0 ? '' : ` (${flags.workers} worker${flags.workers === 1 ? '' : 's'})`;
      process.stdout.write(
        `shipshape serving ${model?.name ?? '?'} ${model?.version ?? ''} on ${predictor?.backend.backend ?? '?'}` +
          `${threads} at ${server.url}\n`,
      );
      const signal = await stopped;
      process.off('SIGHUP', reload);
      process.stdout.write(
        `shipshape: ${signal}: draining, ${server.inFlight} requests in flight, deadline ${deadlineMs} ms\n`,
      );
      const report = await server.shutdown({ deadlineMs });
      if (report.cut > 0) {
        process.stderr.write(
          `shipshape: ${report.cut} requests cut at the deadline (${deadlineMs} ms); ${report.completed} completed\n`,
        );
        process.exitCode = 1;
      } else {
        process.stdout.write(`shipshape: stopped; ${report.completed} requests completed during the drain\n`);
      }
    });
}
