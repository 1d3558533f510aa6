// The deployment checklist's items against a real `shipshape serve` (its output captured to a file as a supervisor
// would), the shipped bundles and copies of them, and the committed bench baseline as the report: a real quick
// report of this code that passes bench/sla.json. Each failure case runs only the items it is about, so the suite
// does not pay for `promtool test rules` (about 30 s) more than once; test/cli/checklist.slow.test.ts runs every item.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateGate } from '../../bench/gate/index.ts';
import { readReport } from '../../bench/report.ts';
import { readSla } from '../../bench/sla.ts';
import { createBlessing, sha256Hex } from '../../ops/checklist/blessing.ts';
import {
  ITEM_IDS,
  runChecklist,
  type ChecklistOptions,
  type ChecklistResult,
  type ItemId,
} from '../../ops/checklist/checklist.ts';
import { hasComponent } from '../edge/support.ts';
import { bundleDir, copyBundle, ROOT, tamper, type BundleCopy } from '../helpers/bundle-copy.ts';
import { startServe, type ServeProcess } from '../helpers/cli.ts';
import { generateRules, startCandidate } from '../helpers/deployment.ts';

const PROMTOOL = '/usr/bin/promtool';
const HAS_PROMTOOL = hasComponent('promtool', existsSync(PROMTOOL), 'apt-get install prometheus');

