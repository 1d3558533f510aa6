// `shipshape alerts`: the generated rules pass `promtool check rules`, and their generated unit tests pass
// `promtool test rules` (each alert fires on a bad series and stays quiet on a good one), with Debian's promtool.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { RULES_FILE, RULES_TEST_FILE } from '../../cli/commands/alerts.ts';
import type { AlertingRule, RuleFile, RuleTestFile } from '../../ops/alerts/rules.ts';
import { INFERENCE_ROUTES } from '../../edge/routes.ts';
import { copyBundle, type BundleCopy } from '../helpers/bundle-copy.ts';
import { shipshape, type CliResult } from '../helpers/cli.ts';

const PROMTOOL = '/usr/bin/promtool';

function promtool(args: readonly string[]): { code: number | null; output: string } {
  if (!existsSync(PROMTOOL)) {
    throw new Error(
      `${PROMTOOL} is missing: install Debian's prometheus package (apt-get install prometheus).`,
    );
  }
  const result = spawnSync(PROMTOOL, args, { encoding: 'utf8', timeout: 300_000 });
  return { code: result.status, output: result.stdout + result.stderr };
}

function alertsOf(rules: RuleFile): AlertingRule[] {
  return rules.groups.flatMap((g) => g.rules.filter((r): r is AlertingRule => 'alert' in r));
}

