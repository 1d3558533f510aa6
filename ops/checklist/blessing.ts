// The blessing: a checklist run's verdicts bound to the exact bundle, report and SLA it judged, for `npm run deploy`.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { isBaselineHistoryJson } from '../../bench/baseline-history.ts';
import { formatIssues } from '../../bench/report.ts';
import { messageOf } from '../../runtime/errors.ts';
import type { BackendName } from '../../runtime/types.ts';
import { ITEM_IDS, type ChecklistOptions, type ChecklistResult, type Target } from './checklist.ts';

export const DEFAULT_BLESSING = 'out/blessing.json';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const hashedFile = z.object({ path: z.string(), sha256 }).strict();

export const blessingSchema = z
  .object({
    schemaVersion: z.literal(1),
    tool: z.literal('shipshape-checklist'),
    /** True only when every item passed. */
    blessed: z.boolean(),
    createdAt: z.iso.datetime(),
    shipshapeVersion: z.string(),
    bundle: z
      .object({
        dir: z.string(),
        name: z.string().nullable(),
        version: z.string().nullable(),
        /** sha256 of manifest.json's bytes: it holds every other file's sha256, so it names the whole bundle. */
        manifestSha256: sha256.nullable(),
      })
      .strict(),
    report: hashedFile.nullable(),
    sla: hashedFile.nullable(),
    baseline: hashedFile.nullable(),
    /**
     * The full report a baseline history names as `latest` (the gate reads its samples too): absent when the
     * baseline is a plain report or names none; null when it could not be read.
     */
    baselineLatest: hashedFile.nullable().optional(),
    /** The re-measurement reports (`shipshape gate --remeasure`) the latency item read beside the report. */
    remeasurements: z.array(hashedFile),
    /** Where the checklist was told the service deploys (`--target`), and the backend it judged. */
    target: z.enum(['node', 'workers']),
    backend: z.object({ name: z.enum(['native', 'wasm', 'webgpu']), source: z.string() }).strict(),
    url: z.string(),
    items: z.array(
      z
        .object({
          id: z.enum(ITEM_IDS),
          title: z.string(),
          verdict: z.enum(['pass', 'fail']),
          evidence: z.string(),
          detail: z.string(),
        })
        .strict(),
    ),
  })
  .strict();

export type Blessing = z.infer<typeof blessingSchema>;

/** The sha256 of bytes, as 64 lowercase hex digits. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The `latest` report a baseline history names, as a path from the working directory; undefined for a plain report,
 * a history that names none, or a file that cannot be read as JSON (its own hash already records that).
 */
async function baselineLatestPath(baseline: string | undefined): Promise<string | undefined> {
  if (baseline === undefined) return undefined;
  try {
    const json = JSON.parse(await readFile(baseline, 'utf8')) as { latest?: unknown };
    if (!isBaselineHistoryJson(json) || typeof json.latest !== 'string') return undefined;
    return join(dirname(baseline), json.latest);
  } catch {
    return undefined;
  }
}

async function hashFile(path: string | undefined): Promise<{ path: string; sha256: string } | null> {
  if (path === undefined) return null;
  try {
    return { path, sha256: sha256Hex(await readFile(path)) };
  } catch {
    return null;
  }
}

function shipshapeVersion(): Promise<string> {
  return readFile(new URL('../../package.json', import.meta.url), 'utf8').then(
    (text) => (JSON.parse(text) as { version: string }).version,
  );
}

/**
 * The blessing of a checklist run: the hashes of the bundle's manifest.json, the report, the SLA (and the baseline)
 * as they are now, the time, the shipshape version and every verdict. Made whether or not every item passed
 * (`blessed` says), so a refused deploy can name the item that failed. A file that cannot be read is recorded as
 * null, which no deploy accepts.
 */
export async function createBlessing(result: ChecklistResult, options: ChecklistOptions): Promise<Blessing> {
  const manifest = await hashFile(join(options.bundleDir, 'manifest.json'));
  const latestPath = await baselineLatestPath(options.baseline);
  const remeasured = result.items.flatMap((item) => item.reads ?? []);
  // A report gone since the latency item read it gets a hash no file has, so no deploy accepts the blessing.
  const remeasurements = await Promise.all(
    remeasured.map(async (path) => (await hashFile(path)) ?? { path, sha256: '0'.repeat(64) }),
  );
  return {
    schemaVersion: 1,
    tool: 'shipshape-checklist',
    blessed: result.passed && result.items.length === ITEM_IDS.length,
    createdAt: result.checkedAt,
    shipshapeVersion: await shipshapeVersion(),
    bundle: {
      dir: options.bundleDir,
      name: result.bundle?.name ?? null,
      version: result.bundle?.version ?? null,
      manifestSha256: manifest?.sha256 ?? null,
    },
    report: await hashFile(options.report),
    sla: await hashFile(options.sla),
    baseline: await hashFile(options.baseline),
    ...(latestPath === undefined ? {} : { baselineLatest: await hashFile(latestPath) }),
    remeasurements,
    target: options.target ?? 'node',
    backend: result.backend,
    url: result.url,
    items: result.items.map(({ id, title, verdict, evidence, detail }) => ({
      id,
      title,
      verdict,
      evidence,
      detail,
    })),
  };
}

