// Reading a bundle is safe: only regular files inside its folder, each bounded by its declared size, under a
// timeout, and no message quotes what it should not. Real files (symlinks, FIFOs, sockets, sparse files), real HTTP.
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { createServer as createHttpServer, type Server, type ServerResponse } from 'node:http';
import { createServer as createSocketServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  filesSource,
  loadBundle,
  MANIFEST_MAX_BYTES,
  urlSource,
  type BundleSource,
} from '../../runtime/bundle/index.ts';
import { isShipshapeError, type ErrorCode } from '../../runtime/errors.ts';
import { directorySource } from '../../runtime/platform/node-files.ts';
import { parseVocab } from '../../runtime/tokenizer/index.ts';
import { bundleDir, copyBundle, type BundleCopy } from '../helpers/bundle-copy.ts';
import { shipshape } from '../helpers/cli.ts';

/** A refused read must come back at once; this bound turns a hang into a failure, it measures nothing. */
const NO_HANG_MS = 5_000;

/** What a secret file outside any bundle holds; no message may quote it. */
const SECRET = 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n';

interface Refusal {
  readonly code: ErrorCode;
  readonly message: string;
  readonly subject: string | undefined;
}

async function refusal(load: Promise<unknown>): Promise<Refusal> {
  try {
    await load;
  } catch (error) {
    if (!isShipshapeError(error)) throw error;
    return { code: error.code, message: error.message, subject: error.subject };
  }
  throw new Error('expected the load to be refused');
}

const refusalOf = (dir: string) => refusal(loadBundle(directorySource(dir)));

describe('a bundle folder whose file is not a regular file inside it', () => {
  let copy: BundleCopy;
  let outside: string;
  beforeAll(() => {
    copy = copyBundle('news-bag');
    outside = `${copy.dir}-outside`;
    mkdirSync(outside);
    writeFileSync(join(outside, 'passwd'), SECRET);
  });
  afterAll(() => {
    copy.remove();
    rmSync(outside, { recursive: true, force: true });
  });

  /** Replaces vocab.txt by what `make` puts at its path, runs `check`, and restores it. */
  async function withVocab(make: (path: string) => void | Promise<void>, check: () => Promise<void>) {
    const path = join(copy.dir, 'vocab.txt');
    const original = readFileSync(path);
    rmSync(path);
    try {
      await make(path);
      await check();
    } finally {
      rmSync(path, { recursive: true, force: true });
      writeFileSync(path, original);
    }
  }

  it(
    'refuses a symlink that leaves the folder with BUNDLE_FILE_UNSAFE, naming the file and its target',
    async () => {
      await withVocab(
        (path) => symlinkSync(join(outside, 'passwd'), path),
        async () => {
          const error = await refusalOf(copy.dir);
          expect(error.code).toBe('BUNDLE_FILE_UNSAFE');
          expect(error.subject).toBe(`${copy.dir}/vocab.txt`);
          expect(error.message).toContain(`${copy.dir}/vocab.txt is a symlink to ${outside}/passwd, outside`);
          expect(error.message).not.toContain('root:x');
        },
      );
    },
    NO_HANG_MS,
  );

  it(
    'refuses a symlink to /dev/zero with BUNDLE_FILE_UNSAFE, saying it is a character device',
    async () => {
      await withVocab(
        (path) => symlinkSync('/dev/zero', path),
        async () => {
          const error = await refusalOf(copy.dir);
          expect(error.code).toBe('BUNDLE_FILE_UNSAFE');
          expect(error.message).toContain(
            'vocab.txt is a symlink to /dev/zero (a character device), outside',
          );
        },
      );
    },
    NO_HANG_MS,
  );

  it(
    'refuses a named pipe made with mkfifo with BUNDLE_FILE_UNSAFE instead of waiting for a writer',
    async () => {
      await withVocab(
        (path) => {
          execFileSync('mkfifo', [path]);
        },
        async () => {
          const error = await refusalOf(copy.dir);
          expect(error.code).toBe('BUNDLE_FILE_UNSAFE');
          expect(error.message).toContain('vocab.txt is a named pipe (FIFO)');
        },
      );
    },
    NO_HANG_MS,
  );

  it(
    'refuses a directory with BUNDLE_FILE_UNSAFE',
    async () => {
      await withVocab(
        (path) => mkdirSync(path),
        async () => {
          const error = await refusalOf(copy.dir);
          expect(error.code).toBe('BUNDLE_FILE_UNSAFE');
          expect(error.message).toContain('vocab.txt is a directory');
        },
      );
    },
    NO_HANG_MS,
  );

  it(
    'refuses a listening Unix socket with BUNDLE_FILE_UNSAFE',
    async () => {
      const server = createSocketServer();
      await withVocab(
        (path) => new Promise<void>((listening) => server.listen(path, listening)),
        async () => {
          try {
            const error = await refusalOf(copy.dir);
            expect(error.code).toBe('BUNDLE_FILE_UNSAFE');
            expect(error.message).toContain('vocab.txt is a socket');
          } finally {
            // Closed before vocab.txt is restored: closing unlinks the socket's path.
            await new Promise<void>((closed) => server.close(() => closed()));
          }
        },
      );
    },
    NO_HANG_MS,
  );

  it('refuses a symlink loop with BUNDLE_FILE_UNSAFE', async () => {
    await withVocab(
      (path) => symlinkSync('vocab.txt', path),
      async () => {
        const error = await refusalOf(copy.dir);
        expect(error.code).toBe('BUNDLE_FILE_UNSAFE');
        expect(error.message).toContain('vocab.txt is a symlink loop');
      },
    );
  });

  it('loads when a symlink stays inside the folder', async () => {
    const real = join(copy.dir, 'vocab-real.txt');
    await withVocab(
      (path) => {
        writeFileSync(real, readFileSync(join(bundleDir('news-bag'), 'vocab.txt')));
        symlinkSync('vocab-real.txt', path);
      },
      async () => {
        const bundle = await loadBundle(directorySource(copy.dir));
        expect(bundle.tokenizer.vocabSize).toBe(4421);
      },
    );
    rmSync(real);
  });

  it('loads through a bundle folder that is itself a symlink', async () => {
    const link = `${copy.dir}-link`;
    symlinkSync(copy.dir, link);
    try {
      const bundle = await loadBundle(directorySource(link));
      expect(bundle.manifest.name).toBe('news-bag');
    } finally {
      rmSync(link);
    }
  });
});

