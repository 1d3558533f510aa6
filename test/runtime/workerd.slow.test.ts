// The workerd platform inside real workerd (Miniflare): WASM from a compiled-module import, parity with torch.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestWorker } from '../fixtures/workerd/build-worker.ts';
import { compareWithGolden, readGolden, type ReportedItem } from '../fixtures/workerd/golden.ts';

const ARTIFACTS = join(import.meta.dirname, '../../artifacts');
const BUNDLES = ['news-bag', 'news-transformer'] as const;
const ATOL = 1e-4;

interface BackendReportJson {
  readonly backend: string;
  readonly skipped: readonly { backend: string; reason: string }[];
  readonly fallbackReason?: string;
}

let worker: Miniflare;

async function get<T>(path: string): Promise<{ status: number; body: T }> {
  const response = await worker.dispatchFetch(`http://worker.test${path}`);
  return { status: response.status, body: (await response.json()) as T };
}

describe('workerd platform (Miniflare)', () => {
  beforeAll(async () => {
    // A missing bundle fails its own parity test below, not the whole file.
    const present = BUNDLES.filter((name) => existsSync(join(ARTIFACTS, name, 'manifest.json')));
    const built = await buildTestWorker(
      Object.fromEntries(present.map((name) => [name, join(ARTIFACTS, name)])),
    );
    worker = new Miniflare({
      modulesRoot: built.root,
      modules: built.modules.map((module) => ({ ...module })),
      compatibilityDate: '2026-04-01',
    });
    await worker.ready;
  });

  afterAll(async () => {
    await worker?.dispose();
  });

  it('starts on wasm, the only backend on its ladder, with nothing skipped', async () => {
    const { status, body } = await get<{ backend: BackendReportJson }>('/predict?bundle=news-bag&text=hello');
    expect(status).toBe(200);
    expect(body.backend).toEqual({ backend: 'wasm', skipped: [] });
  });

  it('reports the size of the WASM heap', async () => {
    const { body } = await get<{ memory: { wasmHeapBytes?: number } }>('/predict?bundle=news-bag&text=hello');
    expect(body.memory.wasmHeapBytes).toBeGreaterThan(1 << 20);
  });

  it.each(['webgpu', 'native'])(
    'refuses backend "%s" with BACKEND_UNAVAILABLE naming wasm',
    async (backend) => {
      const { status, body } = await get<{ error: { code: string; message: string } }>(
        `/backend?bundle=news-bag&backend=${backend}`,
      );
      expect(status).toBe(500);
      expect(body.error.code).toBe('BACKEND_UNAVAILABLE');
      expect(body.error.message).toContain(`"${backend}"`);
      expect(body.error.message).toContain('wasm');
    },
  );

  it.each(BUNDLES)(`matches every %s parity case: labels exact, logits within ${ATOL}`, async (name) => {
    if (!existsSync(join(ARTIFACTS, name, 'manifest.json'))) {
      throw new Error(
        `bundle artifacts/${name} is missing; train it (python3 -m shipshape_train.train) first`,
      );
    }
    const golden = readGolden(join(ARTIFACTS, name));
    const { status, body } = await get<{
      backend: BackendReportJson;
      results: { id: number; item: ReportedItem }[];
    }>(`/parity?bundle=${name}`);
    expect(status).toBe(200);
    expect(body.backend.backend).toBe('wasm');
    expect(body.results.map((result) => result.id)).toEqual(golden.map((parityCase) => parityCase.id));
    const { mismatches, maxDiff } = compareWithGolden(
      golden,
      body.results.map((result) => result.item),
    );
    expect(mismatches).toEqual([]);
    expect(maxDiff).toBeLessThanOrEqual(ATOL);
  });
});
