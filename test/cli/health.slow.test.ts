// `shipshape health` against a real `shipshape serve` child process: the table, --json, and the exit codes 0/1/2.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveThresholds } from '../../cli/commands/serve.ts';
import { CHECK_NAMES } from '../../runtime/monitor/index.ts';
import { ROOT } from '../helpers/bundle-copy.ts';
import { shipshape, startServe, type ServeProcess } from '../helpers/cli.ts';

const TOKEN = 'cli-health-token_01';
const AUTH = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };

/** `shipshape health` run while the test's event loop stays free for the servers it talks to. */
async function health(args: readonly string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [join(ROOT, 'bin/shipshape.js'), 'health', ...args], {
    cwd: ROOT,
    env: { ...process.env, SHIPSHAPE_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout, stderr };
}

describe('shipshape health', () => {
  let serve: ServeProcess;

  beforeAll(async () => {
    serve = await startServe(['--workers', '0'], { SHIPSHAPE_TOKEN: TOKEN });
  });
  afterAll(async () => {
    await serve.stop();
  });

  it('prints a table of the checks and the overall status, and exits 0 on a healthy service', async () => {
    const { code, stdout, stderr } = await health(['--url', serve.url, '--token', TOKEN]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^news-bag 1\.0\.0, checked \d{4}-\d\d-\d\dT/);
    expect(lines[1]).toMatch(/^check\s+status\s+value\s+threshold\s+samples$/);
    const rows = lines.slice(3, 11).map((line) => line.split(/\s+/)[0]);
    expect(rows).toEqual([...CHECK_NAMES]);
    // The latency threshold is bench/sla.json's http-open p95 (100 ms).
    expect(lines.find((line) => line.startsWith('p95_latency'))).toMatch(/<= 100\s/);
    expect(lines.slice(-2)).toEqual(['status: ok', 'alerts firing: none']);
  });

  it('prints the report as JSON with --json, taking the token from SHIPSHAPE_TOKEN', async () => {
    const { code, stdout } = await health(['--url', serve.url, '--json'], { SHIPSHAPE_TOKEN: TOKEN });
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { status: string; model: unknown; windows: unknown };
    expect(report.status).toBe('ok');
    expect(report.model).toEqual({ name: 'news-bag', version: '1.0.0' });
    expect(report.windows).toBeDefined();
  });

  it('exits 2 with the fix when the token is missing', async () => {
    const { code, stdout, stderr } = await health(['--url', serve.url]);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toMatch(
      /^shipshape health: http:\/\/127\.0\.0\.1:\d+\/v1\/health answered 401 UNAUTHORIZED: /,
    );
    expect(stderr).toContain('Pass --token (or set SHIPSHAPE_TOKEN).');
  });
});

describe('shipshape health on a failing service', () => {
  let serve: ServeProcess;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipshape-health-'));
    const config = join(dir, 'health.json');
    // A latency ceiling no request meets makes the service failing (latency is a critical check); feedback makes
    // accuracy bad (a warning).
    writeFileSync(config, JSON.stringify({ minFeedback: 5, minRequests: 1, maxP95LatencyMs: 0.001 }));
    serve = await startServe(['--workers', '0', '--health-config', config], { SHIPSHAPE_TOKEN: TOKEN });
    const predicted = await fetch(`${serve.url}/v1/predict`, {
      method: 'POST',
      headers: AUTH,
      body: JSON.stringify({
        texts: Array.from({ length: 10 }, () => 'The striker scored twice in the final'),
      }),
    });
    const { predictions } = (await predicted.json()) as { predictions: { id: string; label: string }[] };
    // Every prediction said Sports; the ground truth says Business.
    const answer = await fetch(`${serve.url}/v1/feedback`, {
      method: 'POST',
      headers: AUTH,
      body: JSON.stringify({ feedback: predictions.map(({ id }) => ({ id, label: 'Business' })) }),
    });
    expect(answer.status).toBe(200);
  });
  afterAll(async () => {
    await serve.stop();
  });

  it('exits 1 and shows the bad checks', async () => {
    const { code, stdout } = await health(['--url', serve.url, '--token', TOKEN]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^accuracy\s+bad\s+0\s+>= \S+\s+10\/5$/m);
    expect(stdout).toMatch(/^p95_latency\s+bad\s+\S+\s+<= 0\.001\s+1\/1$/m);
    expect(stdout).toContain('status: failing');
    expect(stdout).toMatch(/alerts firing: .*accuracy \(since /);
  });

  it('has logged one structured alert line for each bad check', async () => {
    await serve.waitForOutput(/"msg":"alert"/);
    const alerts = serve
      .output()
      .split('\n')
      .filter((line) => line.includes('"event":"alert"'))
      .map((line) => JSON.parse(line) as { level: string; kind: string; check: string });
    expect(alerts.map(({ level, kind, check }) => ({ level, kind, check }))).toEqual([
      { level: 'warn', kind: 'firing', check: 'accuracy' },
      { level: 'warn', kind: 'firing', check: 'p95_latency' },
    ]);
  });
});