describe('a bundle file larger than the manifest declares', () => {
  let copy: BundleCopy;
  beforeAll(() => {
    copy = copyBundle('news-bag');
  });
  afterAll(() => copy.remove());

  it(
    'is refused with BUNDLE_FILE_TOO_LARGE without reading a sparse 1.5 GiB model (RSS grows less than 100 MB)',
    async () => {
      const path = join(copy.dir, 'model.onnx');
      const original = readFileSync(path);
      // Sparse: the file claims 1.5 GiB and takes no disk.
      truncateSync(path, 1.5 * 2 ** 30);
      try {
        const before = process.memoryUsage().rss;
        const error = await refusalOf(copy.dir);
        const grown = process.memoryUsage().rss - before;
        expect(error.code).toBe('BUNDLE_FILE_TOO_LARGE');
        expect(error.subject).toBe(`${copy.dir}/model.onnx`);
        expect(error.message).toContain(
          `model.onnx is ${1.5 * 2 ** 30} bytes, but manifest.json declares ${original.length}. It was not read`,
        );
        expect(grown).toBeLessThan(100 * 2 ** 20);
      } finally {
        writeFileSync(path, original);
      }
    },
    NO_HANG_MS,
  );

  it('is refused with BUNDLE_FILE_TOO_LARGE when one byte is appended', async () => {
    const path = join(copy.dir, 'normalization.json');
    const original = readFileSync(path);
    writeFileSync(path, Buffer.concat([original, Buffer.from(' ')]));
    try {
      const error = await refusalOf(copy.dir);
      expect(error.code).toBe('BUNDLE_FILE_TOO_LARGE');
      expect(error.message).toContain(
        `is ${original.length + 1} bytes, but manifest.json declares ${original.length}.`,
      );
    } finally {
      writeFileSync(path, original);
    }
  });

  it(
    'is refused with BUNDLE_FILE_TOO_LARGE for a manifest.json over 1 MiB',
    async () => {
      const path = join(copy.dir, 'manifest.json');
      const original = readFileSync(path);
      truncateSync(path, MANIFEST_MAX_BYTES + 1);
      try {
        const error = await refusalOf(copy.dir);
        expect(error.code).toBe('BUNDLE_FILE_TOO_LARGE');
        expect(error.message).toContain(
          `manifest.json is ${MANIFEST_MAX_BYTES + 1} bytes, but a manifest may have at most ${MANIFEST_MAX_BYTES}.`,
        );
      } finally {
        writeFileSync(path, original);
      }
    },
    NO_HANG_MS,
  );

  it('is cut at maxBytes + 1 when it holds more than its stat size says (a /proc file)', async () => {
    // /proc files stat as 0 bytes and still have content: the read cannot trust the size it checked first.
    const source = directorySource('/proc/self');
    await expect(source.read('status', { maxBytes: 16 })).rejects.toMatchObject({
      code: 'BUNDLE_FILE_TOO_LARGE',
      message: expect.stringContaining(
        '/proc/self/status is more than 16 bytes, but manifest.json declares 16. Reading stopped',
      ),
    });
    expect((await source.read('status', { maxBytes: 1 << 20 }))?.byteLength).toBeGreaterThan(16);
  });

  it('is refused from memory with BUNDLE_FILE_TOO_LARGE', async () => {
    const files = { 'model.onnx': new Uint8Array(10) };
    await expect(filesSource(files, 'mem').read('model.onnx', { maxBytes: 9 })).rejects.toMatchObject({
      code: 'BUNDLE_FILE_TOO_LARGE',
      subject: 'mem/model.onnx',
    });
  });

  it('is refused from a source that ignores maxBytes, by the bytes it hands over', async () => {
    const files = Object.fromEntries(
      ['manifest.json', 'model.onnx', 'vocab.txt', 'normalization.json', 'parity.jsonl'].map((f) => [
        f,
        new Uint8Array(readFileSync(join(bundleDir('news-bag'), f))),
      ]),
    );
    const vocab = files['vocab.txt']!;
    const grown = new Uint8Array(vocab.byteLength + 3);
    grown.set(vocab);
    files['vocab.txt'] = grown;
    const unbounded: BundleSource = {
      describe: 'unbounded',
      read: (name) => Promise.resolve(files[name]),
    };
    const error = await refusal(loadBundle(unbounded));
    expect(error).toMatchObject({ code: 'BUNDLE_FILE_TOO_LARGE', subject: 'unbounded/vocab.txt' });
  });
});