/** A loopback port nothing listens on: one the system just handed out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function verdicts(result: ChecklistResult): Record<string, string> {
  return Object.fromEntries(result.items.map((item) => [item.id, item.verdict]));
}

function item(result: ChecklistResult, id: ItemId) {
  const found = result.items.find((candidate) => candidate.id === id);
  if (found === undefined) throw new Error(`no item ${id} in ${JSON.stringify(verdicts(result))}`);
  return found;
}

describe('the deployment checklist against a running news-bag service', () => {
  let scratch = '';
  let serve: ServeProcess;
  let base: ChecklistOptions;
  const copies: BundleCopy[] = [];

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'shipshape-checklist-'));
    const candidate = await startCandidate(scratch);
    serve = candidate.serve;
    const { logs, rules } = candidate;
    base = {
      bundleDir: bundleDir('news-bag'),
      report: join(ROOT, 'bench/baseline.json'),
      sla: join(ROOT, 'bench/sla.json'),
      url: serve.url,
      logs,
      rules,
      promtool: PROMTOOL,
    };
  });
  afterAll(async () => {
    await serve?.stop();
    for (const copy of copies) copy.remove();
    rmSync(scratch, { recursive: true, force: true });
  });

  describe('with every item but alerts (test/cli/checklist.slow.test.ts runs alerts with the rest)', () => {
    let result: ChecklistResult;
    beforeAll(async () => {
      result = await runChecklist({ ...base, items: ITEM_IDS.filter((id) => id !== 'alerts') });
    });

    it('passes every item on the default bundle with a passing report', () => {
      expect(verdicts(result)).toEqual({
        vocabulary: 'pass',
        configs: 'pass',
        preprocessing: 'pass',
        batching: 'pass',
        memory: 'pass',
        latency: 'pass',
        'health-checks': 'pass',
        logging: 'pass',
      });
      expect(result.passed).toBe(true);
    });

    it('judges the backend the service names in GET /v1/models', () => {
      expect(result.backend).toEqual({ name: 'native', source: `GET ${serve.url}/v1/models` });
      expect(item(result, 'preprocessing').evidence).toMatch(
        / on native .*tokenizer 278\/278 cases; 256 of 278 cases/,
      );
    });

    it('compares the vocabulary with the embedding rows of the graph', () => {
      expect(item(result, 'vocabulary').evidence).toContain(
        'embedding.weight 4421 rows; vocab.txt: 4421 tokens',
      );
    });

    it('shows the batching gain of the largest batch over batch 1 from the report', () => {
      expect(item(result, 'batching').evidence).toMatch(/b1 [\d,]+ items\/s; b16 .*\(\d+\.\d\dx\), b64/);
    });

    it("finds an access-log line of its own request id and the startup line of the service's alert sinks", () => {
      const evidence = item(result, 'logging').evidence;
      expect(evidence).toContain(`access-log line for ${result.requestIdPrefix}-`);
      expect(evidence).toContain('startup line "alert sinks" ["log"]');
    });
  });

  it('fails preprocessing, naming the label order, when the labels of the bundle are reordered', async () => {
    const copy = copyBundle('news-bag');
    copies.push(copy);
    tamper.reorderLabels(copy);
    const result = await runChecklist({
      ...base,
      bundleDir: copy.dir,
      items: ['vocabulary', 'configs', 'preprocessing'],
    });
    expect(verdicts(result)).toEqual({ vocabulary: 'pass', configs: 'pass', preprocessing: 'fail' });
    expect(item(result, 'preprocessing').detail).toMatch(
      /^The parity proof failed: PARITY_MISMATCH: label order:/,
    );
  });

  it('fails configs and vocabulary when a label is missing from the manifest', async () => {
    const copy = copyBundle('news-bag');
    copies.push(copy);
    copy.editManifest((manifest) => {
      manifest.labels = (manifest.labels as string[]).slice(0, 3);
    });
    const result = await runChecklist({ ...base, bundleDir: copy.dir, items: ['vocabulary', 'configs'] });
    expect(verdicts(result)).toEqual({ vocabulary: 'fail', configs: 'fail' });
    expect(item(result, 'configs').detail).toContain('lists 3 labels but the model outputs 4 classes');
    expect(item(result, 'vocabulary').detail).toMatch(/^The bundle did not load: BUNDLE_MODEL_MISMATCH/);
  });

  describe('with the vocabulary cut short (rehashed, so only its length is wrong)', () => {
    function cutVocabulary(tokens: number): BundleCopy {
      const copy = copyBundle('news-bag');
      copies.push(copy);
      const lines = readFileSync(join(copy.dir, 'vocab.txt'), 'utf8').split('\n');
      copy.replaceFile('vocab.txt', `${lines.slice(0, tokens).join('\n')}\n`);
      return copy;
    }

    it('fails vocabulary, naming the embedding rows, when the ids of the golden cases still fit', async () => {
      const copy = cutVocabulary(4400);
      const result = await runChecklist({ ...base, bundleDir: copy.dir, items: ['vocabulary'] });
      expect(item(result, 'vocabulary').verdict).toBe('fail');
      expect(item(result, 'vocabulary').detail).toBe(
        "vocab.txt has 4400 tokens but the model's embedding embedding.weight has 4421 rows: the vocabulary is " +
          'not the full one the model was trained with. Export every token.',
      );
    });

    it('fails vocabulary, naming the first golden case past its end, when golden ids fall outside', async () => {
      const copy = cutVocabulary(4000);
      const result = await runChecklist({ ...base, bundleDir: copy.dir, items: ['vocabulary'] });
      expect(item(result, 'vocabulary').verdict).toBe('fail');
      expect(item(result, 'vocabulary').detail).toMatch(
        /^\d+ golden case\(s\) of parity\.jsonl use token ids past the 4000 tokens of vocab\.txt \(first: case /,
      );
    });
  });

  it('fails alerts, saying how to generate them, when the rules are missing', async () => {
    const missing = join(scratch, 'no-alerts');
    const result = await runChecklist({ ...base, rules: missing, items: ['alerts'] });
    expect(item(result, 'alerts')).toMatchObject({
      verdict: 'fail',
      evidence: `${join(missing, 'shipshape.rules.yml')}: missing`,
    });
    expect(item(result, 'alerts').detail).toContain(`npx shipshape alerts --bundle ${base.bundleDir}`);
  });

  it('fails alerts, saying how to install promtool, when promtool is not there', async () => {
    const result = await runChecklist({ ...base, promtool: join(scratch, 'no-promtool'), items: ['alerts'] });
    expect(item(result, 'alerts').verdict).toBe('fail');
    expect(item(result, 'alerts').detail).toContain('apt-get install prometheus');
  });

  it('fails latency, naming the failing gate check, when the SLA cannot be met', async () => {
    const sla = JSON.parse(readFileSync(join(ROOT, 'bench/sla.json'), 'utf8')) as { scenarios: object[] };
    sla.scenarios.push({ match: 'http-open/*', maxP95Ms: 0.001 });
    const impossible = join(scratch, 'impossible-sla.json');
    writeFileSync(impossible, JSON.stringify(sla));
    const result = await runChecklist({ ...base, sla: impossible, items: ['latency'] });
    expect(item(result, 'latency').verdict).toBe('fail');
    expect(item(result, 'latency').detail).toMatch(
      /^The gate fails: http-open\/r20 p95 latency .* \(limit <= 0\.001/,
    );
  });

  it('fails latency, asking for the measurement rather than speed, when a scenario the SLA needs is missing', async () => {
    const sla = JSON.parse(readFileSync(join(ROOT, 'bench/sla.json'), 'utf8')) as { scenarios: object[] };
    sla.scenarios.push({ match: 'http-open/never-measured', maxP95Ms: 100 });
    const unmeasured = join(scratch, 'unmeasured-sla.json');
    writeFileSync(unmeasured, JSON.stringify(sla));
    const result = await runChecklist({ ...base, sla: unmeasured, items: ['latency'] });
    expect(item(result, 'latency').verdict).toBe('fail');
    expect(item(result, 'latency').detail).toBe(
      'The gate fails: http-open/never-measured present missing (limit measured): no scenario in the report ' +
        'matches `http-open/never-measured`; run the bench with the scenario enabled or mark the rule ' +
        '`"optional": true`.',
    );
  });

  it('fails latency when the SLA checks no measurement at all', async () => {
    const sla = JSON.parse(readFileSync(join(ROOT, 'bench/sla.json'), 'utf8')) as { scenarios: object[] };
    sla.scenarios = [];
    const empty = join(scratch, 'empty-sla.json');
    writeFileSync(empty, JSON.stringify(sla));
    const result = await runChecklist({ ...base, sla: empty, items: ['latency'] });
    expect(item(result, 'latency').verdict).toBe('fail');
    expect(item(result, 'latency').detail).toMatch(/^No SLA limit of .*empty-sla\.json was checked/);
  });

  describe('with a re-measurement that `shipshape gate --remeasure` wrote next to the report', () => {
    let impossible = '';
    let report = '';
    let remeasured = '';
    /** The warnings the gate gives the unedited report under the real SLA: unstable scenarios, loose memory plans. */
    let warned = 0;
    beforeAll(async () => {
      // The SLA's http-open line is under the report's p95; the re-measurement of http-open/r20 meets it.
      const sla = JSON.parse(readFileSync(join(ROOT, 'bench/sla.json'), 'utf8')) as { scenarios: object[] };
      sla.scenarios.push({ match: 'http-open/*', maxP95Ms: 0.001 });
      impossible = join(scratch, 'remeasure-sla.json');
      writeFileSync(impossible, JSON.stringify(sla));
      const baseline = readFileSync(join(ROOT, 'bench/baseline.json'), 'utf8');
      report = join(scratch, 'report.json');
      writeFileSync(report, baseline);
      const gate = evaluateGate({
        report: await readReport(report),
        sla: await readSla(join(ROOT, 'bench/sla.json')),
      });
      warned = gate.checks.filter((c) => c.verdict === 'warn').length;
      const again = JSON.parse(baseline) as { scenarios: { id: string; latency?: any }[] };
      again.scenarios = again.scenarios.filter((s) => s.id === 'http-open/r20');
      again.scenarios[0]!.latency.percentiles.p95.ms = 0.0005;
      remeasured = join(scratch, 'report-remeasure-1.json');
      writeFileSync(remeasured, JSON.stringify(again));
    });

    it('passes latency when the re-measurement did not reproduce the failure, as the gate does', async () => {
      const result = await runChecklist({ ...base, report, sla: impossible, items: ['latency'] });
      expect(item(result, 'latency').verdict).toBe('pass');
      // The cleared failure, and the warnings the report gets anyway (its unstable scenarios, loose memory plans).
      expect(warned).toBeGreaterThan(0);
      expect(item(result, 'latency').evidence).toContain(
        `${1 + warned} warnings (with the re-measurements ${remeasured})`,
      );
    });

    it('blesses the re-measurement the latency item read, by path and sha256, with the target and backend', async () => {
      const options = { ...base, report, sla: impossible, items: ['latency'] as ItemId[] };
      const result = await runChecklist(options);
      const blessing = await createBlessing(result, options);
      expect(blessing.remeasurements).toEqual([
        { path: remeasured, sha256: sha256Hex(readFileSync(remeasured)) },
      ]);
      expect(blessing.target).toBe('node');
      expect(blessing.backend.name).toBe('native');
    });

    it('ignores a re-measurement older than the report', async () => {
      const older = new Date(statSync(report).mtimeMs - 60_000);
      utimesSync(remeasured, older, older);
      const result = await runChecklist({ ...base, report, sla: impossible, items: ['latency'] });
      expect(item(result, 'latency').verdict).toBe('fail');
      expect(item(result, 'latency').evidence).not.toContain('re-measurements');
    });
  });

  describe('with a report edited where batching and the memory plan are read', () => {
    interface EditableReport {
      scenarios: { id: string; params: { batchSize?: number }; throughput?: { itemsPerSecond: number } }[];
      memoryPlans: {
        bundle: string;
        backend: string;
        verdict: string;
        bytesPerItem: number;
        maxBatchSizeWithinBudget: number | null;
      }[];
    }
    /** The native news-bag memory plan of `report`, the one the checklist reads for the running service. */
    function nativePlan(report: EditableReport) {
      const plan = report.memoryPlans.find((p) => p.bundle === 'news-bag' && p.backend === 'native');
      if (plan === undefined) throw new Error('the baseline has a native memory plan for news-bag');
      return plan;
    }
    /** bench/baseline.json with `edit` applied, written to the scratch folder. */
    function editedReport(file: string, edit: (report: EditableReport) => void): string {
      const report = JSON.parse(readFileSync(join(ROOT, 'bench/baseline.json'), 'utf8')) as EditableReport;
      edit(report);
      const path = join(scratch, file);
      writeFileSync(path, JSON.stringify(report));
      return path;
    }

    it('fails batching when no batch above 1 serves more items/s than batch 1', async () => {
      const report = editedReport('no-gain.json', (r) => {
        const b1 = r.scenarios.find((s) => s.id === 'in-process/news-bag/native/b1')?.throughput
          ?.itemsPerSecond;
        for (const s of r.scenarios) {
          if (s.id.startsWith('in-process/news-bag/native/b') && (s.params.batchSize ?? 1) > 1) {
            if (s.throughput !== undefined && b1 !== undefined) s.throughput.itemsPerSecond = 0.75 * b1;
          }
        }
      });
      const result = await runChecklist({ ...base, report, items: ['batching'] });
      expect(item(result, 'batching').verdict).toBe('fail');
      expect(item(result, 'batching').detail).toMatch(
        /^No batch size serves more items\/s than batch 1 \(best: b\d+ at 0\.75x\)/,
      );
    });

    it('fails batching when the report measured batch 1 only', async () => {
      const report = editedReport('b1-only.json', (r) => {
        r.scenarios = r.scenarios.filter((s) => !/^in-process\/news-bag\/native\/b(16|64)$/.test(s.id));
      });
      const result = await runChecklist({ ...base, report, items: ['batching'] });
      expect(item(result, 'batching')).toMatchObject({
        verdict: 'fail',
        evidence: `${report}: in-process/news-bag/native/* measured at batch 1`,
      });
      expect(item(result, 'batching').detail).toMatch(
        /^The report has no batch size above 1 of news-bag on native/,
      );
    });

    it('fails memory when the memory plan did not check itself', async () => {
      const report = editedReport('plan-failed.json', (r) => {
        nativePlan(r).verdict = 'fail';
      });
      const result = await runChecklist({ ...base, report, items: ['memory'] });
      expect(item(result, 'memory').verdict).toBe('fail');
      expect(item(result, 'memory').detail).toMatch(/^The memory plan did not check itself \(fail: /);
    });

    it('fails memory, naming the largest batch that fits, when the serving batch outgrows the budget', async () => {
      // 1 MiB a text: the 512 MiB budget runs out a few hundred texts in, whatever the measured overhead.
      const report = editedReport('plan-steep.json', (r) => {
        nativePlan(r).bytesPerItem = 1024 * 1024;
      });
      const result = await runChecklist({ ...base, report, batchSize: 100_000, items: ['memory'] });
      expect(item(result, 'memory').verdict).toBe('fail');
      expect(item(result, 'memory').detail).toMatch(
        /^At batch 100000 the planned peak .* exceeds the 512\.0 MiB budget; the largest batch within it is \d+\./,
      );
    });

    it('fails memory past the largest batch the plan vouches for, even where its line stays in budget', async () => {
      // A plan whose memory did not grow with the batch fits any batch on its line; it vouches only up to its cap.
      const report = editedReport('plan-flat.json', (r) => {
        const plan = nativePlan(r);
        plan.bytesPerItem = 0;
        plan.maxBatchSizeWithinBudget = 4096;
      });
      const result = await runChecklist({ ...base, report, batchSize: 100_000, items: ['memory'] });
      expect(item(result, 'memory').verdict).toBe('fail');
      expect(item(result, 'memory').detail).toMatch(
        /^At batch 100000 the plan cannot promise the peak within the 512\.0 MiB budget: the largest batch it vouches for is 4096 /,
      );
      const within = await runChecklist({ ...base, report, batchSize: 4096, items: ['memory'] });
      expect(item(within, 'memory').verdict).toBe('pass');
    });
  });

  it('fails logging, saying what to pass, without the service output', async () => {
    const withoutLogs = { ...base };
    delete withoutLogs.logs;
    const result = await runChecklist({ ...withoutLogs, items: ['logging'] });
    expect(item(result, 'logging')).toMatchObject({ verdict: 'fail', evidence: 'no --logs' });
    expect(item(result, 'logging').detail).toContain('pass --logs FILE');
  });

  it('fails logging when the output given is not the service’s (no access-log line of the checklist)', async () => {
    const other = join(scratch, 'other.log');
    writeFileSync(
      other,
      readFileSync(base.logs!, 'utf8')
        .split('\n')
        .filter((l) => !l.includes('"msg":"request"'))
        .join('\n'),
    );
    const result = await runChecklist({ ...base, logs: other, logWaitMs: 500, items: ['logging'] });
    expect(item(result, 'logging').verdict).toBe('fail');
    expect(item(result, 'logging').detail).toMatch(/^no JSON access-log line for the checklist's requests/);
  });

  it('fails health-checks when the service serves another bundle than the one checked', async () => {
    const result = await runChecklist({
      ...base,
      bundleDir: bundleDir('news-transformer'),
      items: ['health-checks'],
    });
    expect(item(result, 'health-checks').verdict).toBe('fail');
    expect(item(result, 'health-checks').detail).toContain(
      'the service serves news-bag 1.0.0, not the bundle checked (news-transformer 1.0.0)',
    );
  });

  it('fails health-checks when the service serves the same name and version with other labels', async () => {
    const copy = copyBundle('news-bag');
    copies.push(copy);
    copy.editManifest((manifest) => {
      manifest.labels = ['World', 'Sport', 'Business', 'Sci/Tech'];
    });
    const result = await runChecklist({ ...base, bundleDir: copy.dir, items: ['health-checks'] });
    expect(item(result, 'health-checks').verdict).toBe('fail');
    expect(item(result, 'health-checks').detail).toContain(
      'the service serves another news-bag 1.0.0 than the bundle checked (labels ' +
        '["World","Sports","Business","Sci/Tech"], the bundle checked ["World","Sport","Business","Sci/Tech"])',
    );
  });

  it('fails health-checks and judges the default backend when nothing answers at the URL', async () => {
    const port = await closedPort();
    const result = await runChecklist({ ...base, url: `http://127.0.0.1:${port}`, items: ['health-checks'] });
    expect(item(result, 'health-checks').verdict).toBe('fail');
    expect(item(result, 'health-checks').detail).toContain(
      `GET http://127.0.0.1:${port}/healthz: ECONNREFUSED`,
    );
    expect(result.backend).toEqual({ name: 'native', source: 'the default for --target node' });
  });

  describe('against a service that needs a bearer token', () => {
    let guarded: ServeProcess;
    beforeAll(async () => {
      guarded = await startServe(['--bundle', 'artifacts/news-bag', '--workers', '0'], {
        SHIPSHAPE_TOKEN: 'sesame',
      });
    });
    afterAll(async () => {
      await guarded?.stop();
    });

    it('passes health-checks and asks the backend with the token', async () => {
      const result = await runChecklist({
        ...base,
        url: guarded.url,
        token: 'sesame',
        items: ['health-checks'],
      });
      expect(item(result, 'health-checks').verdict).toBe('pass');
      expect(result.backend.source).toBe(`GET ${guarded.url}/v1/models`);
    });

    it('fails health-checks naming the 401 of /v1/models without the token', async () => {
      const result = await runChecklist({ ...base, url: guarded.url, items: ['health-checks'] });
      expect(item(result, 'health-checks').verdict).toBe('fail');
      expect(item(result, 'health-checks').detail).toContain(`GET ${guarded.url}/v1/models answered 401`);
    });
  });

  it.runIf(HAS_PROMTOOL)(
    'fails alerts, quoting promtool, when promtool check rules refuses the rules',
    async () => {
      const broken = join(scratch, 'broken-alerts');
      generateRules(broken);
      const rulesFile = join(broken, 'shipshape.rules.yml');
      writeFileSync(rulesFile, readFileSync(rulesFile, 'utf8').replace('> 0.037445', '> > 0.037445'));
      const result = await runChecklist({ ...base, rules: broken, items: ['alerts'] });
      expect(item(result, 'alerts')).toMatchObject({
        verdict: 'fail',
        evidence: `promtool check rules ${rulesFile}: exit 1`,
      });
      expect(item(result, 'alerts').detail).toMatch(/^promtool refuses the rules: /);
    },
  );
});
