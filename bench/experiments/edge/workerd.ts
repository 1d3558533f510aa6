// Runs Workers for the edge benchmarks in real workerd (Miniflare): the shipped Worker from
// `wrangler deploy --dry-run --outdir dist/worker`, and a bare predict Worker built here from the runtime alone.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as esbuild from 'esbuild';
import { Miniflare, type MiniflareOptions } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';

export { table } from '../../table.ts';

export const ROOT = resolve(import.meta.dirname, '../../..');
const WORKER_DIR = join(ROOT, 'dist/worker');
const require = createRequire(import.meta.url);

/** What the tests/benches take from wrangler.toml (wrangler's published types for it resolve to `any`). */
interface WranglerWorkerSettings {
  readonly compatibilityDate?: string;
  readonly compatibilityFlags?: string[];
  readonly bindings?: Record<string, string>;
  readonly assets?: { directory: string; binding?: string; routerConfig?: { has_user_worker?: boolean } };
}

export interface RunningWorker {
  /** Origin, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** The workerd processes this Worker started (children of this process that appeared while it started). */
  readonly pids: readonly number[];
  /** ms from `new Miniflare` to listening: workerd started, script evaluated, WASM compiled. */
  readonly startupMs: number;
  close(): Promise<void>;
}

/**
 * Builds dist/web and dist/worker (`npm run build:worker`) unless `reuse` and they exist; `env` is added to the
 * build's environment (e.g. SHIPSHAPE_BUNDLE, the bundle to embed; default: this process's, else news-bag).
 */
export function buildShippedWorker(reuse: boolean, env: Readonly<Record<string, string>> = {}): void {
  if (reuse && existsSync(join(WORKER_DIR, 'worker.js'))) return;
  execFileSync('npm', ['run', '--silent', 'build:worker'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', ...env },
  });
}

interface Module {
  readonly type: 'ESModule' | 'CompiledWasm' | 'Data';
  readonly path: string;
  readonly contents: Uint8Array;
}

/** This process's workerd children. */
function workerdChildren(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return fields[1] === String(process.pid) && stat.includes('(workerd)');
      } catch {
        return false;
      }
    })
    .map(Number);
}

/**
 * CPU time the processes have used, in ms: the sum over their threads of /proc/PID/task/TID/schedstat (ns on CPU).
 * Unlike wall time, it does not grow when other work on a shared machine delays the process.
 */
export function cpuMs(pids: readonly number[]): number {
  let ns = 0;
  for (const pid of pids) {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // The thread ended.
      }
    }
  }
  return ns / 1e6;
}

async function start(options: MiniflareOptions): Promise<RunningWorker> {
  const before = new Set(workerdChildren());
  const started = performance.now();
  const worker = new Miniflare({ ...options, host: '127.0.0.1', port: 0 });
  const url = await worker.ready;
  const pids = workerdChildren().filter((pid) => !before.has(pid));
  return { url: url.origin, pids, startupMs: performance.now() - started, close: () => worker.dispose() };
}

/** The shipped Worker with wrangler.toml's settings; `vars` override its vars. */
export function startShippedWorker(vars: Readonly<Record<string, string>> = {}): Promise<RunningWorker> {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(ROOT, 'wrangler.toml')) as {
    workerOptions: WranglerWorkerSettings;
  };
  // worker.js and the modules it imports (wrangler does not empty --outdir; older builds' files may remain).
  const script = readFileSync(join(WORKER_DIR, 'worker.js'), 'utf8');
  const names = [...script.matchAll(/^import \w+ from "\.\/([^"/]+)";$/gm)].map((match) => match[1]!);
  // wrangler.toml's rules make every module but the script and onnxruntime's .wasm a Data module.
  const modules: Module[] = ['worker.js', ...names.filter((name) => name !== 'worker.js')].map((name) => ({
    type: name.endsWith('.js') ? 'ESModule' : name.endsWith('.wasm') ? 'CompiledWasm' : 'Data',
    path: join(WORKER_DIR, name),
    contents: readFileSync(join(WORKER_DIR, name)),
  }));
  return start({
    modulesRoot: WORKER_DIR,
    modules,
    compatibilityDate: workerOptions.compatibilityDate ?? '2026-04-20',
    compatibilityFlags: workerOptions.compatibilityFlags ?? [],
    bindings: { ...(workerOptions.bindings ?? {}), ...vars },
    ...(workerOptions.assets === undefined ? {} : { assets: workerOptions.assets }),
  });
}