describe('shipshape alerts', () => {
  const dirs: string[] = [];
  let out = '';
  let run: CliResult;
  let rules: RuleFile;
  let tests: RuleTestFile;

  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'shipshape-alerts-'));
    dirs.push(out);
    run = shipshape(['alerts', '--bundle', 'artifacts/news-bag', '--sla', 'bench/sla.json', '--out', out]);
    rules = parse(readFileSync(join(out, RULES_FILE), 'utf8')) as RuleFile;
    tests = parse(readFileSync(join(out, RULES_TEST_FILE), 'utf8')) as RuleTestFile;
  });
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('writes both files and prints one summary row per alert', () => {
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('(10 recording rules, 12 alerts)');
    for (const alert of alertsOf(rules)) expect(run.stdout).toContain(`| ${alert.alert} | `);
    expect(run.stdout).not.toContain('Not generated');
  });

  it("takes the latency line from the SLA's http-open p95 and the OOV ceiling from the bundle's reference rate", () => {
    const exprs = alertsOf(rules).map((a) => a.expr);
    const recorded = rules.groups[0]!.rules.map((r) => ('record' in r ? r.expr : '')).join('\n');
    expect(recorded).toContain(
      'shipshape_http_request_duration_seconds_bucket{route=~"/v1/predict|/v2/models/:name/infer|/v2/models/:name/versions/:version/infer",le="0.1"}[1h]',
    );
    // news-bag's reference OOV rate is 0.017445: max(2 x 0.017445, 0.017445 + 0.02) = 0.037445.
    expect(exprs.find((e) => e.includes('shipshape_unknown_tokens_total'))).toContain('> 0.037445');
  });

  it('selects exactly the routes the edge counts as inference for its latency and error checks', () => {
    const recorded = rules.groups[0]!.rules.map((r) => ('record' in r ? r.expr : '')).join('\n');
    const matchers = new Set([...recorded.matchAll(/route=~"([^"]*)"/g)].map((m) => m[1]));
    expect([...matchers]).toHaveLength(1);
    expect(new Set([...matchers][0]?.split('|'))).toEqual(INFERENCE_ROUTES);
  });

  it('gives every alert a severity, a summary and description showing its value, and a runbook with steps', () => {
    for (const alert of alertsOf(rules)) {
      expect(['page', 'ticket']).toContain(alert.labels.severity);
      expect(alert.annotations.summary).toMatch(/\$value/);
      expect(alert.annotations.description).toMatch(/\$value/);
      expect(alert.annotations.runbook).toMatch(/^1\. Look: .*\n2\. /);
    }
  });

  it('gives every alert at least one unit test where it fires and one where it stays quiet', () => {
    for (const alert of alertsOf(rules)) {
      const cases = tests.tests.flatMap((t) => t.alert_rule_test).filter((t) => t.alertname === alert.alert);
      expect(
        cases.filter((c) => c.exp_alerts.length === 1),
        alert.alert,
      ).not.toHaveLength(0);
      expect(
        cases.filter((c) => c.exp_alerts.length === 0),
        alert.alert,
      ).not.toHaveLength(0);
    }
  });

  it('writes rules that pass promtool check rules', () => {
    const result = promtool(['check', 'rules', join(out, RULES_FILE)]);
    expect(result.output).toContain('SUCCESS: 22 rules found');
    expect(result.code).toBe(0);
  });

  it('writes unit tests that pass promtool test rules: each alert fires on its bad series, quiet on its good one', () => {
    const result = promtool(['test', 'rules', join(out, RULES_TEST_FILE)]);
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  }, 300_000);

  it('writes unit tests that fail when an alert threshold is wrong (the OOV ceiling raised to 50%)', () => {
    const broken = mkdtempSync(join(tmpdir(), 'shipshape-alerts-broken-'));
    dirs.push(broken);
    writeFileSync(
      join(broken, RULES_FILE),
      readFileSync(join(out, RULES_FILE), 'utf8').replace('> 0.037445', '> 0.5'),
    );
    const oovOnly = tests.tests.filter((t) => t.alert_rule_test[0]?.alertname === 'ShipshapeOovRateHigh');
    writeFileSync(join(broken, RULES_TEST_FILE), stringify({ ...tests, tests: oovOnly }));
    const result = promtool(['test', 'rules', join(broken, RULES_TEST_FILE)]);
    expect(result.code).toBe(1);
    expect(result.output).toMatch(/alertname: ShipshapeOovRateHigh[\s\S]*exp:[\s\S]*got:\s*\[\]/);
  });

  it('takes the OOV ceiling from SHIPSHAPE_HEALTH_THRESHOLDS, as serve does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipshape-alerts-env-'));
    dirs.push(dir);
    const result = shipshape(['alerts', '--out', dir], '', {
      SHIPSHAPE_HEALTH_THRESHOLDS: JSON.stringify({ maxOovRate: 0.25 }),
    });
    expect(result.code).toBe(0);
    const oov = alertsOf(parse(readFileSync(join(dir, RULES_FILE), 'utf8')) as RuleFile).find(
      (a) => a.alert === 'ShipshapeOovRateHigh',
    );
    expect(oov?.expr).toContain('> 0.25');
    expect(oov?.expr).not.toContain('0.037445');
  });

  it('lets --health-config win over SHIPSHAPE_HEALTH_THRESHOLDS, as serve does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipshape-alerts-env-config-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'health.json'), JSON.stringify({ maxOovRate: 0.3 }));
    const result = shipshape(['alerts', '--out', dir, '--health-config', join(dir, 'health.json')], '', {
      SHIPSHAPE_HEALTH_THRESHOLDS: JSON.stringify({ maxOovRate: 0.25 }),
    });
    expect(result.code).toBe(0);
    const oov = alertsOf(parse(readFileSync(join(dir, RULES_FILE), 'utf8')) as RuleFile).find(
      (a) => a.alert === 'ShipshapeOovRateHigh',
    );
    expect(oov?.expr).toContain('> 0.3');
  });

  it('refuses a latency threshold that is not a bucket bound, naming the bounds around it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipshape-alerts-config-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'health.json'), JSON.stringify({ maxP95LatencyMs: 90 }));
    const result = shipshape(['alerts', '--out', dir, '--health-config', join(dir, 'health.json')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'shipshape: INPUT_INVALID: Latency threshold 90 ms is not a bucket bound of shipshape_http_request_duration_seconds',
    );
    expect(result.stderr).toContain('Use a bound: 80 or 100 ms');
  });

  it('matches a whole-second latency line as Prometheus 2 and 3 store it (le="1" and le="1.0")', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipshape-alerts-1s-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'health.json'), JSON.stringify({ maxP95LatencyMs: 1000 }));
    const result = shipshape(['alerts', '--out', dir, '--health-config', join(dir, 'health.json')]);
    expect(result.code).toBe(0);
    const all = parse(readFileSync(join(dir, RULES_TEST_FILE), 'utf8')) as RuleTestFile;
    const fast = all.tests.filter((t) => t.alert_rule_test[0]?.alertname === 'ShipshapeLatencyBurnFast');
    const text = stringify({ ...all, tests: fast });
    expect(text).toContain('le="1"');
    writeFileSync(join(dir, 'v2.test.yml'), text);
    writeFileSync(join(dir, 'v3.test.yml'), text.replaceAll('le="1"', 'le="1.0"'));
    const proof = promtool(['test', 'rules', join(dir, 'v2.test.yml'), join(dir, 'v3.test.yml')]);
    expect(proof.output).not.toContain('FAILED');
    expect(proof.code).toBe(0);
  });

  describe('for a bundle without calibration data', () => {
    let bundle: BundleCopy;
    beforeAll(() => {
      bundle = copyBundle('news-bag');
      bundle.editManifest((m) => {
        delete m.calibration;
      });
    });
    afterAll(() => bundle.remove());

    it('leaves out the estimated-accuracy alert and says why', () => {
      const dir = mkdtempSync(join(tmpdir(), 'shipshape-alerts-uncalibrated-'));
      dirs.push(dir);
      const result = shipshape(['alerts', '--bundle', bundle.dir, '--out', dir]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(
        'Not generated: ShipshapeEstimatedAccuracyLow: the bundle has no calibration section, so the monitor cannot estimate accuracy.',
      );
      expect(readFileSync(join(dir, RULES_FILE), 'utf8')).not.toContain('ShipshapeEstimatedAccuracyLow');
    });
  });
});
