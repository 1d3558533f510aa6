// The deployment checklist: the seed's nine items, each judged with evidence against a real deployment candidate.
import { randomBytes } from 'node:crypto';
import type { Baseline } from '../../bench/gate/baseline.ts';
import { readBaseline } from '../../bench/gate/read-baseline.ts';
import { readReport, type Report } from '../../bench/report.ts';
import { readSla, type Sla } from '../../bench/sla.ts';
import { loadBundle } from '../../runtime/bundle/index.ts';
import { isShipshapeError, messageOf } from '../../runtime/errors.ts';
import { directorySource } from '../../runtime/node.ts';
import type { BackendName, Bundle } from '../../runtime/types.ts';
import { checkConfigs, checkPreprocessing, checkVocabulary } from './artifacts.ts';
import { checkAlerts, checkHealth, checkLogging, createProbe, type Probe } from './monitoring.ts';
import { checkBatching, checkLatency, checkMemory } from './performance.ts';

export const ITEM_IDS = [
  'vocabulary',
  'configs',
  'preprocessing',
  'batching',
  'memory',
  'latency',
  'health-checks',
  'alerts',
  'logging',
] as const;
export type ItemId = (typeof ITEM_IDS)[number];
export type ItemGroup = 'Model artifacts' | 'Performance' | 'Monitoring';

/** What one item found: `evidence` is the command or file that proves it; `detail` says what to do on a fail. */
export interface Finding {
  readonly verdict: 'pass' | 'fail';
  readonly evidence: string;
  readonly detail: string;
  /**
   * Files the item read besides the options' own (the latency item's re-measurement reports), so the blessing can
   * bind the verdict to them too.
   */
  readonly reads?: readonly string[];
}

export interface ItemResult extends Finding {
  readonly id: ItemId;
  readonly group: ItemGroup;
  readonly title: string;
}

/** The items as the seed's checklist words them, in its order. */
export const ITEMS: Readonly<Record<ItemId, { readonly group: ItemGroup; readonly title: string }>> = {
  vocabulary: { group: 'Model artifacts', title: 'Full vocabulary exported' },
  configs: { group: 'Model artifacts', title: 'All configs saved' },
  preprocessing: { group: 'Model artifacts', title: 'Preprocessing matches training' },
  batching: { group: 'Performance', title: 'Batch inference implemented' },
  memory: { group: 'Performance', title: 'Memory usage optimized' },
  latency: { group: 'Performance', title: 'Latency requirements met' },
  'health-checks': { group: 'Monitoring', title: 'Health checks configured' },
  alerts: { group: 'Monitoring', title: 'Alerts set up' },
  logging: { group: 'Monitoring', title: 'Logging implemented' },
};

export type Target = 'node' | 'workers';

export interface ChecklistOptions {
  /** The bundle folder (resolved: a path, not a name). */
  readonly bundleDir: string;
  /** The bench report (`shipshape bench --out`). */
  readonly report: string;
  /** The SLA file (bench/sla.json). */
  readonly sla: string;
  /**
   * The gate's baseline: a history (bench/baseline-history.json) or one report; without one the gate checks the SLA
   * only.
   */
  readonly baseline?: string;
  /** The deployment candidate's base URL. */
  readonly url: string;
  /** Bearer token for the service's /v1 routes, when it needs one. */
  readonly token?: string;
  /** The service's captured output (stdout and stderr), for the logging item. Without it that item fails. */
  readonly logs?: string;
  /** The alert rules: `shipshape alerts`' output folder, or its rules file (the unit tests beside it). */
  readonly rules: string;
  /** Where it will run: decides the default backend (native on Node, wasm on Workers). Default 'node'. */
  readonly target?: Target;
  /** The backend to prove and judge when the URL's /v1/models does not say which one serves. */
  readonly backend?: BackendName;
  /** The serving batch size (edge config batchSize, SHIPSHAPE_BATCH_SIZE). Default 32. */
  readonly batchSize?: number;
  /** The items to run, in the checklist's order whatever the order here. Default every item. */
  readonly items?: readonly ItemId[];
  /** How long the logging item waits for the probes' access-log lines to reach `logs`, ms. Default 5000. */
  readonly logWaitMs?: number;
  /** The promtool executable. Default `promtool` on the PATH. */
  readonly promtool?: string;
}

