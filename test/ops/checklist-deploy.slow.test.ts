// `npm run deploy`'s guard (ops/checklist/deploy.ts, what the script runs after `npm run build:web`): it refuses
// without a blessing of the bundle the Worker embeds (dist/embedded, built by the globalSetup), with a blessing of
// another bundle, one made for Node (`--target node`, or a backend other than wasm), one older than its report or a
// re-measurement it judged, or one with a failed item, and runs the real `wrangler deploy` with the
// remaining arguments (`--dry-run --outdir`, so nothing is published) for a matching one. The blessings are written
// here as data, in the schema `shipshape checklist --bless` writes (test/cli/checklist.slow.test.ts covers that writer).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Blessing } from '../../ops/checklist/blessing.ts';
import { ITEMS, ITEM_IDS } from '../../ops/checklist/checklist.ts';
import { requireEdgeBuild } from '../edge/support.ts';
import { ROOT } from '../helpers/bundle-copy.ts';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function deploy(args: readonly string[]) {
  const result = spawnSync(join(ROOT, 'node_modules/.bin/tsx'), ['ops/checklist/deploy.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    timeout: 180_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('npm run deploy', () => {
  let scratch = '';
  let report = '';
  let sla = '';
  let embeddedSha = '';

  /**
   * A blessing of the embedded news-bag made against the Worker (wasm), every item passed, against this test's copies
   * of the report and SLA.
   */
  function blessing(overrides: Partial<Blessing> = {}): Blessing {
    return {
      schemaVersion: 1,
      tool: 'shipshape-checklist',
      blessed: true,
      createdAt: '2026-12-03T13:00:00.000Z',
      shipshapeVersion: '0.1.0',
      bundle: { dir: 'artifacts/news-bag', name: 'news-bag', version: '1.0.0', manifestSha256: embeddedSha },
      report: { path: report, sha256: sha256(readFileSync(report)) },
      sla: { path: sla, sha256: sha256(readFileSync(sla)) },
      baseline: null,
      remeasurements: [],
      target: 'workers',
      backend: { name: 'wasm', source: 'GET http://127.0.0.1:8787/v1/models' },
      url: 'http://127.0.0.1:8787',
      items: ITEM_IDS.map((id) => ({
        id,
        title: ITEMS[id].title,
        verdict: 'pass',
        evidence: 'seen',
        detail: '',
      })),
      ...overrides,
    };
  }

  function write(name: string, content: Blessing): string {
    const path = join(scratch, name);
    writeFileSync(path, JSON.stringify(content));
    return path;
  }

  beforeAll(() => {
    requireEdgeBuild();
    scratch = mkdtempSync(join(tmpdir(), 'shipshape-deploy-'));
    report = join(scratch, 'report.json');
    sla = join(scratch, 'sla.json');
    copyFileSync(join(ROOT, 'bench/baseline.json'), report);
    copyFileSync(join(ROOT, 'bench/sla.json'), sla);
    embeddedSha = sha256(readFileSync(join(ROOT, 'dist/embedded/manifest.bin')));
  }, 300_000);
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('refuses without a blessing, saying how to make one', () => {
    const missing = join(scratch, 'no-blessing.json');
    const run = deploy(['--blessing', missing, '--dry-run']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`deploy: refused: BLESSING_MISSING: No blessing at ${missing}: make one:`);
    expect(run.stderr).toContain('`npx shipshape checklist --bundle news-bag --target workers');
  });

  it('refuses a blessing made for --target node, naming the command that blesses the Worker', () => {
    const path = write(
      'node.json',
      blessing({
        target: 'node',
        backend: { name: 'native', source: 'GET http://127.0.0.1:43853/v1/models' },
      }),
    );
    const run = deploy(['--blessing', path, '--dry-run']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `deploy: refused: BLESSING_WRONG_TARGET: ${path} was made for --target node and judged backend native ` +
        '(GET http://127.0.0.1:43853/v1/models), but this deploy ships --target workers, which serves on wasm',
    );
    expect(run.stderr).toContain(
      '`PORT=8787 npm start > out/worker.log 2>&1 &`, then `npx shipshape checklist --bundle news-bag ' +
        `--target workers --url http://127.0.0.1:8787 --logs out/worker.log --report out/report.json --sla ` +
        `bench/sla.json --bless ${path}\``,
    );
  });

  it('refuses a blessing for --target workers that judged a backend other than wasm', () => {
    const path = write(
      'native.json',
      blessing({ backend: { name: 'native', source: 'GET http://127.0.0.1:43853/v1/models' } }),
    );
    const run = deploy(['--blessing', path, '--dry-run']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `${path} was made for --target workers and judged backend native (GET http://127.0.0.1:43853/v1/models)`,
    );
    expect(run.stderr).toContain('--target workers --url http://127.0.0.1:8787');
  });

  it('refuses a blessing of another bundle, naming the bundle the Worker embeds', () => {
    const other = sha256(readFileSync(join(ROOT, 'artifacts/news-transformer/manifest.json')));
    const path = write(
      'other.json',
      blessing({
        bundle: {
          dir: 'artifacts/news-transformer',
          name: 'news-transformer',
          version: '1.0.0',
          manifestSha256: other,
        },
      }),
    );
    const run = deploy(['--blessing', path, '--dry-run']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `deploy: refused: BLESSING_WRONG_BUNDLE: ${path} blesses news-transformer 1.0.0 ` +
        `(artifacts/news-transformer) with manifest.json sha256 ${other}`,
    );
    expect(run.stderr).toContain(`the Worker embeds news-bag 1.0.0`);
    expect(run.stderr).toContain('the blessing is not for this bundle');
  });

  it('refuses a blessing older than its report, naming the report', () => {
    const path = write('old.json', blessing());
    writeFileSync(report, readFileSync(report, 'utf8').replace('"mode": "quick"', '"mode": "full"'));
    const run = deploy(['--blessing', path, '--dry-run']);
    copyFileSync(join(ROOT, 'bench/baseline.json'), report);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `deploy: refused: BLESSING_STALE: The report ${report} changed since ${path} was made`,
    );
  });

  it('refuses a blessing older than a re-measurement it judged, naming the re-measurement', () => {
    const remeasured = join(scratch, 'report-remeasure-1.json');
    writeFileSync(remeasured, '{"a":1}');
    const path = write(
      'remeasured.json',
      blessing({ remeasurements: [{ path: remeasured, sha256: sha256(readFileSync(remeasured)) }] }),
    );
    writeFileSync(remeasured, '{"a":2}');
    const run = deploy(['--blessing', path, '--dry-run']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `deploy: refused: BLESSING_STALE: The re-measurement ${remeasured} changed since ${path} was made`,
    );
  });

  it('refuses a blessing with a failed item, naming the item and what to do', () => {
    const path = write(
      'failed.json',
      blessing({
        blessed: false,
        items: blessing().items.map((item) =>
          item.id === 'latency'
            ? {
                ...item,
                verdict: 'fail',
                detail: 'The gate fails: http-open/r20 p95 latency 4.60 ms (limit <= 1 ms).',
              }
            : item,
        ),
      }),
    );
    const run = deploy(['--blessing', path, '--dry-run']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `deploy: refused: BLESSING_FAILED: ${path} does not bless news-bag 1.0.0 (artifacts/news-bag): 1 item(s) failed:`,
    );
    expect(run.stderr).toContain(
      'latency (Latency requirements met): The gate fails: http-open/r20 p95 latency 4.60 ms (limit <= 1 ms).',
    );
  });

  it('refuses a blessing that ran only some of the items, naming those it did not run', () => {
    const path = write(
      'partial.json',
      blessing({ items: blessing().items.filter((item) => item.id !== 'alerts' && item.id !== 'logging') }),
    );
    const run = deploy(['--blessing', path, '--dry-run']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `deploy: refused: BLESSING_FAILED: ${path} does not bless news-bag 1.0.0 (artifacts/news-bag): it ran 7 of ` +
        'the 9 items (not alerts, logging).',
    );
  });

  it('runs wrangler deploy with the remaining arguments for a matching blessing', () => {
    const path = write('good.json', blessing());
    const outdir = join(scratch, 'worker');
    const run = deploy(['--blessing', path, '--dry-run', '--outdir', outdir]);
    expect(run.stderr).not.toContain('refused');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `deploy: ${path} blesses news-bag 1.0.0 (artifacts/news-bag): 9 items passed on wasm`,
    );
    expect(run.stdout).toContain('--dry-run: exiting now.');
    expect(existsSync(join(outdir, 'worker.js'))).toBe(true);
  });
});
