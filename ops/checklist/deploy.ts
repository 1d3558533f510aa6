// `npm run deploy`: `wrangler deploy`, only for the bundle a passed checklist blessed; otherwise says which item failed.
//
//   npm run deploy [-- --blessing FILE] [-- --embedded-dir DIR] [-- WRANGLER ARGS...]
//
// package.json runs `npm run build:web` first, so dist/embedded/ holds the bundle this upload carries
// (edge/embedded-bundle.ts imports it from there); its manifest.json bytes must hash as the blessing recorded.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_EMBEDDED_DIR } from '../../edge/build-web.ts';
import { checkBlessing, DEFAULT_BLESSING } from './blessing.ts';
import { messageOf } from '../../runtime/errors.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WRANGLER = join(ROOT, 'node_modules/.bin/wrangler');

export interface DeployArgs {
  readonly blessing: string;
  readonly embeddedDir: string;
  /** Everything else, passed to `wrangler deploy` as given. */
  readonly wrangler: readonly string[];
}

/**
 * Splits the command line: `--blessing FILE` (default out/blessing.json) and `--embedded-dir DIR` (default
 * dist/embedded) are the wrapper's; every other argument goes to `wrangler deploy`.
 * @throws Error when one of the wrapper's flags has no value.
 */
export function parseDeployArgs(argv: readonly string[]): DeployArgs {
  let blessing = DEFAULT_BLESSING;
  let embeddedDir = DEFAULT_EMBEDDED_DIR;
  const wrangler: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg];
    if (flag === '--blessing' || flag === '--embedded-dir') {
      const value = inline ?? argv[++i];
      if (value === undefined || value === '') throw new Error(`${flag} needs a value.`);
      if (flag === '--blessing') blessing = value;
      else embeddedDir = value;
    } else {
      wrangler.push(arg);
    }
  }
  return { blessing, embeddedDir, wrangler };
}

/** Runs `wrangler deploy ...args` with this process's output; resolves with its exit code. */
function wranglerDeploy(args: readonly string[]): Promise<number> {
  const child = spawn(WRANGLER, ['deploy', ...args], {
    stdio: 'inherit',
    env: { WRANGLER_SEND_METRICS: 'false', ...process.env },
  });
  return new Promise((resolveExit, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolveExit(code ?? (signal === null ? 1 : 128)));
  });
}

/**
 * The commands that bless what this deploy ships: the Worker as `npm start` runs it (local workerd, the same build),
 * then the checklist against it with `--target workers`, its output as the logs. `.ci/run` does exactly this.
 */
export function workerBlessingCommand(blessing: string, bundle: string | undefined): string {
  return (
    '`PORT=8787 npm start > out/worker.log 2>&1 &`, then `npx shipshape checklist ' +
    `${bundle === undefined ? '' : `--bundle ${bundle} `}--target workers --url http://127.0.0.1:8787 ` +
    `--logs out/worker.log --report out/report.json --sla bench/sla.json --bless ${blessing}\` ` +
    '(the report from `npx shipshape bench --quick --serve --out out/report.json`, the rules from `npx shipshape ' +
    'alerts --out out/alerts`).'
  );
}

/**
 * The wrapper: refuses (exit 1, `deploy: refused: CODE: reason` on stderr; exit 2 for a flag without its value) or
 * runs wrangler and returns its exit code.
 */
export async function deploy(argv: readonly string[]): Promise<number> {
  let args: DeployArgs;
  try {
    args = parseDeployArgs(argv);
  } catch (error) {
    process.stderr.write(`deploy: DEPLOY_USAGE: ${messageOf(error)}\n`);
    return 2;
  }
  const manifestPath = join(resolve(args.embeddedDir), 'manifest.bin');
  let bytes: Uint8Array;
  try {
    bytes = await readFile(manifestPath);
  } catch {
    process.stderr.write(
      `deploy: refused: DEPLOY_BUNDLE_UNKNOWN: ${manifestPath} is missing, so the bundle the Worker embeds is unknown. Run ` +
        '`npm run build:web` (npm run deploy does) first.\n',
    );
    return 1;
  }
  let describe = manifestPath;
  let name: string | undefined;
  try {
    const manifest = JSON.parse(new TextDecoder().decode(bytes)) as { name?: string; version?: string };
    describe = `${manifest.name ?? '?'} ${manifest.version ?? '?'} (${manifestPath})`;
    name = manifest.name;
  } catch {
    // The hash decides; a manifest that does not parse cannot match a blessing anyway.
  }
  const verdict = await checkBlessing(args.blessing, {
    manifest: { bytes, describe },
    target: 'workers',
    backend: 'wasm',
    howToBless: workerBlessingCommand(args.blessing, name),
  });
  if (!verdict.ok) {
    process.stderr.write(`deploy: refused: ${verdict.code}: ${verdict.reason}\n`);
    return 1;
  }
  process.stdout.write(`deploy: ${verdict.summary}\ndeploy: wrangler deploy ${args.wrangler.join(' ')}\n`);
  return wranglerDeploy(args.wrangler);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await deploy(process.argv.slice(2));
}
