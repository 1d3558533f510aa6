// Shared plumbing of the edge tests: the build, real servers (workerd through Miniflare, Node), golden cases.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Miniflare } from 'miniflare';
import { afterAll, beforeAll, inject } from 'vitest';
import { readConfig } from '../../edge/config.ts';
import type { Log } from '../../edge/log.ts';
import { startNodeServer } from '../../edge/node-server.ts';
import { listUploadModules } from '../../edge/size.ts';
import type { EdgeBuild } from './edge-build.ts';
import type { PredictorOptions } from '../../runtime/types.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const IN_CI = Boolean(process.env.CI);
export const BUNDLE_DIR = join(ROOT, 'artifacts/news-bag');
export const WEB_DIR = join(ROOT, 'dist/web');
export const WORKER_DIR = join(ROOT, 'dist/worker');
import { CHROMIUM_PATH } from '../../bench/browser/chromium.ts';
export { CHROMIUM_PATH as CHROMIUM } from '../../bench/browser/chromium.ts';

/**
 * Whether a system component a test needs is here. Missing outside CI: the caller skips, and the reason is printed.
 * Missing in CI: the caller must fail (see `failInCi`).
 */
export function hasComponent(name: string, present: boolean, howToGet: string): boolean {
  if (!present && !IN_CI)
    console.warn(`${name} is missing, so its edge tests are skipped (${howToGet}). In CI they fail.`);
  return present;
}

/** Whether workerd is installed (warns when not, outside CI); the edge tests that start it run only if so. */
export function hasWorkerd(): boolean {
  return hasComponent('workerd', workerdPresent(), 'npm ci installs it with wrangler/miniflare');
}

/** Whether Chromium is where `CHROMIUM` says (warns when not, outside CI). */
export function hasChromium(): boolean {
  return hasComponent(
    'Chromium',
    existsSync(CHROMIUM_PATH),
    'apt-get install chromium, or set SHIPSHAPE_CHROMIUM',
  );
}

export function workerdPresent(): boolean {
  try {
    const arch = process.arch === 'x64' ? '64' : process.arch;
    const bin = createRequire(import.meta.url).resolve(
      `@cloudflare/workerd-${process.platform}-${arch}/bin/workerd`,
    );
    return existsSync(bin);
  } catch {
    return false;
  }
}

/**
 * The shared edge build (dist/web, dist/worker embedding news-bag) that the slow tier's globalSetup
 * (test/edge/edge-build.ts) made before any test file started.
 * @throws Error when no globalSetup provided it: the file ran outside the slow project (name it *.slow.test.ts).
 */
export function requireEdgeBuild(): EdgeBuild {
  const build = inject('edgeBuild') as EdgeBuild | undefined;
  if (build === undefined) {
    throw new Error(
      'No edge build: only the slow project (files named *.slow.test.ts) builds dist/web and dist/worker in its ' +
        'globalSetup (test/edge/edge-build.ts).',
    );
  }
  return build;
}

/** What the tests/benches take from wrangler.toml (wrangler's published types for it resolve to `any`). */
interface WranglerWorkerSettings {
  readonly compatibilityDate?: string;
  readonly compatibilityFlags?: string[];
  readonly bindings?: Record<string, string>;
  readonly assets?: { directory: string; binding?: string; routerConfig?: { has_user_worker?: boolean } };
  readonly durableObjects?: Record<string, { className: string; useSQLite?: boolean }>;
}

/**
 * Miniflare and wrangler.toml's Worker settings, imported on first use: the two packages take seconds to import, and
 * the fast tier's files import this module without starting a Worker.
 */
async function loadWorkerRuntime(): Promise<{
  readonly Miniflare: typeof Miniflare;
  readonly workerOptions: WranglerWorkerSettings;
}> {
  const [{ Miniflare }, { unstable_getMiniflareWorkerOptions }] = await Promise.all([
    import('miniflare'),
    import('wrangler'),
  ]);
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(ROOT, 'wrangler.toml')) as {
    workerOptions: WranglerWorkerSettings;
  };
  return { Miniflare, workerOptions };
}

/** Vars every test server starts with unless a test overrides them: no access log on the test output. */
export const QUIET_VARS: Readonly<Record<string, string>> = { SHIPSHAPE_ACCESS_LOG: 'off' };

