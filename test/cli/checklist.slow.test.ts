// `shipshape checklist` as CI runs it: a real `shipshape serve` with its output captured, rules from `shipshape
// alerts`, Debian's promtool, the committed bench baseline as the report (a real quick report that passes
// bench/sla.json); every item, the table, Markdown, JSON and the blessing.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blessingSchema, type Blessing } from '../../ops/checklist/blessing.ts';
import { ITEM_IDS } from '../../ops/checklist/checklist.ts';
import { hasComponent, IN_CI } from '../edge/support.ts';
import { ROOT } from '../helpers/bundle-copy.ts';
import { shipshape, shipshapeAsync, type CliResult, type ServeProcess } from '../helpers/cli.ts';
import { startCandidate } from '../helpers/deployment.ts';

const PROMTOOL = '/usr/bin/promtool';
const HAS_PROMTOOL = hasComponent('promtool', existsSync(PROMTOOL), 'apt-get install prometheus');

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

function readBlessing(path: string): Blessing {
  return blessingSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
}

describe.runIf(HAS_PROMTOOL)('shipshape checklist on the default deployment', () => {
  let scratch = '';
  let serve: ServeProcess;
  let passing: CliResult;
  let failing: CliResult;
  const files = { blessing: '', markdown: '', json: '', failedBlessing: '' };

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'shipshape-checklist-cli-'));
    files.blessing = join(scratch, 'blessing.json');
    files.markdown = join(scratch, 'checklist.md');
    files.json = join(scratch, 'checklist.json');
    files.failedBlessing = join(scratch, 'failed-blessing.json');
    const candidate = await startCandidate(scratch);
    serve = candidate.serve;
    const { logs, rules } = candidate;
    const common = ['checklist', '--bundle', 'artifacts/news-bag', '--report', 'bench/baseline.json'];
    const more = ['--sla', 'bench/sla.json', '--url', serve.url, '--logs', logs, '--promtool', PROMTOOL];
    passing = await shipshapeAsync([
      ...common,
      ...more,
      '--rules',
      rules,
      '--markdown',
      files.markdown,
      '--json',
      files.json,
      '--bless',
      files.blessing,
    ]);
    failing = await shipshapeAsync([
      ...common,
      ...more,
      '--rules',
      join(scratch, 'no-alerts'),
      '--bless',
      files.failedBlessing,
    ]);
  }, 240_000);
  afterAll(async () => {
    await serve?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('exits 0 and prints every item passed, with its evidence, on the default bundle', () => {
    expect(passing.stderr).toBe('');
    expect(passing.code).toBe(0);
    for (const id of ITEM_IDS) expect(passing.stdout).toMatch(new RegExp(`^${id} +pass +\\S`, 'm'));
    expect(passing.stdout).toContain('checklist: PASS (9 of 9 items passed)');
    expect(passing.stdout).toMatch(
      /^alerts +pass +promtool check rules .*: SUCCESS: 22 rules found; promtool test rules .*: SUCCESS$/m,
    );
  });

  it('writes the Markdown summary and the JSON result', () => {
    const markdown = readFileSync(files.markdown, 'utf8');
    expect(markdown).toMatch(/^## shipshape checklist: PASS\n/);
    expect(markdown).toContain('| Monitoring | Alerts set up (`alerts`) | pass |');
    const json = JSON.parse(readFileSync(files.json, 'utf8')) as { passed: boolean; items: { id: string }[] };
    expect(json.passed).toBe(true);
    expect(json.items.map((item) => item.id)).toEqual([...ITEM_IDS]);
  });

  it('blesses the bundle, recording the hashes of its manifest, the report and the SLA, where it was made, and every verdict', () => {
    const blessing = readBlessing(files.blessing);
    expect(blessing.blessed).toBe(true);
    expect(blessing.bundle).toEqual({
      dir: 'artifacts/news-bag',
      name: 'news-bag',
      version: '1.0.0',
      manifestSha256: sha256(join(ROOT, 'artifacts/news-bag/manifest.json')),
    });
    expect(blessing.report).toEqual({
      path: 'bench/baseline.json',
      sha256: sha256(join(ROOT, 'bench/baseline.json')),
    });
    expect(blessing.sla).toEqual({ path: 'bench/sla.json', sha256: sha256(join(ROOT, 'bench/sla.json')) });
    expect(blessing.remeasurements).toEqual([]);
    expect(blessing.target).toBe('node');
    expect(blessing.backend).toEqual({ name: 'native', source: `GET ${serve.url}/v1/models` });
    expect(blessing.items.map((item) => [item.id, item.verdict])).toEqual(ITEM_IDS.map((id) => [id, 'pass']));
    expect(blessing.shipshapeVersion).toBe(
      (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version,
    );
  });

  it('exits 1 naming the alerts item when the rules are missing, and still writes an unblessed blessing', () => {
    expect(failing.code).toBe(1);
    expect(failing.stdout).toMatch(/^alerts +FAIL +.*no-alerts\/shipshape\.rules\.yml: missing$/m);
    expect(failing.stdout).toContain('checklist: FAIL (8 of 9 items passed; failed: alerts)');
    const blessing = readBlessing(files.failedBlessing);
    expect(blessing.blessed).toBe(false);
    expect(blessing.items.filter((item) => item.verdict === 'fail').map((item) => item.id)).toEqual([
      'alerts',
    ]);
  });
});

describe.runIf(!HAS_PROMTOOL && IN_CI)('shipshape checklist without promtool', () => {
  it('needs promtool in CI (apt-get install prometheus)', () => {
    expect(existsSync(PROMTOOL)).toBe(true);
  });
});

describe('shipshape checklist given a bad URL', () => {
  it('exits 2 with a usage error naming the URL when it is not http(s)', () => {
    const result = shipshape(['checklist', '--url', 'ftp://127.0.0.1:8787']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      "error: option '--url <url>' argument 'ftp://127.0.0.1:8787' is invalid. expected an http(s) URL",
    );
  });

  it('exits 2 with a usage error when the URL does not parse', () => {
    const result = shipshape(['checklist', '--url', '127.0.0.1:8787']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `expected the service's base URL, e.g. http://127.0.0.1:8787, got "127.0.0.1:8787".`,
    );
  });
});