const ORT_WASM = 'ort-wasm-simd-threaded.wasm';

/**
 * A Worker with no HTTP layer: `POST /?repeat=K` with `{ "texts": [...] }` runs the prediction K times in one
 * request, the way the edge app does (one text: `predict`, more: `predictBatch`). workerd's clock does not advance
 * during CPU work, so the in-isolate time of one prediction is taken from the client: (T(K) - T(1)) / (K - 1).
 */
export async function startBareWorker(
  bundleDir: string,
  entry = join(import.meta.dirname, 'bare-worker.ts'),
): Promise<RunningWorker> {
  const root = '/shipshape-bench-worker';
  const manifest = JSON.parse(readFileSync(join(bundleDir, 'manifest.json'), 'utf8')) as {
    model: { file: string };
    preprocessing: { vocab: string; normalization: string };
    parity?: { file?: string };
  };
  const files = [
    'manifest.json',
    manifest.model.file,
    manifest.preprocessing.vocab,
    manifest.preprocessing.normalization,
    // For an entry that proves the bundle (the cold-start stages); the others never read it.
    ...(manifest.parity?.file === undefined ? [] : [manifest.parity.file]),
  ];
  const imports = files.map((file, i) => `import f${i} from './bench-bundle/${file}';`);
  const table = `export default { ${files.map((file, i) => `${JSON.stringify(file)}: f${i}`).join(', ')} };`;
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    target: 'es2022',
    write: false,
    outfile: `${root}/worker.js`,
    logLevel: 'silent',
    plugins: [
      {
        name: 'bench-bundle',
        setup(build) {
          build.onResolve({ filter: /^shipshape-bench:bundle$/ }, () => ({
            path: 'bundle',
            namespace: 'bench',
          }));
          build.onLoad({ filter: /.*/, namespace: 'bench' }, () => ({
            contents: [...imports, table].join('\n'),
            loader: 'js',
            resolveDir: import.meta.dirname,
          }));
          build.onResolve({ filter: /^\.\/bench-bundle\// }, (args) => ({ path: args.path, external: true }));
          build.onResolve({ filter: /\.wasm$/ }, () => ({ path: `./${ORT_WASM}`, external: true }));
        },
      },
    ],
  });
  const script = result.outputFiles[0];
  if (script === undefined) throw new Error('esbuild produced no bench worker');
  return start({
    modulesRoot: root,
    modules: [
      { type: 'ESModule', path: `${root}/worker.js`, contents: script.contents },
      {
        type: 'CompiledWasm',
        path: `${root}/${ORT_WASM}`,
        contents: readFileSync(require.resolve(`onnxruntime-web/${ORT_WASM}`)),
      },
      ...files.map((file) => ({
        type: 'Data' as const,
        path: `${root}/bench-bundle/${file}`,
        contents: readFileSync(join(bundleDir, file)),
      })),
    ],
    compatibilityDate: '2026-04-20',
  });
}

/** A keep-alive HTTP client with one socket: sequential requests, timed from the client. */
export function createClient() {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return {
    /** POSTs JSON and returns the status and the ms until the whole body arrived. */
    post(url: string, body: string): Promise<{ status: number; ms: number; body: string }> {
      const started = performance.now();
      return new Promise((resolveRequest, reject) => {
        const request = http.request(
          url,
          {
            method: 'POST',
            agent,
            headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
          },
          (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('end', () =>
              resolveRequest({
                status: response.statusCode ?? 0,
                ms: performance.now() - started,
                body: Buffer.concat(chunks).toString('utf8'),
              }),
            );
            response.on('error', reject);
          },
        );
        request.on('error', reject);
        request.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}
