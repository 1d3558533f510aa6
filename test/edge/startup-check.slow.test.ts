// The start-up gate (`npm run check:startup`, edge/startup-check.ts) on the built Worker: `wrangler check startup` in
// local workerd, the CPU read from its profile, the budget enforced.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STARTUP_CPU_BUDGET_MS, type StartupCpu } from '../../edge/startup-check.ts';
import { ROOT, hasWorkerd } from './support.ts';

const run = (args: readonly string[]) =>
  spawnSync(join(ROOT, 'node_modules/.bin/tsx'), ['edge/startup-check.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    timeout: 240_000,
  });

describe.runIf(hasWorkerd())('npm run check:startup', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shipshape-startup-test-'));
  const profile = join(dir, 'startup.cpuprofile');
  let measured: ReturnType<typeof run>;
  let result: StartupCpu;

  beforeAll(() => {
    measured = run(['--out', profile, '--json', join(dir, 'startup.json')]);
    result = JSON.parse(readFileSync(join(dir, 'startup.json'), 'utf8')) as StartupCpu;
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports the start-up CPU of the built Worker, within the 1,000 ms budget', () => {
    expect(measured.stderr).not.toMatch(/startup-check:/);
    const line = /Worker start-up CPU: (\d+\.\d) ms \(budget 1000 ms;/.exec(measured.stdout);
    expect(line, measured.stdout).not.toBeNull();
    expect(Number(line![1])).toBeCloseTo(result.cpuMs, 1);
    // The global scope does real work (the session and the proof), not just module evaluation.
    expect(result.samples).toBeGreaterThan(10);
    expect(result.cpuMs).toBeGreaterThan(0);
    expect(result.budgetMs).toBe(STARTUP_CPU_BUDGET_MS);
    expect(result.cpuMs).toBeLessThanOrEqual(STARTUP_CPU_BUDGET_MS);
    expect(measured.status).toBe(0);
  });

  it('fails with exit 1 and names the budget when the start-up needs more than it', () => {
    const budget = Math.floor(result.cpuMs / 2);
    const over = run(['--profile', profile, '--budget-ms', String(budget)]);
    expect(over.status).toBe(1);
    expect(over.stderr).toContain(
      `startup-check: the Worker's start-up takes ${result.cpuMs.toFixed(1)} ms of CPU, over the ${budget} ms budget`,
    );
  });

  it('refuses a budget that is not a positive number, naming the flag', () => {
    const bad = run(['--profile', profile, '--budget-ms', 'soon']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('startup-check: --budget-ms soon: give a positive number of milliseconds.');
  });
});
