// The Worker serves the bundle it is built with and proves it at load: a tampered bundle is refused with its code,
// SHIPSHAPE_SKIP_PARITY=1 skips the proof, and build:web refuses a bundle argument that names none.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyBundle, tamper, type BundleCopy } from '../helpers/bundle-copy.ts';
import {
  IN_CI,
  ROOT,
  WEB_DIR,
  requireEdgeBuild,
  hasWorkerd,
  readLabels,
  readServableGoldenCases,
  request,
  startWorkerd,
  type JsonResponse,
  type RunningServer,
  type WireError,
} from './support.ts';

const HAS_WORKERD = hasWorkerd();
const TRANSFORMER_DIR = join(ROOT, 'artifacts/news-transformer');

interface V1Answer {
  readonly model: { readonly name: string; readonly version: string };
  readonly predictions: readonly { label: string; scores: Record<string, number> }[];
}

/** `npx tsx edge/build-web.ts ...args` (what `npm run build:web -- ...args` runs), into throwaway folders. */
function buildWebCli(args: readonly string[]) {
  const scratch = mkdtempSync(join(tmpdir(), 'shipshape-build-web-'));
  try {
    const result = spawnSync(
      join(ROOT, 'node_modules/.bin/tsx'),
      [
        'edge/build-web.ts',
        ...args,
        '--outdir',
        join(scratch, 'web'),
        '--embedded-dir',
        join(scratch, 'embedded'),
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Polls a model endpoint until the load has settled (200, or a 503 that is not NOT_READY's "loading"). */
async function firstSettledAnswer(url: string): Promise<Awaited<ReturnType<typeof request<WireError>>>> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const answer = await request<WireError>(`${url}/v1/models`);
    if (answer.status !== 503 || answer.body.error.code !== 'NOT_READY' || Date.now() > deadline)
      return answer;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A bundle copy placed among the built static assets, served with SHIPSHAPE_MODEL_SOURCE = "assets". */
function placeInAssets(copy: BundleCopy, name: string): { vars: Record<string, string>; remove(): void } {
  const target = join(WEB_DIR, 'models', name);
  cpSync(copy.dir, target, { recursive: true });
  return {
    vars: { SHIPSHAPE_MODEL_SOURCE: 'assets', SHIPSHAPE_MODEL_PATH: `/models/${name}/` },
    remove: () => rmSync(target, { recursive: true, force: true }),
  };
}

/**
 * For the enclosing describe: a news-bag copy changed by `edit`, placed among the assets and served by the Worker with
 * `vars` besides. Returns the running server (set once `beforeAll` has run).
 */
function serveEditedCopy(
  slug: string,
  edit: (copy: BundleCopy) => void,
  vars: Readonly<Record<string, string>> = {},
): () => RunningServer {
  let copy: BundleCopy;
  let placed: ReturnType<typeof placeInAssets>;
  let server: RunningServer;
  beforeAll(async () => {
    copy = copyBundle('news-bag');
    edit(copy);
    placed = placeInAssets(copy, `${slug}-${process.pid}`);
    server = await startWorkerd({ ...placed.vars, ...vars });
  });
  afterAll(async () => {
    await server?.close();
    placed?.remove();
    copy?.remove();
  });
  return () => server;
}

/** Asserts a 503 MODEL_UNAVAILABLE answer whose message contains `naming`. */
function expectUnavailable(answer: JsonResponse<WireError>, naming: string): void {
  expect({ status: answer.status, code: answer.body.error.code }).toEqual({
    status: 503,
    code: 'MODEL_UNAVAILABLE',
  });
  expect(answer.body.error.message).toContain(naming);
}

describe.runIf(HAS_WORKERD)('the Worker proving its bundle at load', () => {
  beforeAll(() => requireEdgeBuild());

  describe('given a news-bag copy with two labels swapped in its manifest', () => {
    const served = serveEditedCopy('tampered-labels', tamper.reorderLabels);

    it('answers model endpoints 503 MODEL_UNAVAILABLE naming PARITY_MISMATCH', async () => {
      expectUnavailable(await firstSettledAnswer(served().url), 'PARITY_MISMATCH');
    });

    it('answers /readyz 503 once the load was refused', async () => {
      await firstSettledAnswer(served().url);
      const ready = await request<WireError>(`${served().url}/readyz`);
      expect({ status: ready.status, code: ready.body.error.code }).toEqual({
        status: 503,
        code: 'NOT_READY',
      });
      expect(ready.body.error.message).toContain('failed to load (PARITY_MISMATCH)');
    });

    it('never classifies a text with the refused bundle', async () => {
      await firstSettledAnswer(served().url);
      const answer = await request<WireError>(`${served().url}/v1/predict`, {
        json: { text: 'Stocks rallied' },
      });
      expect(answer.status).toBe(503);
      expect(answer.body.error.code).toBe('MODEL_UNAVAILABLE');
    });
  });

  describe.each([
    {
      name: "news-transformer's model, rehashed",
      slug: 'swapped-model',
      code: 'PARITY_MISMATCH',
      edit: tamper.swapModel,
    },
    {
      // Manifest and vocabulary agree with each other, not with training: only the golden cases' ids tell.
      name: '<pad> and <unk> swapped in the manifest and the vocabulary alike',
      slug: 'swapped-specials',
      code: 'PREPROCESSING_MISMATCH',
      edit: (copy: BundleCopy) => {
        tamper.swapSpecialLines(copy);
        tamper.swapSpecialIds(copy);
      },
    },
    {
      name: 'a model that runs only at batch size 32',
      slug: 'baked-batch',
      code: 'PARITY_MISMATCH',
      edit: (copy: BundleCopy) => tamper.editModel(copy, 'baked-batch', '32'),
    },
  ])('given news-bag with $name', ({ slug, code, edit }) => {
    const served = serveEditedCopy(slug, edit);

    it(`answers model endpoints 503 MODEL_UNAVAILABLE naming ${code}`, async () => {
      expectUnavailable(await firstSettledAnswer(served().url), code);
    });
  });

  describe('given the swapped-labels bundle and SHIPSHAPE_SKIP_PARITY = "1"', () => {
    const served = serveEditedCopy('skip-parity', tamper.reorderLabels, { SHIPSHAPE_SKIP_PARITY: '1' });

    it('serves it without the proof, labels swapped as its manifest says', async () => {
      const answer = await firstSettledAnswer(served().url);
      expect(answer.status).toBe(200);
      const golden = readServableGoldenCases().find((c) => c.label === 'World')!;
      const predicted = await request<V1Answer>(`${served().url}/v1/predict`, {
        json: { text: golden.text },
      });
      expect(predicted.body.predictions[0]!.label).toBe('Sports');
    });
  });

  describe('with SHIPSHAPE_SKIP_PARITY set to something other than "1" or "0"', () => {
    let server: RunningServer;
    beforeAll(async () => {
      server = await startWorkerd({ SHIPSHAPE_SKIP_PARITY: 'yes' });
    });
    afterAll(async () => {
      await server?.close();
    });

    it('answers model endpoints 503 MODEL_UNAVAILABLE naming the variable', async () => {
      const answer = await request<WireError>(`${server.url}/v1/predict`, { json: { text: 'a' } });
      expectUnavailable(answer, 'SHIPSHAPE_SKIP_PARITY');
    });
  });
});

describe.runIf(HAS_WORKERD)(
  'the Worker built with build:web --bundle <absolute path to news-transformer>',
  () => {
    let server: RunningServer;
    beforeAll(async () => {
      const { transformerBuildDir } = requireEdgeBuild();
      server = await startWorkerd({}, { workerDir: join(transformerBuildDir, 'worker') });
    });
    afterAll(async () => {
      await server?.close();
    });

    it('serves news-transformer from the upload and matches its golden labels', async () => {
      const golden = readServableGoldenCases(TRANSFORMER_DIR).slice(0, 32);
      const answer = await request<V1Answer>(`${server.url}/v1/predict`, {
        json: { texts: golden.map((c) => c.text) },
      });
      expect(answer.status).toBe(200);
      expect(answer.body.model).toEqual({ name: 'news-transformer', version: '1.0.0' });
      expect(answer.body.predictions.map((p) => p.label)).toEqual(golden.map((c) => c.label));
    });

    it("lists news-transformer's labels at /v1/models", async () => {
      const answer = await request<{ models: { name: string; labels: string[] }[] }>(
        `${server.url}/v1/models`,
      );
      expect(answer.body.models.map((m) => [m.name, m.labels])).toEqual([
        ['news-transformer', readLabels(TRANSFORMER_DIR)],
      ]);
    });
  },
);

describe('npm run build:web', () => {
  it('exits 1 with one line naming the paths tried and the known bundles for --bundle /no/such', () => {
    const { code, stderr } = buildWebCli(['--bundle', '/no/such']);
    expect(code).toBe(1);
    expect(stderr).toBe(
      'build-web: BUNDLE_FILE_MISSING: No bundle "/no/such": tried /no/such (not found). Bundles under ' +
        `${join(ROOT, 'artifacts')}: news-bag, news-transformer, news-transformer-int8. Give a bundle folder (one with a manifest.json) ` +
        'or one of those names.\n',
    );
  });

  it('exits 1 with PARITY_MISMATCH in one line when the bundle to embed has its labels swapped', () => {
    const copy = copyBundle('news-bag');
    try {
      tamper.reorderLabels(copy);
      const { code, stderr } = buildWebCli(['--bundle', copy.dir]);
      expect(code).toBe(1);
      expect(stderr).toMatch(/^build-web: PARITY_MISMATCH: [^\n]+\n$/);
    } finally {
      copy.remove();
    }
  });
});

describe.runIf(!HAS_WORKERD && IN_CI)('the Worker bundle tests without workerd', () => {
  it('fails in CI because workerd is missing', () => {
    throw new Error('workerd is not installed (node_modules/@cloudflare/workerd-*); run npm ci.');
  });
});
