// Model swaps on the Node server: under steady load with no failed request, refused when the new bundle fails its
// verification (the old model serves on), behind the admin token, and on SIGHUP.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readConfig } from '../../edge/config.ts';
import type { ModelSwap } from '../../edge/model-slot.ts';
import { startNodeServer, type NodeServer } from '../../edge/node-server.ts';
import type { Predictor } from '../../runtime/types.ts';
import { copyBundle, type BundleCopy } from '../helpers/bundle-copy.ts';
import { startServe } from '../helpers/cli.ts';
import { request, startNode, type RunningServer, type WireError } from './support.ts';

const ADMIN_TOKEN = 'admin-token-1';
const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };

interface ModelsBody {
  models: { name: string; version: string; ready: boolean }[];
}
interface PredictBody {
  model: { name: string; version: string };
  predictions: { label: string }[];
}

async function startWithAdmin(bundle: string): Promise<NodeServer> {
  return startNodeServer({
    bundle,
    port: 0,
    host: '127.0.0.1',
    config: readConfig({ SHIPSHAPE_ADMIN_TOKEN: ADMIN_TOKEN }),
    webDir: false,
  });
}

const reload = (server: NodeServer, headers: Record<string, string> = admin) =>
  request<ModelSwap & WireError>(`${server.url}/admin/reload`, { method: 'POST', headers });

const servedVersion = async (server: NodeServer) =>
  (await request<ModelsBody>(`${server.url}/v1/models`)).body.models[0]!.version;

describe('a model swap under steady load', () => {
  const CLIENTS = 6;
  let copy: BundleCopy;
  let server: NodeServer;
  let swaps: { status: number; body: unknown }[];
  let outcomes: { status: number | string; version?: string }[][];
  let first: Predictor | undefined;

  beforeAll(async () => {
    copy = copyBundle('news-bag');
    server = await startWithAdmin(copy.dir);
    first = server.edge.model.current;
    let stop = false;
    outcomes = Array.from({ length: CLIENTS }, () => []);
    const client = async (seen: { status: number | string; version?: string }[], id: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const response = await request<PredictBody>(`${server.url}/v1/predict`, {
            json: {
              texts: [`client ${id} request ${i}: Lakers win the title`, 'Stocks fall as oil prices surge'],
            },
          });
          seen.push({ status: response.status, version: response.body.model?.version });
        } catch (error) {
          seen.push({ status: String(error) });
        }
      }
    };
    const traffic = outcomes.map((seen, id) => client(seen, id));
    // Each client has requests before, between and after the two swaps.
    const moreRequests = async () => {
      const counts = outcomes.map((seen) => seen.length);
      await vi.waitFor(
        () => outcomes.forEach((seen, i) => expect(seen.length).toBeGreaterThan(counts[i]! + 3)),
        {
          timeout: 60_000,
          interval: 10,
        },
      );
    };
    swaps = [];
    await moreRequests();
    for (const version of ['1.0.1', '1.0.2']) {
      copy.editManifest((manifest) => (manifest.version = version));
      const response = await reload(server);
      swaps.push({ status: response.status, body: response.body });
      await moreRequests();
    }
    stop = true;
    await Promise.all(traffic);
  }, 180_000);
  afterAll(async () => {
    await server?.close();
    copy?.remove();
  });

  it('answers every request 200', () => {
    const failed = outcomes.flat().filter((outcome) => outcome.status !== 200);
    expect(failed).toEqual([]);
  });

  it('answers each admin reload 200 with the previous and the new version', () => {
    expect(swaps).toEqual([
      {
        status: 200,
        body: {
          previous: { name: 'news-bag', version: '1.0.0' },
          current: { name: 'news-bag', version: '1.0.1' },
          backend: 'native',
        },
      },
      {
        status: 200,
        body: {
          previous: { name: 'news-bag', version: '1.0.1' },
          current: { name: 'news-bag', version: '1.0.2' },
          backend: 'native',
        },
      },
    ]);
  });

  it('moves each client from one version to the next, never back', () => {
    for (const seen of outcomes) {
      const versions = seen.map((outcome) => outcome.version);
      expect(versions[0]).toBe('1.0.0');
      expect(versions.at(-1)).toBe('1.0.2');
      expect([...versions].sort()).toEqual(versions);
    }
  });

  it('reports the new version at /v1/models and /readyz', async () => {
    expect(await servedVersion(server)).toBe('1.0.2');
    const ready = await request<{ model: { version: string } }>(`${server.url}/readyz`);
    expect({ status: ready.status, version: ready.body.model.version }).toEqual({
      status: 200,
      version: '1.0.2',
    });
  });

  it('has disposed the first predictor once its requests were done', async () => {
    await expect(first!.predict('Lakers win the title')).rejects.toMatchObject({ code: 'DISPOSED' });
  });
});