/** A local HTTP server whose answer per file name a test sets; unknown names get the shipped news-bag's files. */
function startBundleServer(): {
  answers: Map<string, (res: ServerResponse) => void>;
  base: () => string;
  start: () => Promise<void>;
  stop: () => Promise<void>;
} {
  const answers = new Map<string, (res: ServerResponse) => void>();
  let server: Server | undefined;
  return {
    answers,
    base: () => `http://127.0.0.1:${(server!.address() as AddressInfo).port}/news-bag`,
    async start() {
      server = createHttpServer((req, res) => {
        const name = new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/news-bag\//, '');
        const answer = answers.get(name);
        if (answer !== undefined) return answer(res);
        try {
          res.writeHead(200).end(readFileSync(join(bundleDir('news-bag'), name)));
        } catch {
          res.writeHead(404).end();
        }
      });
      await new Promise<void>((listening) => server!.listen(0, '127.0.0.1', listening));
    },
    async stop() {
      server!.closeAllConnections();
      await new Promise<void>((closed) => server!.close(() => closed()));
    },
  };
}

describe('a bundle over HTTP', () => {
  const http = startBundleServer();
  beforeAll(() => http.start());
  afterAll(() => http.stop());
  afterEach(() => http.answers.clear());

  it('loads as before when every file is right', async () => {
    const bundle = await loadBundle(urlSource(http.base()));
    expect(bundle.manifest.name).toBe('news-bag');
    expect((await bundle.readFile('parity.jsonl')).byteLength).toBe(
      bundle.manifest.files['parity.jsonl']!.size,
    );
  });

  it(
    'is refused by Content-Length with BUNDLE_FILE_TOO_LARGE before the body is read',
    async () => {
      http.answers.set('model.onnx', (res) => {
        res.writeHead(200, { 'content-length': String(2 ** 30) });
        // One chunk, and the rest never comes: a client that read the body first would hang here.
        res.write(Buffer.alloc(1 << 16));
      });
      const error = await refusal(loadBundle(urlSource(http.base())));
      expect(error.code).toBe('BUNDLE_FILE_TOO_LARGE');
      expect(error.message).toContain(`model.onnx is ${2 ** 30} bytes, but manifest.json declares`);
    },
    NO_HANG_MS,
  );

  it(
    'stops reading an endless body without Content-Length once it passes the declared size',
    async () => {
      let closed = false;
      http.answers.set('model.onnx', (res) => {
        res.writeHead(200);
        const chunk = Buffer.alloc(1 << 16);
        const pump = () => {
          while (!closed && res.write(chunk));
          if (!closed) res.once('drain', pump);
        };
        res.once('close', () => (closed = true));
        pump();
      });
      const error = await refusal(loadBundle(urlSource(http.base())));
      expect(error.code).toBe('BUNDLE_FILE_TOO_LARGE');
      expect(error.message).toMatch(/model\.onnx is more than \d+ bytes/);
    },
    NO_HANG_MS,
  );

  it(
    'times out with BUNDLE_LOAD_TIMEOUT naming the file when the server never answers it',
    async () => {
      http.answers.set('model.onnx', () => undefined);
      const base = http.base();
      const error = await refusal(loadBundle(urlSource(base), { timeoutMs: 500 }));
      expect(error.code).toBe('BUNDLE_LOAD_TIMEOUT');
      expect(error.subject).toBe(`${base}/model.onnx`);
      expect(error.message).toContain(`took longer than 500 ms; it was reading ${base}/model.onnx`);
    },
    NO_HANG_MS,
  );

  it(
    'times out a later readFile that the server never answers',
    async () => {
      const bundle = await loadBundle(urlSource(http.base()), { verify: 'serving', timeoutMs: 500 });
      http.answers.set('parity.jsonl', () => undefined);
      await expect(bundle.readFile('parity.jsonl')).rejects.toMatchObject({ code: 'BUNDLE_LOAD_TIMEOUT' });
    },
    NO_HANG_MS,
  );

  it('refuses a timeout that is not a positive number with INPUT_INVALID', async () => {
    const error = await refusal(loadBundle(urlSource(http.base()), { timeoutMs: 0 }));
    expect(error.code).toBe('INPUT_INVALID');
  });
});

