// `shipshape gate` as a user runs it: a real child process on constructed report files.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shipshape } from '../helpers/cli.ts';
import { inProcessScenario, logNormalSamples, makeReport } from './fixtures.ts';

const ID = 'in-process/news-bag/native/b8';

describe('shipshape gate --summary', () => {
  let dir: string;
  let report: string;
  let passing: string;
  let failing: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'shipshape-gate-cli-'));
    report = join(dir, 'report.json');
    writeFileSync(report, JSON.stringify(makeReport([inProcessScenario(ID, logNormalSamples(200, 10, 1))])));
    passing = join(dir, 'sla-pass.json');
    writeFileSync(passing, JSON.stringify({ schemaVersion: 1, scenarios: [{ match: ID, maxP95Ms: 1000 }] }));
    failing = join(dir, 'sla-fail.json');
    writeFileSync(failing, JSON.stringify({ schemaVersion: 1, scenarios: [{ match: ID, maxP95Ms: 1 }] }));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // The README's `--summary "$GITHUB_STEP_SUMMARY"` outside GitHub Actions: the variable is unset, the value empty.
  const gate = (sla: string) =>
    shipshape(['gate', '--report', report, '--sla', sla, '--summary', ''], '', { GITHUB_STEP_SUMMARY: '' });

  it('ignores an empty --summary and exits 0 on a passing report, printing the summary', () => {
    const run = gate(passing);
    expect([run.code, run.stderr]).toEqual([0, '']);
    expect(run.stdout.split('\n')[0]).toBe('## shipshape gate: PASS');
  });

  it('ignores an empty --summary and exits 1 on a failing report, printing the summary', () => {
    const run = gate(failing);
    expect([run.code, run.stderr]).toEqual([1, '']);
    expect(run.stdout.split('\n')[0]).toBe('## shipshape gate: FAIL');
  });
});