/** Writes a blessing as pretty JSON, creating its folder. */
export async function writeBlessing(path: string, blessing: Blessing): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(blessing, null, 2)}\n`);
}

/** Why a deploy refuses a blessing, as a stable code (scripts match on it; the reason is for people). */
export type BlessingRefusal =
  | 'BLESSING_MISSING'
  | 'BLESSING_INVALID'
  | 'BLESSING_WRONG_BUNDLE'
  | 'BLESSING_WRONG_TARGET'
  | 'BLESSING_STALE'
  | 'BLESSING_FAILED';

/** A deploy's judgement of a blessing: go, or the one reason it refuses. */
export type BlessingCheck =
  | { readonly ok: true; readonly summary: string }
  | { readonly ok: false; readonly code: BlessingRefusal; readonly reason: string };

/** What the deploy ships, which the blessing must have been made for. */
export interface DeployTarget {
  /** The manifest.json bytes of the bundle it carries, and how to name it in a refusal. */
  readonly manifest: { readonly bytes: Uint8Array; readonly describe: string };
  /** Where it runs and the backend that serves there: `npm run deploy` ships the Worker, on wasm. */
  readonly target: Target;
  readonly backend: BackendName;
  /** The command that makes the right blessing, for the refusal of one made elsewhere. */
  readonly howToBless: string;
}

/**
 * Whether `path` blesses what `deploying` ships: the file is a valid blessing, its manifest hash is this manifest's,
 * it was made for this target and judged this backend, the report, SLA, baseline and re-measurements it judged still
 * hash as they did (relative paths from the working directory, as the checklist was given them), and every item
 * passed. The first failure is the refusal: its code, and a reason naming the file, the target or the item.
 */
export async function checkBlessing(path: string, deploying: DeployTarget): Promise<BlessingCheck> {
  const { manifest } = deploying;
  const refuse = (code: BlessingRefusal, reason: string): BlessingCheck => ({ ok: false, code, reason });
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return refuse('BLESSING_MISSING', `No blessing at ${path}: make one: ${deploying.howToBless}`);
  }
  let parsed;
  try {
    parsed = blessingSchema.safeParse(JSON.parse(text));
  } catch (error) {
    return refuse(
      'BLESSING_INVALID',
      `${path} is not JSON (${messageOf(error)}); run the checklist with --bless again.`,
    );
  }
  if (!parsed.success) {
    return refuse('BLESSING_INVALID', `${path} is not a blessing:\n${formatIssues(parsed.error)}`);
  }
  const blessing = parsed.data;
  const actual = sha256Hex(manifest.bytes);
  const bundle = `${blessing.bundle.name ?? '?'} ${blessing.bundle.version ?? '?'} (${blessing.bundle.dir})`;
  if (blessing.bundle.manifestSha256 !== actual) {
    return refuse(
      'BLESSING_WRONG_BUNDLE',
      `${path} blesses ${bundle} with manifest.json sha256 ${blessing.bundle.manifestSha256 ?? 'unknown'}, but the ` +
        `Worker embeds ${manifest.describe} with sha256 ${actual}: the blessing is not for this bundle. Run the ` +
        'checklist on the bundle the Worker embeds (SHIPSHAPE_BUNDLE / build:web --bundle).',
    );
  }
  if (blessing.target !== deploying.target || blessing.backend.name !== deploying.backend) {
    return refuse(
      'BLESSING_WRONG_TARGET',
      `${path} was made for --target ${blessing.target} and judged backend ${blessing.backend.name} ` +
        `(${blessing.backend.source}), but this deploy ships --target ${deploying.target}, which serves on ` +
        `${deploying.backend}: the parity proof, batching and memory plan it judged are not this deployment's. ` +
        `Make the blessing against it: ${deploying.howToBless}`,
    );
  }
  for (const [role, file] of [
    ['report', blessing.report],
    ['SLA', blessing.sla],
    ['baseline', blessing.baseline],
    ...(blessing.baselineLatest === undefined
      ? []
      : ([['baseline latest report', blessing.baselineLatest]] as const)),
    ...blessing.remeasurements.map((r) => ['re-measurement', r] as const),
  ] as const) {
    if (file === null) {
      if (role === 'baseline') continue;
      return refuse(
        'BLESSING_STALE',
        `${path} records no ${role} hash (it could not be read when blessed); run the checklist again.`,
      );
    }
    let now: string;
    try {
      now = sha256Hex(await readFile(file.path));
    } catch {
      return refuse(
        'BLESSING_STALE',
        `The ${role} ${file.path} that ${path} was blessed with is gone, so the blessing cannot be checked; run the ` +
          'checklist again.',
      );
    }
    if (now !== file.sha256) {
      return refuse(
        'BLESSING_STALE',
        `The ${role} ${file.path} changed since ${path} was made (sha256 ${now}, blessed ${file.sha256}): the ` +
          'blessing is older than it. Run the checklist again.',
      );
    }
  }
  const failed = blessing.items.filter((item) => item.verdict === 'fail');
  const ran = new Set(blessing.items.map((item) => item.id));
  if (!blessing.blessed || failed.length > 0 || ITEM_IDS.some((id) => !ran.has(id))) {
    const named = failed.map((item) => `${item.id} (${item.title}): ${item.detail}`).join('\n  ');
    return refuse(
      'BLESSING_FAILED',
      `${path} does not bless ${bundle}: ` +
        (failed.length > 0
          ? `${failed.length} item(s) failed:\n  ${named}`
          : `it ran ${ran.size} of the ${ITEM_IDS.length} items (not ${ITEM_IDS.filter((id) => !ran.has(id)).join(', ')}).`),
    );
  }
  return {
    ok: true,
    summary:
      `${path} blesses ${bundle}: ${blessing.items.length} items passed on ${blessing.backend.name} at ` +
      `${blessing.url}, ${blessing.createdAt}`,
  };
}
