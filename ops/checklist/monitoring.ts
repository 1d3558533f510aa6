// The checklist's monitoring items, against the running service: health endpoints, alert rules, and its logs.
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { RULES_FILE, RULES_TEST_FILE } from '../alerts/rules.ts';
import { messageOf } from '../../runtime/errors.ts';
import type { BackendName } from '../../runtime/types.ts';
import type { ChecklistContext, Finding, Loaded } from './checklist.ts';

const run = promisify(execFile);

const fail = (evidence: string, detail: string): Finding => ({ verdict: 'fail', evidence, detail });
const pass = (evidence: string, detail = ''): Finding => ({ verdict: 'pass', evidence, detail });

/** One answer of the service: its status and body (JSON when it parses, else the text). */
export interface ProbeAnswer {
  readonly status: number;
  readonly body: unknown;
  /** The `X-Request-Id` the probe sent. */
  readonly requestId: string;
}

/** What `GET /v1/models` says is served. */
export interface ServedModel {
  readonly name: string;
  readonly version: string;
  /** The manifest's export time and labels, when the answer has them: they tell two exports of one version apart. */
  readonly createdAt: string | undefined;
  readonly labels: readonly string[] | undefined;
  readonly backend: BackendName | undefined;
}

/** The checklist's requests to the service, each with its own `X-Request-Id` under one prefix. */
export interface Probe {
  /** The base URL, without a trailing slash. */
  readonly base: string;
  get(path: string): Promise<Loaded<ProbeAnswer>>;
  /** `GET /v1/models`, asked once. */
  models(): Promise<Loaded<ServedModel>>;
}

const PROBE_TIMEOUT_MS = 10_000;

/**
 * Probes `url` with `X-Request-Id: PREFIX-<path>` on every request (the access log then shows which lines are the
 * checklist's) and the bearer `token` when given.
 * @throws TypeError for a URL that is not http(s).
 */
export function createProbe(url: string, prefix: string, token?: string): Probe {
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TypeError(
      `--url ${url} is not an http(s) URL; give the service's base URL, e.g. http://127.0.0.1:8787.`,
    );
  }
  const base = parsed.toString().replace(/\/+$/, '');
  const get = async (path: string): Promise<Loaded<ProbeAnswer>> => {
    const requestId = `${prefix}-${path.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '')}`;
    try {
      const response = await fetch(`${base}${path}`, {
        headers: {
          Accept: 'application/json',
          'X-Request-Id': requestId,
          ...(token === undefined || token === '' ? {} : { Authorization: `Bearer ${token}` }),
        },
        signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Not JSON: keep the text.
      }
      return { ok: true, value: { status: response.status, body, requestId } };
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const reason =
        error instanceof Error && error.name === 'TimeoutError'
          ? `no answer within ${PROBE_TIMEOUT_MS} ms`
          : (cause?.code ?? cause?.message ?? messageOf(error));
      return { ok: false, reason: `GET ${base}${path}: ${reason}` };
    }
  };
  let models: Promise<Loaded<ServedModel>> | undefined;
  const askModels = async (): Promise<Loaded<ServedModel>> => {
    const answer = await get('/v1/models');
    if (!answer.ok) return answer;
    const first = (
      answer.value.body as {
        models?: {
          name?: unknown;
          version?: unknown;
          createdAt?: unknown;
          labels?: unknown;
          backend?: unknown;
        }[];
      }
    )?.models?.[0];
    if (answer.value.status !== 200 || typeof first?.name !== 'string' || typeof first.version !== 'string') {
      return {
        ok: false,
        reason: `GET ${base}/v1/models answered ${answer.value.status} ${excerpt(answer.value.body)}`,
      };
    }
    const backend = (first.backend as { backend?: unknown } | undefined)?.backend;
    return {
      ok: true,
      value: {
        name: first.name,
        version: first.version,
        createdAt: typeof first.createdAt === 'string' ? first.createdAt : undefined,
        labels:
          Array.isArray(first.labels) && first.labels.every((label) => typeof label === 'string')
            ? first.labels
            : undefined,
        backend: backend === 'native' || backend === 'wasm' || backend === 'webgpu' ? backend : undefined,
      },
    };
  };
  return { base, get, models: () => (models ??= askModels()) };
}

