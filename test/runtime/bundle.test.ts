import { readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  filesSource,
  loadBundle,
  readOnnxGraphInfo,
  readParityCases,
  urlSource,
} from '../../runtime/bundle/index.ts';
import { isShipshapeError, type ErrorCode } from '../../runtime/errors.ts';
import { directorySource } from '../../runtime/platform/node-files.ts';
import { BUNDLES, bundleDir, copyBundle, type BundleCopy } from '../helpers/bundle-copy.ts';

async function loadError(
  dir: string,
): Promise<{ code: ErrorCode; message: string; subject: string | undefined }> {
  try {
    await loadBundle(directorySource(dir));
  } catch (error) {
    if (!isShipshapeError(error)) throw error;
    return { code: error.code, message: error.message, subject: error.subject };
  }
  throw new Error(`expected ${dir} to be refused`);
}

/** Edits a copy of news-bag's manifest and expects the loader to refuse it with `code` and `message`. */
async function expectManifestRefused(
  edit: (m: Record<string, any>) => void,
  code: ErrorCode,
  message: string,
): Promise<void> {
  const copy = copyBundle('news-bag');
  try {
    copy.editManifest(edit);
    const error = await loadError(copy.dir);
    expect(error.code).toBe(code);
    expect(error.message).toContain(message);
  } finally {
    copy.remove();
  }
}

describe.each(BUNDLES)('the shipped bundle %s', (name) => {
  it('loads, with a manifest, model bytes and a tokenizer that agree', async () => {
    const bundle = await loadBundle(directorySource(bundleDir(name)));
    const { manifest, tokenizer } = bundle;
    expect(manifest.name).toBe(name);
    expect(manifest.labels).toEqual(['World', 'Sports', 'Business', 'Sci/Tech']);
    expect(tokenizer.maxLen).toBe(72);
    expect(tokenizer.unkId).toBe(0);
    expect(tokenizer.padId).toBe(1);
    expect(bundle.modelBytes.byteLength).toBe(manifest.files['model.onnx']!.size);
  });

  it('declares the ONNX graph signature the model really has', async () => {
    const bundle = await loadBundle(directorySource(bundleDir(name)));
    const { manifest } = bundle;
    const graph = readOnnxGraphInfo(bundle.modelBytes);
    // A graph proven to take any length declares axis 1 by its name; a fixed-length one declares maxLen.
    const axis = manifest.model.sequence?.dynamic === true ? 'sequence' : manifest.preprocessing.maxLen;
    expect(graph.inputs.map((i) => [i.name, i.dtype, i.shape[1]])).toEqual([['input_ids', 'int64', axis]]);
    expect(graph.outputs.map((o) => [o.name, o.dtype, o.shape[1]])).toEqual([['logits', 'float32', 4]]);
    expect(typeof graph.inputs[0]!.shape[0]).toBe('string');
    expect(graph.opset).toBeGreaterThanOrEqual(17);
  });

  it('reproduces the training side ids on every parity case', async () => {
    const bundle = await loadBundle(directorySource(bundleDir(name)));
    const cases = await readParityCases(bundle);
    expect(cases.length).toBeGreaterThanOrEqual(200);
    for (const c of cases) {
      expect({ id: c.id, tokens: bundle.tokenizer.tokenize(c.text) }).toEqual({ id: c.id, tokens: c.tokens });
      expect({ id: c.id, ids: Array.from(bundle.tokenizer.encode(c.text).ids) }).toEqual({
        id: c.id,
        ids: c.ids,
      });
    }
  });
});

describe('a damaged bundle', () => {
  let copy: BundleCopy;
  beforeAll(() => {
    copy = copyBundle('news-bag');
  });
  afterAll(() => copy.remove());

  const files = readdirSync(bundleDir('news-bag')).filter((f) => f !== 'manifest.json');

  it.each(files)(
    'is refused with BUNDLE_HASH_MISMATCH naming %s when one byte of it changes',
    async (file) => {
      const path = join(copy.dir, file);
      const original = readFileSync(path);
      const damaged = Buffer.from(original);
      const at = Math.floor(damaged.length / 2);
      damaged[at] = damaged[at]! ^ 0x01;
      writeFileSync(path, damaged);
      try {
        const error = await loadError(copy.dir);
        expect(error.code).toBe('BUNDLE_HASH_MISMATCH');
        expect(error.subject).toBe(`${copy.dir}/${file}`);
        expect(error.message).toContain(file);
      } finally {
        writeFileSync(path, original);
      }
    },
  );

  it('is refused with BUNDLE_FILE_TRUNCATED when the model is cut short', async () => {
    const path = join(copy.dir, 'model.onnx');
    const original = readFileSync(path);
    truncateSync(path, 1000);
    try {
      const error = await loadError(copy.dir);
      expect(error.code).toBe('BUNDLE_FILE_TRUNCATED');
      expect(error.message).toContain('model.onnx is truncated: 1000 bytes');
    } finally {
      writeFileSync(path, original);
    }
  });

  it('is refused with BUNDLE_FILE_MISSING when the vocabulary is gone', async () => {
    const path = join(copy.dir, 'vocab.txt');
    const original = readFileSync(path);
    rmSync(path);
    try {
      const error = await loadError(copy.dir);
      expect(error.code).toBe('BUNDLE_FILE_MISSING');
      expect(error.message).toContain('vocab.txt is missing');
    } finally {
      writeFileSync(path, original);
    }
  });

  it('is refused with BUNDLE_FILE_MISSING when the directory holds no manifest', async () => {
    const error = await loadError(join(copy.dir, 'no-such-dir'));
    expect(error.code).toBe('BUNDLE_FILE_MISSING');
    expect(error.message).toContain('manifest.json is missing');
  });
});

