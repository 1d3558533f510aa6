// The Worker's start-up CPU gate: `wrangler check startup` profiles the global scope of the Worker that
// `wrangler deploy` would upload (for the embedded bundle: the WASM instance, the session, the parity proof and the
// warm-up, which run there), and this reads the profile, prints the CPU time and fails above the budget.
// Run: npm run check:startup [-- --budget-ms 1000] [--profile FILE] [--out FILE] [--json FILE]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '..');

/** Cloudflare's limit on a Worker's start-up (global scope) CPU time, in ms. */
export const STARTUP_CPU_BUDGET_MS = 1_000;

/** The fields of a V8 `.cpuprofile` this reads. */
interface CpuProfile {
  readonly nodes: readonly { readonly id: number; readonly callFrame: { readonly functionName: string } }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface StartupCpu {
  /** Time of the profile's samples that are not the isolate's `(idle)`: the start-up's CPU time, ms. */
  readonly cpuMs: number;
  readonly samples: number;
  readonly budgetMs: number;
  readonly withinBudget: boolean;
}

/**
 * Reads a start-up CPU profile: the time of the samples that are not `(idle)` (JavaScript, WASM, compilation,
 * garbage collection). V8 samples by wall clock, so on a machine whose cores are busy with other work a descheduled
 * thread's time counts too: the figure is an upper bound there.
 * @throws Error when `profile` is not a V8 CPU profile.
 */
export function readStartupProfile(profile: unknown, budgetMs = STARTUP_CPU_BUDGET_MS): StartupCpu {
  const candidate = (profile ?? {}) as Partial<CpuProfile>;
  if (
    !Array.isArray(candidate.nodes) ||
    !Array.isArray(candidate.samples) ||
    !Array.isArray(candidate.timeDeltas)
  ) {
    throw new Error('the start-up profile has no nodes, samples and timeDeltas; is it a .cpuprofile file?');
  }
  const { nodes, samples, timeDeltas } = candidate as CpuProfile;
  const idle = new Set(
    nodes.filter((node) => node.callFrame.functionName === '(idle)').map((node) => node.id),
  );
  let us = 0;
  let busy = 0;
  // timeDeltas[i] is the time from sample i - 1 to sample i: sample i stands for the time up to the next one.
  for (let i = 0; i < samples.length; i++) {
    if (idle.has(samples[i] ?? -1)) continue;
    us += timeDeltas[i + 1] ?? 0;
    busy += 1;
  }
  const cpuMs = us / 1000;
  return { cpuMs, samples: busy, budgetMs, withinBudget: cpuMs <= budgetMs };
}

/**
 * Profiles the Worker's start-up with `wrangler check startup` (it builds the Worker as `wrangler deploy` would,
 * then runs it in local workerd: no network, no account) and returns the profile.
 * @throws Error when the embedded bundle was not built or wrangler fails (its output is shown).
 */
export function profileStartup(): unknown {
  if (!existsSync(join(ROOT, 'dist/embedded/manifest.bin'))) {
    throw new Error(
      'dist/embedded/ is missing: run "npm run build:web" first (the Worker embeds its bundle).',
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'shipshape-startup-'));
  const outfile = join(dir, 'worker-startup.cpuprofile');
  try {
    execFileSync('npx', ['wrangler', 'check', 'startup', '--outfile', outfile], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    });
    return JSON.parse(readFileSync(outfile, 'utf8')) as unknown;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function parseBudget(text: string): number {
  const budget = Number(text);
  if (!(budget > 0)) throw new Error(`--budget-ms ${text}: give a positive number of milliseconds.`);
  return budget;
}

function main(): number {
  const { values } = parseArgs({
    options: {
      'budget-ms': { type: 'string', default: String(STARTUP_CPU_BUDGET_MS) },
      /** Read this profile instead of making one. */
      profile: { type: 'string' },
      /** Keep the profile made here (open it in Chrome DevTools' Performance panel). */
      out: { type: 'string' },
      json: { type: 'string' },
    },
  });
  const budgetMs = parseBudget(values['budget-ms']);
  const profile =
    values.profile === undefined
      ? profileStartup()
      : (JSON.parse(readFileSync(values.profile, 'utf8')) as unknown);
  if (values.out !== undefined) writeFileSync(values.out, JSON.stringify(profile));
  const result = readStartupProfile(profile, budgetMs);
  console.log(
    `Worker start-up CPU: ${result.cpuMs.toFixed(1)} ms (budget ${budgetMs} ms; ${result.samples} samples of ` +
      '`wrangler check startup`, on this machine)',
  );
  if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
  if (!result.withinBudget) {
    console.error(
      `startup-check: the Worker's start-up takes ${result.cpuMs.toFixed(1)} ms of CPU, over the ${budgetMs} ms ` +
        'budget (Cloudflare refuses a Worker whose global scope exceeds its start-up limit). Move work out of the ' +
        'global scope or make it cheaper (open the profile, --out FILE, in Chrome DevTools to see where it goes).',
    );
    return 1;
  }
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    process.exitCode = main();
  } catch (error) {
    console.error(`startup-check: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 2;
  }
}