function excerpt(body: unknown): string {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

interface HealthCheck {
  readonly status?: string;
  readonly value?: number | null;
  readonly threshold?: number;
  readonly severity?: string;
}

/**
 * Health checks configured: `/healthz` and `/readyz` answer 200, `/v1/health` answers 200 with a status (503
 * `failing` names the failing checks), and `/v1/models` serves the bundle being checked: its name and version, and
 * its export time and labels when the answer has them (a same-named edit or re-export is another bundle).
 */
export async function checkHealth(context: ChecklistContext): Promise<Finding> {
  const { probe } = context;
  const [healthz, readyz, health, models] = await Promise.all([
    probe.get('/healthz'),
    probe.get('/readyz'),
    probe.get('/v1/health'),
    probe.models(),
  ]);
  const seen: string[] = [];
  const problems: string[] = [];
  for (const [path, answer] of [
    ['/healthz', healthz],
    ['/readyz', readyz],
  ] as const) {
    if (!answer.ok) problems.push(answer.reason);
    else {
      seen.push(`${path} ${answer.value.status}`);
      if (answer.value.status !== 200) {
        problems.push(`GET ${path} answered ${answer.value.status} ${excerpt(answer.value.body)}`);
      }
    }
  }
  if (!health.ok) problems.push(health.reason);
  else {
    const body = health.value.body as { status?: unknown; checks?: Record<string, HealthCheck> };
    const status = typeof body?.status === 'string' ? body.status : undefined;
    seen.push(`/v1/health ${health.value.status}${status === undefined ? '' : ` (status ${status})`}`);
    if (health.value.status === 503 && status === 'failing') {
      const bad = Object.entries(body.checks ?? {})
        .filter(([, check]) => check.status === 'bad')
        .map(
          ([name, check]) =>
            `${name} ${String(check.value)} (threshold ${String(check.threshold)}, ${check.severity})`,
        );
      problems.push(`GET /v1/health answered 503 failing: ${bad.join('; ') || 'no check named'}`);
    } else if (health.value.status !== 200 || status === undefined) {
      problems.push(`GET /v1/health answered ${health.value.status} ${excerpt(health.value.body)}`);
    }
  }
  if (!models.ok) problems.push(models.reason);
  else {
    const served = models.value;
    seen.push(`/v1/models ${served.name} ${served.version} on ${served.backend ?? 'an unnamed backend'}`);
    const bundle = context.bundle.ok ? context.bundle.value.manifest : undefined;
    if (bundle !== undefined && (bundle.name !== served.name || bundle.version !== served.version)) {
      problems.push(
        `the service serves ${served.name} ${served.version}, not the bundle checked (${bundle.name} ${bundle.version})`,
      );
    } else if (bundle !== undefined) {
      // Same name and version, yet another export or edited labels: the items above judged files it does not serve.
      const differs = [
        served.createdAt !== undefined && served.createdAt !== bundle.createdAt
          ? `exported ${served.createdAt}, the bundle checked ${bundle.createdAt}`
          : undefined,
        served.labels !== undefined && served.labels.join('\u0000') !== bundle.labels.join('\u0000')
          ? `labels ${JSON.stringify(served.labels)}, the bundle checked ${JSON.stringify(bundle.labels)}`
          : undefined,
      ].filter((text) => text !== undefined);
      if (differs.length > 0) {
        problems.push(
          `the service serves another ${served.name} ${served.version} than the bundle checked (${differs.join('; ')})`,
        );
      }
    }
  }
  const evidence = `GET ${probe.base}: ${seen.join(', ') || 'no answer'}`;
  if (problems.length > 0) {
    return fail(
      evidence,
      `${problems.join('; ')}. Start the service with the bundle (it answers /readyz 200 once the model is ` +
        'proven), pass --token when it needs one, and fix the failing health checks.',
    );
  }
  return pass(evidence);
}

async function exists(path: string): Promise<'file' | 'dir' | undefined> {
  try {
    const info = await stat(path);
    return info.isDirectory() ? 'dir' : info.isFile() ? 'file' : undefined;
  } catch {
    return undefined;
  }
}

interface ToolRun {
  readonly code: number | string;
  readonly output: string;
}

async function runTool(command: string, args: readonly string[]): Promise<ToolRun> {
  try {
    const { stdout, stderr } = await run(command, [...args], { timeout: 300_000, maxBuffer: 1 << 24 });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string; killed?: boolean };
    if (failed.killed === true) return { code: 'TIMEOUT', output: 'killed after 300 s' };
    return {
      code: failed.code ?? 1,
      output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` || messageOf(error),
    };
  }
}

/** The last non-empty line of a tool's output (promtool ends with SUCCESS or a summary), for the evidence. */
function lastLine(output: string): string {
  return (
    output
      .trim()
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line.length > 0)
      .at(-1) ?? ''
  );
}

/**
 * Alerts set up: the deployment's rules (`shipshape alerts` output: the rules and their unit tests) exist, are for
 * this bundle's model, and pass `promtool check rules` and `promtool test rules`.
 */
export async function checkAlerts(context: ChecklistContext): Promise<Finding> {
  const given = context.options.rules;
  const kind = await exists(given);
  // A folder (`shipshape alerts --out`), or the rules file itself; a path that is not there is read as a folder
  // unless it names a YAML file.
  const folder = kind === 'dir' || (kind === undefined && !/\.ya?ml$/i.test(given)) ? given : dirname(given);
  const rulesFile = folder === given ? join(given, RULES_FILE) : given;
  const testFile = join(folder, RULES_TEST_FILE);
  const bundle = context.bundle.ok ? context.bundle.value.manifest : undefined;
  const generate =
    `npx shipshape alerts --bundle ${context.options.bundleDir} --sla ${context.options.sla} ` +
    `--out ${folder}`;
  if ((await exists(rulesFile)) !== 'file') {
    return fail(
      `${rulesFile}: missing`,
      `No alert rules at ${rulesFile}: generate them with \`${generate}\`, load them into Prometheus, and pass ` +
        'their folder as --rules.',
    );
  }
  if ((await exists(testFile)) !== 'file') {
    return fail(
      `${testFile}: missing`,
      `No unit tests for the rules at ${testFile}: \`shipshape alerts\` writes them beside the rules; run \`${generate}\`.`,
    );
  }
  if (bundle !== undefined && !(await readFile(rulesFile, 'utf8')).includes(`model="${bundle.name}"`)) {
    return fail(
      rulesFile,
      `${rulesFile} has no rule for model "${bundle.name}": the rules were made for another bundle. Run \`${generate}\`.`,
    );
  }
  const promtool = context.options.promtool ?? 'promtool';
  const check = await runTool(promtool, ['check', 'rules', rulesFile]);
  if (check.code === 'ENOENT') {
    return fail(
      `${promtool}: not found`,
      `${promtool} is not installed, so the rules cannot be checked: on Debian \`apt-get install prometheus\` ` +
        '(it ships promtool), or pass --promtool PATH.',
    );
  }
  if (check.code !== 0) {
    return fail(
      `promtool check rules ${rulesFile}: exit ${check.code}`,
      `promtool refuses the rules: ${lastLine(check.output)}. Regenerate them with \`${generate}\`.`,
    );
  }
  const test = await runTool(promtool, ['test', 'rules', testFile]);
  const evidence =
    `promtool check rules ${rulesFile}: ${lastLine(check.output)}; ` +
    `promtool test rules ${testFile}: ${test.code === 0 ? lastLine(test.output) : `exit ${test.code}`}`;
  if (test.code !== 0) {
    return fail(
      evidence,
      `The rules' unit tests fail (an alert does not fire, or fires when it should not): ` +
        `${excerpt(test.output.trim().split('\n').slice(0, 6).join(' '))}. Regenerate the rules with \`${generate}\`.`,
    );
  }
  return pass(evidence);
}