describe('a bundle whose manifest is wrong', () => {
  const cases: [string, (m: Record<string, any>) => void, ErrorCode, string][] = [
    [
      'names the spacy tokenizer',
      (m) => (m.preprocessing.tokenizer = 'spacy'),
      'TOKENIZER_UNSUPPORTED',
      'Unsupported tokenizer "spacy". Should be one of: basic_english.',
    ],
    [
      'has an unknown schema version',
      (m) => (m.schemaVersion = 2),
      'BUNDLE_SCHEMA_UNSUPPORTED',
      'has schemaVersion 2; this runtime reads schemaVersion 1',
    ],
    [
      'gives a max_len the model does not take',
      (m) => {
        delete m.model.sequence;
        m.model.inputs[0].shape = ['batch', 72];
        m.preprocessing.maxLen = 64;
      },
      'PREPROCESSING_MISMATCH',
      'max_len mismatch: preprocessing.maxLen is 64',
    ],
    [
      'swaps the special token ids',
      (m) => {
        m.preprocessing.specialTokens.unk.id = 1;
        m.preprocessing.specialTokens.pad.id = 0;
      },
      'PREPROCESSING_MISMATCH',
      'Special token unk is "<unk>" with id 1',
    ],
    [
      'misnames the model input',
      (m) => (m.model.inputs[0].name = 'tokens'),
      'BUNDLE_MODEL_MISMATCH',
      'input tokens is tokens int64 [batch, sequence] in manifest.json but absent in',
    ],
    [
      'declares a float input',
      (m) => (m.model.inputs[0].dtype = 'float32'),
      'BUNDLE_MODEL_MISMATCH',
      'in manifest.json but input_ids int64',
    ],
    ['has an unknown field', (m) => (m.extra = true), 'BUNDLE_INVALID', 'Unrecognized key'],
    [
      'has a malformed hash',
      (m) => (m.files['vocab.txt'].sha256 = 'abc'),
      'BUNDLE_INVALID',
      'files.vocab.txt.sha256',
    ],
  ];

  it.each(cases)('is refused when it %s', async (_what, edit, code, message) => {
    await expectManifestRefused(edit, code, message);
  });

  it('is refused with BUNDLE_INVALID when manifest.json is not JSON', async () => {
    const copy = copyBundle('news-bag');
    try {
      writeFileSync(join(copy.dir, 'manifest.json'), '{"schemaVersion": 1,');
      const error = await loadError(copy.dir);
      expect(error.code).toBe('BUNDLE_INVALID');
      expect(error.message).toContain('manifest.json is not valid JSON');
    } finally {
      copy.remove();
    }
  });
});

