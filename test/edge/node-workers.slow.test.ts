// The Node server with the model in worker threads: the same answers as in-process, and `shipshape serve --workers`.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../edge/config.ts';
import { startNodeServer, type NodeServer } from '../../edge/node-server.ts';
import { shipshape, startServe } from '../helpers/cli.ts';
import { CONTRACT_VARS, describeApiContract, overHttp } from './api-contract.ts';
import { ROOT, requireEdgeBuild, readGoldenCases, request, startNode } from './support.ts';

const TRANSFORMER = join(ROOT, 'artifacts/news-transformer');
const SCORE_ATOL = 1e-5;

interface WirePredictions {
  backend: string;
  predictions: { label: string; scores: Record<string, number> }[];
}

describe('startNodeServer with workers: 2', () => {
  let pooled: NodeServer;
  let inProcess: NodeServer;

  beforeAll(async () => {
    const common = { bundle: TRANSFORMER, port: 0, config: readConfig({}), webDir: false } as const;
    [pooled, inProcess] = await Promise.all([
      startNodeServer({ ...common, workers: 2 }),
      startNodeServer({ ...common, workers: 0 }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([pooled?.close(), inProcess?.close()]);
  });

  it('answers /v1/predict like the in-process server: labels exact, scores within 1e-5', async () => {
    // As many as one request may carry (SHIPSHAPE_MAX_TEXTS, default 64), none blank (those are 422).
    const texts = readGoldenCases(TRANSFORMER)
      .map((c) => c.text)
      .filter((text) => text.trim() !== '')
      .slice(0, 64);
    const [fromPool, fromThread] = await Promise.all(
      [pooled, inProcess].map((server) =>
        request<WirePredictions>(`${server.url}/v1/predict`, { json: { texts } }),
      ),
    );
    expect([fromPool!.status, fromThread!.status]).toEqual([200, 200]);
    expect(fromPool!.body.backend).toBe(fromThread!.body.backend);
    const mismatches = fromPool!.body.predictions.filter((p, i) => {
      const q = fromThread!.body.predictions[i]!;
      return (
        p.label !== q.label ||
        Object.keys(q.scores).some((k) => !(Math.abs(p.scores[k]! - q.scores[k]!) <= SCORE_ATOL))
      );
    });
    expect(fromPool!.body.predictions).toHaveLength(64);
    expect(mismatches).toEqual([]);
  });
});

describe('Node server with 2 workers', () => {
  describeApiContract(
    'Node with a pool of 2 worker threads',
    async () => {
      requireEdgeBuild();
      return overHttp(await startNode(CONTRACT_VARS, { workers: 2 }));
    },
    ['native', 'wasm'],
    { transport: 'http', badContentLength: 'json-400' },
  );
});

describe('shipshape serve --workers', () => {
  it('starts 2 workers, answers a prediction and stops on SIGTERM', async () => {
    const server = await startServe(['--workers', '2', '--bundle', TRANSFORMER]);
    try {
      expect(server.banner).toMatch(
        /^shipshape serving news-transformer 1\.0\.0 on native \(2 workers\) at /,
      );
      const response = await request<WirePredictions>(`${server.url}/v1/predict`, {
        json: { text: 'The striker scored twice in the final' },
      });
      expect(response.status).toBe(200);
      expect(response.body.predictions[0]!.label).toBe('Sports');
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('takes the number of workers from SHIPSHAPE_WORKERS, where 0 runs the model in-process', async () => {
    const server = await startServe([], { SHIPSHAPE_WORKERS: '0' });
    try {
      expect(server.banner).toMatch(/^shipshape serving news-bag 1\.0\.0 on native at /);
    } finally {
      await server.stop();
    }
  });

  it('defaults to one worker per available core', async () => {
    const server = await startServe([]);
    const cores = availableParallelism();
    try {
      expect(server.banner).toContain(` on native (${cores} worker${cores === 1 ? '' : 's'}) at `);
    } finally {
      await server.stop();
    }
  });

  it('refuses a number of workers that is not an integer with exit code 2', () => {
    const result = shipshape(['serve', '--port', '0'], '', { SHIPSHAPE_WORKERS: 'many' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `option '--workers <n>' value 'many' from env 'SHIPSHAPE_WORKERS' is invalid. "many" is not a number of ` +
        "workers; use an integer from 0 (the model runs on the event loop's thread) to 1024.",
    );
  });
});