type LogLine = Record<string, unknown>;

function jsonLines(text: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed === 'object' && parsed !== null) lines.push(parsed as LogLine);
    } catch {
      // A line that only looks like JSON: not structured logging.
    }
  }
  return lines;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Logging implemented, from the service's captured output (`--logs`): a JSON access-log line for one of the
 * checklist's own requests (its request id proves the file is this service's live output), and the alert log: an
 * alert event line (`"event":"alert"`) if one has fired, else the service's startup line naming its alert sinks
 * with `log` among them (a fresh service has fired none). Waits up to `logWaitMs` for the lines to arrive.
 */
export async function checkLogging(context: ChecklistContext): Promise<Finding> {
  const { logs, logWaitMs = 5000 } = context.options;
  if (logs === undefined) {
    return fail(
      'no --logs',
      "A URL alone cannot show a service's logs: pass --logs FILE, the service's captured output (stdout and " +
        "stderr, e.g. `shipshape serve ... > serve.log 2>&1`, or `npm start`'s for the Worker in local workerd).",
    );
  }
  // The health item's requests are the checklist's own; ask once more in case it did not run.
  await context.probe.get('/healthz');
  const deadline = Date.now() + logWaitMs;
  let access: LogLine | undefined;
  let alert: LogLine | undefined;
  let sinks: LogLine | undefined;
  let readError: string | undefined;
  for (;;) {
    try {
      const lines = jsonLines(await readFile(logs, 'utf8'));
      readError = undefined;
      access = lines.find(
        (line) =>
          line.msg === 'request' &&
          typeof line.requestId === 'string' &&
          line.requestId.startsWith(`${context.requestIdPrefix}-`),
      );
      alert = lines.find((line) => line.event === 'alert');
      sinks = lines.find(
        (line) =>
          line.msg === 'alert sinks' && Array.isArray(line.alertSinks) && line.alertSinks.includes('log'),
      );
    } catch (error) {
      readError = messageOf(error);
    }
    if ((access !== undefined && (alert !== undefined || sinks !== undefined)) || Date.now() >= deadline)
      break;
    await sleep(250);
  }
  if (readError !== undefined)
    return fail(`${logs}: unreadable`, `--logs ${logs} cannot be read: ${readError}.`);
  const problems: string[] = [];
  const found: string[] = [];
  if (access === undefined) {
    problems.push(
      `no JSON access-log line for the checklist's requests (X-Request-Id ${context.requestIdPrefix}-*) within ` +
        `${logWaitMs} ms: the access log is off (SHIPSHAPE_ACCESS_LOG=off) or ${logs} is not this service's output`,
    );
  } else {
    found.push(
      `access-log line for ${String(access.requestId)} (${String(access.method)} ${String(access.route)} ${String(access.status)})`,
    );
  }
  if (alert !== undefined) {
    found.push(`alert log line (${String(alert.kind)} ${String(alert.check)} at ${String(alert.time)})`);
  } else if (sinks !== undefined) {
    found.push(
      `no alert has fired; startup line "alert sinks" ${JSON.stringify(sinks.alertSinks)} at ${String(sinks.time)}`,
    );
  } else {
    problems.push(
      'no alert log line and no startup line naming the log among its alert sinks ("msg":"alert sinks"): this ' +
        'service would not log its alerts, or its startup was not captured',
    );
  }
  const evidence = `${logs}: ${found.join('; ') || 'no structured line of this service'}`;
  if (problems.length > 0) {
    return fail(
      evidence,
      `${problems.join('; ')}. Capture the service's whole output from its start into --logs.`,
    );
  }
  return pass(evidence);
}