describe('a bundle with a dynamic sequence axis', () => {
  it('news-bag is proven at lengths from 1 to maxLen and says so', async () => {
    const { model, preprocessing } = (await loadBundle(directorySource(bundleDir('news-bag')))).manifest;
    expect(model.inputs.map((input) => input.shape)).toEqual([['batch', 'sequence']]);
    if (model.sequence?.dynamic !== true) throw new Error('news-bag has no dynamic sequence axis');
    expect(model.sequence.checkedLengths[0]).toBe(1);
    expect(model.sequence.checkedLengths.at(-1)).toBe(preprocessing.maxLen);
    expect(model.sequence.maxAbsDiff).toBeLessThanOrEqual(model.sequence.atol);
  });

  const cases: [string, (m: Record<string, any>) => void, ErrorCode, string][] = [
    [
      'has a dynamic axis in its inputs but no model.sequence',
      (m) => delete m.model.sequence,
      'PREPROCESSING_MISMATCH',
      'input input_ids has a dynamic sequence axis [batch, sequence] in',
    ],
    [
      'has a dynamic axis in its inputs and model.sequence.dynamic false',
      (m) => (m.model.sequence = { dynamic: false }),
      'PREPROCESSING_MISMATCH',
      'but model.sequence does not say dynamic: true, so it was never proven',
    ],
    [
      'says dynamic but declares a fixed input length',
      (m) => (m.model.inputs[0].shape = ['batch', 72]),
      'PREPROCESSING_MISMATCH',
      'model.sequence.dynamic is true but input input_ids has shape [batch, 72]',
    ],
    [
      'declares a fixed length the graph does not have',
      (m) => {
        delete m.model.sequence;
        m.model.inputs[0].shape = ['batch', 72];
      },
      'BUNDLE_MODEL_MISMATCH',
      'input input_ids is input_ids int64 [batch, 72] in manifest.json but input_ids int64 [batch, sequence] in',
    ],
    [
      'records a difference above its tolerance',
      (m) => (m.model.sequence.maxAbsDiff = 2 * m.model.sequence.atol),
      'BUNDLE_INVALID',
      'model.sequence.maxAbsDiff: maxAbsDiff exceeds atol: the dynamic graph was not proven',
    ],
    [
      'records checked lengths out of order',
      (m) => (m.model.sequence.checkedLengths as number[]).reverse(),
      'BUNDLE_INVALID',
      'model.sequence.checkedLengths: checkedLengths must be strictly ascending',
    ],
    [
      'records a checked length above maxLen',
      (m) => (m.model.sequence.checkedLengths as number[]).push(80),
      'BUNDLE_INVALID',
      'model.sequence.checkedLengths has 80, above preprocessing.maxLen 72',
    ],
    [
      'says dynamic without the proof',
      (m) => (m.model.sequence = { dynamic: true }),
      'BUNDLE_INVALID',
      'model.sequence.checkedLengths',
    ],
  ];

  it.each(cases)('is refused when its manifest %s', async (_what, edit, code, message) => {
    await expectManifestRefused(edit, code, message);
  });
});

describe('a bundle whose vocabulary is wrong', () => {
  it('is refused with VOCAB_INVALID naming both lines of a duplicate entry', async () => {
    const copy = copyBundle('news-bag');
    try {
      const lines = readFileSync(join(copy.dir, 'vocab.txt'), 'utf8').split('\n');
      lines[5] = lines[3]!;
      copy.replaceFile('vocab.txt', lines.join('\n'));
      const error = await loadError(copy.dir);
      expect(error.code).toBe('VOCAB_INVALID');
      expect(error.message).toContain(`duplicate entry ${JSON.stringify(lines[3])} on lines 4 and 6`);
    } finally {
      copy.remove();
    }
  });

  it('is refused with PREPROCESSING_MISMATCH when <unk> is not at its declared id', async () => {
    const copy = copyBundle('news-bag');
    try {
      const lines = readFileSync(join(copy.dir, 'vocab.txt'), 'utf8').split('\n');
      [lines[0], lines[2]] = [lines[2]!, lines[0]!];
      copy.replaceFile('vocab.txt', lines.join('\n'));
      const error = await loadError(copy.dir);
      expect(error.code).toBe('PREPROCESSING_MISMATCH');
      expect(error.message).toContain('Special token unk is "<unk>" with id 0');
    } finally {
      copy.remove();
    }
  });
});

describe('bundle sources', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(
        /^\/news-bag\//,
        '',
      );
      try {
        const body = readFileSync(join(bundleDir('news-bag'), name));
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/news-bag`;
  });
  afterAll(() => new Promise<void>((done) => server.close(() => done())));

  it('loads the same bundle over real HTTP', async () => {
    const bundle = await loadBundle(urlSource(base));
    expect(bundle.manifest.name).toBe('news-bag');
    expect(bundle.source).toBe(base);
    expect(Array.from(bundle.tokenizer.encode('Stocks rallied').ids.slice(0, 3))).toEqual(
      Array.from(
        (await loadBundle(directorySource(bundleDir('news-bag')))).tokenizer
          .encode('Stocks rallied')
          .ids.slice(0, 3),
      ),
    );
  });

  it('loads from bytes in memory, verifying only the serving files when asked', async () => {
    const dir = bundleDir('news-bag');
    const files = Object.fromEntries(
      ['manifest.json', 'model.onnx', 'vocab.txt', 'normalization.json'].map((f) => [
        f,
        new Uint8Array(readFileSync(join(dir, f))),
      ]),
    );
    const bundle = await loadBundle(filesSource(files, 'worker'), { verify: 'serving' });
    expect(bundle.tokenizer.vocabSize).toBeGreaterThan(100);
    await expect(bundle.readFile('parity.jsonl')).rejects.toMatchObject({ code: 'BUNDLE_FILE_MISSING' });
    await expect(loadBundle(filesSource(files, 'worker'))).rejects.toMatchObject({
      code: 'BUNDLE_FILE_MISSING',
      subject: 'worker/parity.jsonl',
    });
  });
});