describe('a model swap to a bundle that fails verification', () => {
  let copy: BundleCopy;
  let server: NodeServer;
  let original: { model: Buffer; parity: Buffer; manifest: string };
  beforeAll(async () => {
    copy = copyBundle('news-bag');
    original = {
      model: readFileSync(join(copy.dir, 'model.onnx')),
      parity: readFileSync(join(copy.dir, 'parity.jsonl')),
      manifest: readFileSync(join(copy.dir, 'manifest.json'), 'utf8'),
    };
    server = await startWithAdmin(copy.dir);
  });
  afterAll(async () => {
    await server?.close();
    copy?.remove();
  });
  const restore = () => {
    writeFileSync(join(copy.dir, 'model.onnx'), original.model);
    writeFileSync(join(copy.dir, 'parity.jsonl'), original.parity);
    writeFileSync(join(copy.dir, 'manifest.json'), original.manifest);
  };

  it('refuses a model with a flipped byte with 409 SWAP_REFUSED naming the hash mismatch, no path', async () => {
    const bytes = Buffer.from(original.model);
    const middle = bytes.length >> 1;
    bytes[middle] = bytes[middle]! ^ 0xff;
    writeFileSync(join(copy.dir, 'model.onnx'), bytes);
    copy.editManifest((manifest) => (manifest.version = '2.0.0'));
    const response = await reload(server);
    restore();
    expect({ status: response.status, body: response.body }).toEqual({
      status: 409,
      body: {
        error: {
          code: 'SWAP_REFUSED',
          message:
            'The new model was refused (BUNDLE_HASH_MISMATCH); news-bag 1.0.0 keeps serving. The server log has ' +
            'the details.',
          requestId: expect.any(String),
        },
      },
    });
  });

  it('refuses a model whose outputs miss the golden logits with 409 SWAP_REFUSED naming PARITY_MISMATCH', async () => {
    const lines = original.parity.toString('utf8').split('\n');
    const moved = lines.map((line) => {
      if (line.trim() === '') return line;
      const golden = JSON.parse(line) as { id: number; logits: number[] };
      if (golden.id === 7) golden.logits = golden.logits.map((logit) => logit * 1.01);
      return JSON.stringify(golden);
    });
    copy.replaceFile('parity.jsonl', moved.join('\n'));
    copy.editManifest((manifest) => (manifest.version = '2.0.0'));
    const response = await reload(server);
    restore();
    expect(response.status).toBe(409);
    expect(response.body.error).toEqual({
      code: 'SWAP_REFUSED',
      message:
        'The new model was refused (PARITY_MISMATCH); news-bag 1.0.0 keeps serving. The server log has the details.',
      requestId: expect.any(String),
    });
  });

  it('keeps serving the old model after the refusals', async () => {
    expect(await servedVersion(server)).toBe('1.0.0');
    const response = await request<PredictBody>(`${server.url}/v1/predict`, {
      json: { text: 'Lakers win the title' },
    });
    expect({ status: response.status, label: response.body.predictions[0]!.label }).toEqual({
      status: 200,
      label: 'Sports',
    });
  });

  it('swaps once the bundle is fixed', async () => {
    copy.editManifest((manifest) => (manifest.version = '2.0.0'));
    const response = await reload(server);
    expect({ status: response.status, current: response.body.current }).toEqual({
      status: 200,
      current: { name: 'news-bag', version: '2.0.0' },
    });
  });
});

