// `shipshape plan` as a child process: the files it writes, the memory section alone, and its exit codes.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePlan } from '../../ops/plan/schema.ts';
import { makeReport } from '../bench/fixtures.ts';
import { shipshape, type CliResult } from '../helpers/cli.ts';

const REPORT = 'test/fixtures/reports/ci-quick.json';
const SELF_CHECKED = 'test/fixtures/reports/quick-http-news-transformer.json';
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'shipshape-plan-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * `shipshape plan --report REPORT --sla bench/sla.json --peak-rps 400 --out DIR ...extra` into a fresh folder, the
 * full plan every test below varies: `report` defaults to the CI quick report, `extra` adds or overrides flags.
 */
function plan(extra: readonly string[] = [], report = REPORT): { out: string; result: CliResult } {
  const out = tempDir();
  const result = shipshape([
    'plan',
    '--report',
    report,
    '--sla',
    'bench/sla.json',
    '--peak-rps',
    '400',
    '--out',
    out,
    ...extra,
  ]);
  return { out, result };
}

const readPlan = (out: string) =>
  parsePlan(JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8')), 'plan.json');

describe('shipshape plan', () => {
  let out = '';
  let run: CliResult;

  beforeAll(() => {
    ({ out, result: run } = plan());
  });

  it('exits 0 and prints the replicas, the per-replica rates and the files written', () => {
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/requests\/s sustainable per replica .* -> 2 replicas at the peak/);
    expect(run.stdout).toContain(`Wrote ${join(out, 'plan.md')}, ${join(out, 'plan.json')}`);
  });

  it('writes plan.json that parses against the plan schema and lists the files', () => {
    const written = readPlan(out);
    expect(written.files).toEqual([
      'plan.md',
      'plan.json',
      'plan-load.svg',
      'k8s/deployment.yaml',
      'k8s/service.yaml',
      'k8s/hpa.yaml',
      'k8s/keda-scaledobject.yaml',
    ]);
    for (const file of written.files) expect(existsSync(join(out, file))).toBe(true);
  });

  it('writes the chart as SVG', () => {
    expect(readFileSync(join(out, 'plan-load.svg'), 'utf8')).toMatch(/^<svg /);
  });

  it('writes plan.md with the reasoning: the naive count, Workers, memory, and one autoscaler to apply', () => {
    const md = readFileSync(join(out, 'plan.md'), 'utf8');
    expect(md).toContain('### Why dividing the load by the throughput is not enough');
    expect(md).toContain('## Cloudflare Workers');
    expect(md).toContain('## Memory for news-bag at batch 32');
    expect(md).toContain('**Apply one autoscaler, not both**');
  });

  it('sizes the KEDA rate window from --scrape-interval in the ScaledObject it writes', () => {
    const { out: dir, result } = plan(['--target', 'node', '--scrape-interval', '1m']);
    expect(result.code).toBe(0);
    expect(readFileSync(join(dir, 'k8s/keda-scaledobject.yaml'), 'utf8')).toMatch(/\}\[4m\]\)\)\n/);
  });

  it('writes a Workers-only plan without a chart or manifests for --target workers', () => {
    const { out: dir, result } = plan(['--target', 'workers']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Workers: the paid plan fits');
    expect(readPlan(dir).files).toEqual(['plan.md', 'plan.json']);
  });

  it('prints the memory section alone with --memory', () => {
    const memory = shipshape(['plan', '--memory', '--report', REPORT]);
    expect(memory.code).toBe(0);
    expect(memory.stdout).toMatch(/^# Memory for news-bag at batch 32\n/);
    expect(memory.stdout).toContain('| Worker isolate | isolate (wasm) |');
  });
});

describe('shipshape plan on a report with a self-check', () => {
  it('plans from the self-checked profile and says so, with its verdict, on the terminal and in plan.md', () => {
    const { out, result } = plan([], SELF_CHECKED);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Plan for news-transformer: /);
    expect(result.stdout).toMatch(
      /^Self-check: http-capacity\/news-transformer in this report, verdict (pass|fail)/m,
    );
    expect(readFileSync(join(out, 'plan.md'), 'utf8')).toMatch(
      /\*\*Self-checked\*\*: the report's `http-capacity\/news-transformer` ran this profile/,
    );
  });

  it('with --bundle news-bag plans from http-closed and warns that the plan was not self-checked', () => {
    const { out, result } = plan(['--bundle', 'news-bag'], SELF_CHECKED);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Plan for news-bag: /);
    expect(result.stdout).toMatch(/^WARNING: this plan was NOT self-checked: .*HTTP-bound/m);
    expect(readFileSync(join(out, 'plan.md'), 'utf8')).toMatch(
      /^> \*\*Warning\*\*: this plan was NOT self-checked/m,
    );
  });
});

describe('shipshape plan --memory', () => {
  it('writes the same memory answer as the full plan on a self-checked report', () => {
    const report = 'test/fixtures/reports/quick-http-capacity.json';
    const full = plan([], report);
    expect(full.result.code).toBe(0);
    const memory = tempDir();
    const alone = shipshape(['plan', '--memory', '--report', report, '--out', memory]);
    expect(alone.code).toBe(0);
    expect(JSON.parse(readFileSync(join(memory, 'memory.json'), 'utf8'))).toEqual(readPlan(full.out).memory);
    expect(alone.stdout).toContain('| Node replica | rss (native) | 510.7 MiB | 766.0 MiB |');
  });
});

describe('shipshape plan errors', () => {
  it('refuses --min-replicas 1 as a usage error (exit 2)', () => {
    const { result } = plan(['--min-replicas', '1']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--min-replicas is 1; use 2 or more');
  });

  it('asks for --peak-rps for a full plan (exit 2)', () => {
    const result = shipshape(['plan', '--report', REPORT, '--out', tempDir()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--peak-rps is required');
  });

  it('exits 1 with PLAN_SLA_UNREACHABLE and no stack when the p95 limit is below the service time', () => {
    const { result } = plan(['--p95-ms', '1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^shipshape: PLAN_SLA_UNREACHABLE: no rate meets a p95 of 1 ms/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 1 with PLAN_OVER_BUDGET when the cost cap cannot cover the peak', () => {
    const { result } = plan(['--max-monthly-usd', '50']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^shipshape: PLAN_OVER_BUDGET: the peak of 400 requests\/s needs 2 replicas/,
    );
  });

  it('exits 1 with PLAN_NO_HTTP_PROFILE for a report without HTTP measurements, writing nothing', () => {
    const report = join(tempDir(), 'report.json');
    writeFileSync(report, JSON.stringify(makeReport([])));
    const { out, result } = plan([], report);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^shipshape: PLAN_NO_HTTP_PROFILE: /);
    expect(readdirSync(out)).toEqual([]);
  });
});