export interface RunningServer {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The upload in the dry-run output as Miniflare modules: our wrangler.toml rules make every module but the script
 * and onnxruntime's .wasm a Data module.
 */
async function workerModules(dir: string) {
  const typeOf = (name: string): 'ESModule' | 'CompiledWasm' | 'Data' =>
    name.endsWith('.js') ? 'ESModule' : name.endsWith('.wasm') ? 'CompiledWasm' : 'Data';
  const names = await listUploadModules(dir);
  // The entry must come first.
  const ordered = ['worker.js', ...names.filter((name) => name !== 'worker.js')];
  return ordered.map((name) => ({
    type: typeOf(name),
    path: join(dir, name),
    contents: readFileSync(join(dir, name)),
  }));
}

/**
 * Runs the built Worker (dist/worker, from `wrangler deploy --dry-run`) in real workerd through Miniflare, with
 * wrangler.toml's compatibility settings, vars and assets; `vars` override or add vars (and secrets).
 */
export async function startWorkerd(
  vars: Readonly<Record<string, string>> = {},
  options: {
    r2?: Readonly<Record<string, Readonly<Record<string, Uint8Array>>>>;
    /** The dry-run output to run. Default dist/worker. */
    workerDir?: string;
    /** Leave out wrangler.toml's Durable Object bindings (HEALTH), as a deploy without them would. */
    withoutDurableObjects?: boolean;
    /** Keep Durable Object storage in this folder, so a second server on it restarts the same objects. */
    durableObjectsDir?: string;
  } = {},
): Promise<RunningServer & { readonly miniflare: Miniflare }> {
  const workerDir = options.workerDir ?? WORKER_DIR;
  const { Miniflare, workerOptions } = await loadWorkerRuntime();
  const r2 = options.r2 ?? {};
  const worker = new Miniflare({
    modulesRoot: workerDir,
    modules: await workerModules(workerDir),
    compatibilityDate: workerOptions.compatibilityDate ?? '2026-04-20',
    compatibilityFlags: workerOptions.compatibilityFlags ?? [],
    bindings: { ...(workerOptions.bindings ?? {}), ...QUIET_VARS, ...vars },
    ...(workerOptions.assets === undefined ? {} : { assets: workerOptions.assets }),
    // In memory unless a folder is given, like R2 below: a test server starts with empty Durable Objects.
    ...(options.withoutDurableObjects === true ? {} : { durableObjects: workerOptions.durableObjects ?? {} }),
    ...(options.durableObjectsDir === undefined ? {} : { durableObjectsPersist: options.durableObjectsDir }),
    // Local R2 buckets (in memory), filled before the first request.
    r2Buckets: Object.keys(r2),
    host: '127.0.0.1',
    port: 0,
  });
  const url = await worker.ready;
  for (const [binding, objects] of Object.entries(r2)) {
    const bucket = await worker.getR2Bucket(binding);
    for (const [key, bytes] of Object.entries(objects)) await bucket.put(key, bytes);
  }
  return { url: url.origin, miniflare: worker, close: () => worker.dispose() };
}

/**
 * For the enclosing describe: the edge build, and a folder for Durable Object storage that outlives one workerd
 * (pass it as `durableObjectsDir` to each), removed after the describe. Returns the folder once `beforeAll` ran.
 */
export function durableObjectStorage(): () => string {
  let dir: string;
  beforeAll(() => {
    requireEdgeBuild();
    dir = mkdtempSync(join(tmpdir(), 'shipshape-health-do-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return () => dir;
}

/**
 * Runs the built Worker as `count` Workers of the same script in one workerd, each its own isolate (own globals,
 * own model, own monitor) on its own port, all bound to the first one's Durable Objects: what several isolates
 * of one deployed Worker look like to its Durable Objects. With `durableObjectsScript`, the Durable Objects come
 * from that module instead (a stand-in exporting the same class names, for faults real ones cannot be made to show).
 */
export async function startWorkerdIsolates(
  count: number,
  vars: Readonly<Record<string, string>> = {},
  options: { durableObjectsScript?: string } = {},
): Promise<{ readonly urls: readonly string[]; close(): Promise<void> }> {
  const { Miniflare, workerOptions } = await loadWorkerRuntime();
  const modules = await workerModules(WORKER_DIR);
  const names = Array.from({ length: count }, (_, i) => `isolate-${i}`);
  const owned = workerOptions.durableObjects ?? {};
  const standIn = options.durableObjectsScript === undefined ? undefined : 'durable-objects-stand-in';
  const owner = standIn ?? names[0]!;
  const boundTo = (scriptName: string) =>
    Object.fromEntries(
      Object.entries(owned).map(([binding, { className, useSQLite }]) => [
        binding,
        { className, scriptName, ...(useSQLite === undefined ? {} : { useSQLite }) },
      ]),
    );
  const worker = new Miniflare({
    host: '127.0.0.1',
    port: 0,
    workers: [
      ...names.map((name) => ({
        name,
        modulesRoot: WORKER_DIR,
        modules,
        compatibilityDate: workerOptions.compatibilityDate ?? '2026-04-20',
        compatibilityFlags: workerOptions.compatibilityFlags ?? [],
        bindings: { ...(workerOptions.bindings ?? {}), ...QUIET_VARS, ...vars },
        ...(workerOptions.assets === undefined ? {} : { assets: workerOptions.assets }),
        durableObjects: name === owner ? owned : boundTo(owner),
        unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }],
      })),
      ...(standIn === undefined
        ? []
        : [
            {
              name: standIn,
              modules: true,
              script: options.durableObjectsScript,
              compatibilityDate: workerOptions.compatibilityDate ?? '2026-04-20',
              durableObjects: owned,
            },
          ]),
    ],
  });
  await worker.ready;
  const urls = await Promise.all(names.map(async (name) => (await worker.unsafeGetDirectURL(name)).origin));
  return { urls, close: () => worker.dispose() };
}

/** Runs the Node server on a free port with the config read from `vars`, as `shipshape serve` does from env. */
export async function startNode(
  vars: Readonly<Record<string, string>> = {},
  options: {
    bundle?: string;
    predictor?: PredictorOptions;
    waitReady?: boolean;
    log?: Log;
    workers?: number;
  } = {},
): Promise<RunningServer> {
  const server = await startNodeServer({
    bundle: options.bundle ?? BUNDLE_DIR,
    port: 0,
    host: '127.0.0.1',
    config: readConfig({ ...QUIET_VARS, ...vars }),
    webDir: WEB_DIR,
    ...(options.predictor === undefined ? {} : { predictor: options.predictor }),
    ...(options.waitReady === undefined ? {} : { waitReady: options.waitReady }),
    ...(options.log === undefined ? {} : { log: options.log }),
    ...(options.workers === undefined ? {} : { workers: options.workers }),
  });
  return { url: server.url, close: () => server.close() };
}

export interface GoldenCase {
  readonly id: number;
  readonly text: string;
  readonly label: string;
  readonly logits: readonly number[];
}

/** The bundle's parity cases. */
export function readGoldenCases(dir = BUNDLE_DIR): GoldenCase[] {
  return readFileSync(join(dir, 'parity.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as GoldenCase);
}

/** The parity cases the edge serves by default: blank texts (empty, whitespace only) are answered 422. */
export function readServableGoldenCases(dir = BUNDLE_DIR): GoldenCase[] {
  return readGoldenCases(dir).filter((c) => c.text.trim() !== '');
}

/** The parity cases with blank texts, classified only with SHIPSHAPE_ALLOW_EMPTY_TEXTS=true. */
export function readBlankGoldenCases(dir = BUNDLE_DIR): GoldenCase[] {
  return readGoldenCases(dir).filter((c) => c.text.trim() === '');
}

export function readLabels(dir = BUNDLE_DIR): string[] {
  return (JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { labels: string[] }).labels;
}

/** Softmax in float64, the reference the served scores are compared with. */
export function softmax(logits: readonly number[]): number[] {
  const max = Math.max(...logits);
  const exps = logits.map((logit) => Math.exp(logit - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

export interface JsonResponse<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

/**
 * Sends a request and parses the JSON body (undefined for an empty one). `send` defaults to the global fetch (real
 * HTTP); an in-process target passes the app's own (`app.request`), with a path for `url`.
 */
export async function request<T = unknown>(
  url: string,
  init: RequestInit & { json?: unknown } = {},
  send: (url: string, init: RequestInit) => Promise<Response> = fetch,
): Promise<JsonResponse<T>> {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (json !== undefined && !headers.has('Content-Type')) headers.set('Content-Type', 'application/json');
  const response = await send(url, {
    ...rest,
    headers,
    ...(json === undefined ? {} : { body: JSON.stringify(json), method: rest.method ?? 'POST' }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: (text === '' ? undefined : JSON.parse(text)) as T,
  };
}

export interface WireError {
  readonly error: { readonly code: string; readonly message: string; readonly requestId: string };
}

/**
 * Sends `head` (request line and headers, CRLF-separated, without the blank line) and `body` over a raw TCP socket,
 * then reads until the server closes or `idleMs` passes without data; for what a fetch client will not send
 * (broken framing, header whitespace). Resolves with the raw response text.
 */
export async function rawRequest(url: string, head: string, body = '', idleMs = 2_000): Promise<string> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  return new Promise<string>((resolve, reject) => {
    let answer = '';
    const done = () => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(idleMs, done);
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
    });
    socket.once('end', done);
    socket.once('error', (error) => (answer === '' ? reject(error) : done()));
    socket.write(`${head}\r\n\r\n${body}`);
  });
}

/** The status and JSON body of the first response in a raw HTTP answer (Content-Length framed). */
export function parseRawResponse(answer: string): { status: number; headers: string; body: unknown } {
  const end = answer.indexOf('\r\n\r\n');
  const headers = answer.slice(0, end);
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(headers)?.[1]);
  const length = Number(/\r\ncontent-length: *(\d+)/i.exec(headers)?.[1] ?? Number.NaN);
  const text = answer.slice(end + 4, Number.isFinite(length) ? end + 4 + length : undefined);
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (workerd's own plain-text answers): the text itself.
  }
  return { status, headers, body };
}
