// The HealthAggregator Durable Object on its own, in real workerd: deltas from two monitors (standing in for two
// isolates) merged into one view, feedback on either's ids, another model version refused.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DurableObjectStub } from '@cloudflare/workers-types/index.ts';
import type { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AggregateSnapshot } from '../../edge/health-aggregator.ts';
import type { Manifest } from '../../runtime/bundle/manifest.ts';
import { createHealthMonitor } from '../../runtime/monitor/index.ts';
import type { HealthMonitor } from '../../runtime/monitor/types.ts';
import {
  BUNDLE_DIR,
  IN_CI,
  requireEdgeBuild,
  hasWorkerd,
  durableObjectStorage,
  startWorkerd,
  type RunningServer,
} from './support.ts';

const HAS_WORKERD = hasWorkerd();

const manifest = JSON.parse(readFileSync(join(BUNDLE_DIR, 'manifest.json'), 'utf8')) as Manifest;

/** One session run of `labels.length` texts of 10 tokens each, one of them unknown. */
function run(monitor: HealthMonitor, labels: readonly number[]): void {
  monitor.record({
    backend: 'wasm',
    batchSize: labels.length,
    runMs: 1,
    totalMs: 2,
    tokens: 10 * labels.length,
    unknownTokens: labels.length,
    truncations: 0,
    labels,
    confidences: labels.map(() => 0.9),
    lengths: labels.map(() => 10),
  });
}

type Call = (op: string, body: unknown) => Promise<{ status: number; text: string }>;

/** `POST /<op>` to the aggregator behind `stub`, as the Worker's isolates call it. */
function caller(stub: DurableObjectStub): Call {
  return async (op, body) => {
    const response = await stub.fetch(`https://health-aggregator/${op}`, {
      method: 'POST',
      body: JSON.stringify(body),
    });
    return { status: response.status, text: await response.text() };
  };
}

describe.runIf(HAS_WORKERD)('the HealthAggregator Durable Object', () => {
  let server: RunningServer & { miniflare: Miniflare };
  let call: Call;

  beforeAll(async () => {
    requireEdgeBuild();
    server = await startWorkerd();
    const namespace = await server.miniflare.getDurableObjectNamespace('HEALTH');
    call = caller(namespace.get(namespace.idFromName('news-bag@1.0.0')) as unknown as DurableObjectStub);
  });
  afterAll(async () => {
    await server?.close();
  });

  it("adds up the texts and labels of two monitors' deltas", async () => {
    const a = createHealthMonitor(manifest);
    const b = createHealthMonitor(manifest);
    run(a, [0, 1, 1]);
    run(b, [2, 3]);
    run(b, [1]);
    expect((await call('ingest', { manifest, delta: a.takeDelta() })).status).toBe(204);
    expect((await call('ingest', { manifest, delta: b.takeDelta() })).status).toBe(204);
    const snapshot = JSON.parse((await call('snapshot', { manifest })).text) as AggregateSnapshot;
    expect(snapshot.totals.texts).toBe(6);
    expect(snapshot.totals.unknownTokens).toBe(6);
    expect(snapshot.totals.predictionsByLabel).toEqual({ World: 1, Sports: 3, Business: 1, 'Sci/Tech': 1 });
    expect(snapshot.report.checks.oov_rate.samples).toBe(6);
  });

  it('takes feedback on an id one monitor remembered, carried in its delta', async () => {
    const a = createHealthMonitor(manifest);
    const id = a.remember('Sports');
    expect((await call('ingest', { manifest, delta: a.takeDelta() })).status).toBe(204);
    const answer = await call('feedback', { manifest, id, label: 'Sports' });
    expect(JSON.parse(answer.text)).toEqual({ status: 'recorded', correct: true });
  });

  it('refuses a delta of another version with 409 HEALTH_DELTA_MISMATCH', async () => {
    const other = { ...manifest, version: '2.0.0' };
    const monitor = createHealthMonitor(other);
    run(monitor, [0]);
    const answer = await call('ingest', { manifest: other, delta: monitor.takeDelta() });
    expect({
      status: answer.status,
      code: (JSON.parse(answer.text) as { error: { code: string } }).error.code,
    }).toEqual({
      status: 409,
      code: 'HEALTH_DELTA_MISMATCH',
    });
  });
});

describe.runIf(HAS_WORKERD)('the HealthAggregator across a restart', () => {
  const storage = durableObjectStorage();

  /** Runs `body` against the aggregator of a fresh workerd whose Durable Objects keep their storage in `storage()`. */
  async function withAggregator(body: (call: Call) => Promise<void>): Promise<void> {
    const server = await startWorkerd({}, { durableObjectsDir: storage() });
    try {
      const namespace = await server.miniflare.getDurableObjectNamespace('HEALTH');
      await body(
        caller(namespace.get(namespace.idFromName('news-bag@1.0.0')) as unknown as DurableObjectStub),
      );
    } finally {
      await server.close();
    }
  }

  it('continues its counters from the stored totals, those its alarm wrote included', async () => {
    const monitor = createHealthMonitor(manifest);
    await withAggregator(async (call) => {
      run(monitor, [0, 1, 2]);
      // The first change is written at once; the second, within the second after it, by the alarm.
      expect((await call('ingest', { manifest, delta: monitor.takeDelta() })).status).toBe(204);
      run(monitor, [3]);
      expect((await call('ingest', { manifest, delta: monitor.takeDelta() })).status).toBe(204);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    });
    await withAggregator(async (call) => {
      run(monitor, [1, 1]);
      expect((await call('ingest', { manifest, delta: monitor.takeDelta() })).status).toBe(204);
      const snapshot = JSON.parse((await call('snapshot', { manifest })).text) as AggregateSnapshot;
      expect(snapshot.totals.texts).toBe(6);
      expect(snapshot.totals.predictionsByLabel).toEqual({ World: 1, Sports: 3, Business: 1, 'Sci/Tech': 1 });
    });
  });

  it('starts its windows empty after a restart: the checks have only the new texts', async () => {
    await withAggregator(async (call) => {
      const snapshot = JSON.parse((await call('snapshot', { manifest })).text) as AggregateSnapshot;
      expect(snapshot.report.checks.oov_rate.samples).toBe(0);
      expect(snapshot.totals.texts).toBe(6);
    });
  });
});

describe.runIf(!HAS_WORKERD && IN_CI)('the HealthAggregator without workerd', () => {
  it('fails in CI because workerd is missing', () => {
    throw new Error('workerd is not installed (node_modules/@cloudflare/workerd-*); run npm ci.');
  });
});
