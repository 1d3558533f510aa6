// The blessing binds the baseline history's latest full report too: the gate reads its samples, so a deploy must
// refuse a blessing whose latest report changed since.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChecklistOptions, ChecklistResult } from '../../ops/checklist/checklist.ts';
import {
  checkBlessing,
  createBlessing,
  sha256Hex,
  writeBlessing,
  type DeployTarget,
} from '../../ops/checklist/blessing.ts';

const scratch = mkdtempSync(join(tmpdir(), 'shipshape-blessing-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the blessing of a checklist judged against a baseline history', () => {
  const history = join(scratch, 'history.json');
  const latest = join(scratch, 'latest.json');
  copyFileSync('bench/baseline.json', latest);
  writeFileSync(
    history,
    JSON.stringify({
      ...JSON.parse(readFileSync('bench/baseline-history.json', 'utf8')),
      latest: 'latest.json',
    }),
  );
  const options: ChecklistOptions = {
    bundleDir: 'artifacts/news-bag',
    report: 'bench/baseline.json',
    sla: 'bench/sla.json',
    baseline: history,
    url: 'http://127.0.0.1:1',
    rules: 'ops/alerts/rules.yml',
  };
  // A checklist result with no items run: enough to bind the files; its verdicts are not what is tested here.
  const result: ChecklistResult = {
    passed: false,
    checkedAt: '2026-12-03T17:00:00.000Z',
    bundle: null,
    backend: { name: 'native', source: 'test' },
    url: options.url,
    requestIdPrefix: 'test',
    items: [],
  };
  const deploying: DeployTarget = {
    manifest: { bytes: readFileSync('artifacts/news-bag/manifest.json'), describe: 'news-bag' },
    target: 'node',
    backend: 'native',
    howToBless: 'shipshape checklist --bless',
  };

  it('hashes the latest report the history names, beside the history', async () => {
    const blessing = await createBlessing(result, options);
    expect(blessing.baselineLatest).toEqual({ path: latest, sha256: sha256Hex(readFileSync(latest)) });
  });

  it('is refused as BLESSING_STALE once the latest report changed', async () => {
    const path = join(scratch, 'blessing.json');
    await writeBlessing(path, await createBlessing(result, options));
    writeFileSync(latest, `${readFileSync(latest, 'utf8')}\n`);
    const check = await checkBlessing(path, deploying);
    expect(check).toMatchObject({ ok: false, code: 'BLESSING_STALE' });
    expect(check.ok ? '' : check.reason).toContain(`The baseline latest report ${latest} changed`);
  });
});