export interface ChecklistResult {
  readonly passed: boolean;
  readonly checkedAt: string;
  readonly bundle: { readonly dir: string; readonly name: string; readonly version: string } | null;
  /** The backend the artifacts and performance items judged, and how it was chosen. */
  readonly backend: { readonly name: BackendName; readonly source: string };
  readonly url: string;
  /** The prefix of the `X-Request-Id` of every probe request, as the access log shows it. */
  readonly requestIdPrefix: string;
  readonly items: readonly ItemResult[];
}

/** Either a value read once for several items, or why it could not be read (each item that needs it fails so). */
export type Loaded<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/** What every item may read: loaded once, shared. */
export interface ChecklistContext {
  readonly options: ChecklistOptions;
  readonly bundle: Loaded<Bundle>;
  readonly report: Loaded<Report>;
  readonly sla: Loaded<Sla>;
  readonly baseline: Loaded<Baseline> | undefined;
  readonly backend: { readonly name: BackendName; readonly source: string };
  readonly batchSize: number;
  readonly probe: Probe;
  /** The prefix of every probe's `X-Request-Id`. */
  readonly requestIdPrefix: string;
}

async function attempt<T>(read: () => Promise<T>): Promise<Loaded<T>> {
  try {
    return { ok: true, value: await read() };
  } catch (error) {
    const code = isShipshapeError(error) ? `${error.code}: ` : '';
    return { ok: false, reason: `${code}${messageOf(error)}` };
  }
}

type Check = (context: ChecklistContext) => Finding | Promise<Finding>;

const CHECKS: Readonly<Record<ItemId, Check>> = {
  vocabulary: checkVocabulary,
  configs: checkConfigs,
  preprocessing: checkPreprocessing,
  batching: checkBatching,
  memory: checkMemory,
  latency: checkLatency,
  'health-checks': checkHealth,
  alerts: checkAlerts,
  logging: checkLogging,
};

/**
 * Which backend serves: what the URL's `GET /v1/models` says, else `options.backend`, else native on Node and wasm
 * on Workers (the only backend a Worker has).
 */
async function servingBackend(
  options: ChecklistOptions,
  probe: Probe,
): Promise<{ name: BackendName; source: string }> {
  const models = await probe.models();
  const served = models.ok ? models.value.backend : undefined;
  if (served !== undefined) return { name: served, source: `GET ${probe.base}/v1/models` };
  if (options.backend !== undefined) return { name: options.backend, source: '--backend' };
  const target = options.target ?? 'node';
  return { name: target === 'workers' ? 'wasm' : 'native', source: `the default for --target ${target}` };
}

/**
 * Runs the checklist: every item (or `options.items`) at once, each judged pass or fail with its evidence. An item
 * whose check throws unexpectedly fails with the error's message rather than stopping the others.
 * @throws TypeError for a `url` that is not an http(s) URL.
 */
export async function runChecklist(options: ChecklistOptions): Promise<ChecklistResult> {
  const requestIdPrefix = `checklist-${randomBytes(6).toString('hex')}`;
  const probe = createProbe(options.url, requestIdPrefix, options.token);
  const [bundle, report, sla, baseline, backend] = await Promise.all([
    attempt(() => loadBundle(directorySource(options.bundleDir))),
    attempt(() => readReport(options.report)),
    attempt(() => readSla(options.sla)),
    options.baseline === undefined ? undefined : attempt(() => readBaseline(options.baseline!)),
    servingBackend(options, probe),
  ]);
  const context: ChecklistContext = {
    options,
    bundle,
    report,
    sla,
    baseline,
    backend,
    batchSize: options.batchSize ?? 32,
    probe,
    requestIdPrefix,
  };
  const wanted = new Set(options.items ?? ITEM_IDS);
  const ids = ITEM_IDS.filter((id) => wanted.has(id));
  const items = await Promise.all(
    ids.map(async (id): Promise<ItemResult> => {
      let finding: Finding;
      try {
        finding = await CHECKS[id](context);
      } catch (error) {
        finding = {
          verdict: 'fail',
          evidence: 'the check did not finish',
          detail: `The check failed unexpectedly: ${messageOf(error)}`,
        };
      }
      return { id, ...ITEMS[id], ...finding };
    }),
  );
  return {
    passed: items.every((item) => item.verdict === 'pass'),
    checkedAt: new Date().toISOString(),
    bundle: bundle.ok
      ? {
          dir: options.bundleDir,
          name: bundle.value.manifest.name,
          version: bundle.value.manifest.version,
        }
      : null,
    backend,
    url: probe.base,
    requestIdPrefix,
    items,
  };
}