describe('messages about a bundle file', () => {
  let copy: BundleCopy;
  beforeEach(() => {
    copy = copyBundle('news-bag');
  });
  afterEach(() => copy.remove());

  it('give the line and column of a JSON error in manifest.json, not its text', async () => {
    writeFileSync(join(copy.dir, 'manifest.json'), SECRET);
    const error = await refusalOf(copy.dir);
    expect(error.code).toBe('BUNDLE_INVALID');
    expect(error.message).toBe(
      `${copy.dir}/manifest.json is not valid JSON: unexpected character at line 1, column 1.`,
    );
  });

  it('give the position V8 names for a JSON error past the first line', async () => {
    writeFileSync(join(copy.dir, 'manifest.json'), '{\n  "schemaVersion": 1,\n  "name" "root:x:0:0"\n}');
    const error = await refusalOf(copy.dir);
    expect(error.message).toBe(
      `${copy.dir}/manifest.json is not valid JSON: Unexpected string at line 3, column 10.`,
    );
  });

  it('find the column of an unexpected character deep inside a line', async () => {
    writeFileSync(join(copy.dir, 'manifest.json'), `{"schemaVersion": 1, "name": ${SECRET}}`);
    const error = await refusalOf(copy.dir);
    expect(error.message).toBe(
      `${copy.dir}/manifest.json is not valid JSON: unexpected character at line 1, column 30.`,
    );
  });

  it('give a position, not the text, for a normalization.json that is not JSON', async () => {
    copy.replaceFile('normalization.json', SECRET);
    const error = await refusalOf(copy.dir);
    expect(error.code).toBe('BUNDLE_INVALID');
    expect(error.message).toContain('normalization.json is not valid JSON: unexpected character at line 1');
    expect(error.message).not.toContain('root');
  });

  it('quote at most 40 characters of a duplicate vocabulary entry', () => {
    const long = 'x'.repeat(10_000);
    let message = '';
    try {
      parseVocab(`<unk>\n${long}\n<pad>\n${long}\n`);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(
      `vocab.txt has duplicate entry "${'x'.repeat(40)}…" on lines 2 and 4; ids must be unique.`,
    );
  });
});

describe('shipshape inspect on a bundle whose vocab.txt is a symlink to /etc/passwd', () => {
  let copy: BundleCopy;
  beforeAll(() => {
    copy = copyBundle('news-bag');
    renameSync(join(copy.dir, 'vocab.txt'), join(copy.dir, 'vocab.orig'));
    symlinkSync('/etc/passwd', join(copy.dir, 'vocab.txt'));
  });
  afterAll(() => copy.remove());

  it('exits 1 with BUNDLE_FILE_UNSAFE and prints no line of /etc/passwd', () => {
    const { code, stdout, stderr } = shipshape(['inspect', copy.dir]);
    expect(code).toBe(1);
    expect(stderr).toContain(
      `BUNDLE_FILE_UNSAFE: ${copy.dir}/vocab.txt is a symlink to /etc/passwd, outside`,
    );
    const lines = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .filter((line) => line.length > 0);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(`${stdout}${stderr}`).not.toContain(line);
  });
});