describe('shipshape health without a shipshape service', () => {
  let other: Server;
  let otherUrl: string;

  beforeAll(async () => {
    other = createServer((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify({ status: 'up' }));
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => other.close(resolve));
  });

  it('exits 2 when the answer is not a shipshape health report', async () => {
    const { code, stderr } = await health(['--url', otherUrl]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/answered 200 with JSON that is not a shipshape health report/);
  });

  it('exits 2 when nothing listens, without a stack', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const { code, stdout, stderr } = shipshape(['health', '--url', `http://127.0.0.1:${port}`]);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toBe(
      `shipshape health: http://127.0.0.1:${port}/v1/health is unreachable (ECONNREFUSED).\n`,
    );
  });

  it('exits 2 for a URL that is not one', () => {
    const { code, stderr } = shipshape(['health', '--url', 'not a url']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^shipshape health: Invalid URL/);
  });
});

describe('the thresholds shipshape serve hands its monitors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shipshape-thresholds-'));
  const write = (name: string, json: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(json));
    return path;
  };
  const sla = write('sla.json', {
    schemaVersion: 1,
    scenarios: [
      { match: 'http-open/*', maxP95Ms: 250 },
      { match: 'http-open/r50', maxP95Ms: 180 },
      { match: 'in-process/**', maxP95Ms: 5 },
    ],
  });

  it("takes bench/sla.json's http-open p95 by default", async () => {
    expect(await serveThresholds({}, {})).toEqual({ maxP95LatencyMs: 100 });
  });

  it("takes the strictest http-open p95 of the --sla file, and none of the other scenarios'", async () => {
    expect(await serveThresholds({ sla }, {})).toEqual({ maxP95LatencyMs: 180 });
  });

  it('puts SHIPSHAPE_HEALTH_THRESHOLDS over the SLA, and --health-config over both', async () => {
    const healthConfig = write('health.json', { minTexts: 50 });
    const env = { SHIPSHAPE_HEALTH_THRESHOLDS: '{"maxP95LatencyMs":300,"minTexts":200,"maxOovRate":0.2}' };
    expect(await serveThresholds({ sla }, env)).toEqual({
      maxP95LatencyMs: 300,
      minTexts: 200,
      maxOovRate: 0.2,
    });
    expect(await serveThresholds({ sla, healthConfig }, env)).toEqual({
      maxP95LatencyMs: 300,
      minTexts: 50,
      maxOovRate: 0.2,
    });
  });

  it('refuses a --health-config with an unknown field, naming the file and the field', async () => {
    const healthConfig = write('bad.json', { maxOovRatio: 0.2 });
    await expect(serveThresholds({ healthConfig }, {})).rejects.toThrow(
      new RegExp(`--health-config ${healthConfig}.*maxOovRatio`),
    );
  });

  it('refuses a --health-config that is not JSON, naming the file', async () => {
    const healthConfig = join(dir, 'broken.json');
    writeFileSync(healthConfig, '{minTexts: 5');
    await expect(serveThresholds({ healthConfig }, {})).rejects.toThrow(
      `--health-config ${healthConfig}: cannot read it as JSON (`,
    );
  });
});