describe('the admin endpoint', () => {
  let server: NodeServer;
  let withoutAdmin: RunningServer;
  beforeAll(async () => {
    server = await startWithAdmin(join(import.meta.dirname, '../../artifacts/news-bag'));
    withoutAdmin = await startNode();
  });
  afterAll(async () => {
    await server?.close();
    await withoutAdmin?.close();
  });

  it('answers 401 UNAUTHORIZED without the admin token', async () => {
    const response = await reload(server, {});
    expect({ status: response.status, code: response.body.error.code }).toEqual({
      status: 401,
      code: 'UNAUTHORIZED',
    });
  });

  it('answers 401 UNAUTHORIZED to a wrong token', async () => {
    const response = await reload(server, { Authorization: 'Bearer not-the-token' });
    expect({ status: response.status, code: response.body.error.code }).toEqual({
      status: 401,
      code: 'UNAUTHORIZED',
    });
  });

  it('answers 405 with Allow: POST to a GET', async () => {
    const response = await request<WireError>(`${server.url}/admin/reload`, { headers: admin });
    expect({ status: response.status, allow: response.headers.get('allow') }).toEqual({
      status: 405,
      allow: 'POST',
    });
  });

  it('answers 409 SWAP_IN_PROGRESS to a reload while another one runs', async () => {
    const transformer = await startWithAdmin(join(import.meta.dirname, '../../artifacts/news-transformer'));
    try {
      const responses = await Promise.all([reload(transformer), reload(transformer)]);
      expect(responses.map((response) => response.status).sort()).toEqual([200, 409]);
      expect(responses.find((response) => response.status === 409)!.body.error.code).toBe('SWAP_IN_PROGRESS');
    } finally {
      await transformer.close();
    }
  });

  it('answers 404 NOT_FOUND as if it did not exist when SHIPSHAPE_ADMIN_TOKEN is unset', async () => {
    const response = await request<WireError>(`${withoutAdmin.url}/admin/reload`, {
      method: 'POST',
      headers: admin,
    });
    expect({ status: response.status, code: response.body.error.code }).toEqual({
      status: 404,
      code: 'NOT_FOUND',
    });
  });
});

describe('shipshape serve on SIGHUP', () => {
  let copy: BundleCopy;
  beforeAll(() => {
    copy = copyBundle('news-bag');
  });
  afterAll(() => copy?.remove());

  it('reloads the bundle directory and serves the new version', async () => {
    const serve = await startServe(['--bundle', copy.dir]);
    try {
      copy.editManifest((manifest) => (manifest.version = '1.1.0'));
      serve.child.kill('SIGHUP');
      await serve.waitForOutput(/now serving news-bag 1\.1\.0 on native \(was news-bag 1\.0\.0\)/);
      expect(serve.output()).toMatch(
        /news-bag 1\.1\.0 passed its parity proof on native: 256 of 278 cases, logits within 1e-4 \(max \S+\) at batch 1 and 32, \d+ ms/,
      );
      const models = await request<ModelsBody>(`${serve.url}/v1/models`);
      expect(models.body.models[0]!.version).toBe('1.1.0');
    } finally {
      serve.child.kill('SIGTERM');
    }
    expect(await serve.exited).toBe(0);
  });

  it('logs a refused reload and keeps serving', async () => {
    const serve = await startServe(['--bundle', copy.dir]);
    const before = await request<ModelsBody>(`${serve.url}/v1/models`);
    try {
      copy.replaceFile('vocab.txt', 'not a vocabulary');
      serve.child.kill('SIGHUP');
      await serve.waitForOutput(/shipshape: The new model was refused \((\w+)\); news-bag \S+ keeps serving/);
      const models = await request<ModelsBody>(`${serve.url}/v1/models`);
      expect(models.body.models[0]!.version).toBe(before.body.models[0]!.version);
    } finally {
      serve.child.kill('SIGTERM');
    }
    expect(await serve.exited).toBe(0);
  });
});
