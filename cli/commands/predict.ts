// `shipshape predict`: texts (arguments or stdin lines) to one JSON prediction per line, on the Node runtime.
import { createInterface } from 'node:readline';
import { InvalidArgumentError, type Command } from 'commander';
import { describeProof, proveParity } from '../../runtime/parity.ts';
import { createPredictor } from '../../runtime/node.ts';
import { BACKEND_LADDERS } from '../../runtime/backends.ts';
import type { BackendChoice, BackendReport, BatchItem, Predictor } from '../../runtime/types.ts';
import { DEFAULT_BUNDLE, loadBundleDir } from '../bundle-arg.ts';

interface PredictFlags {
  bundle: string;
  backend: string;
  batchSize: number;
  skipParity?: true;
}

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(parsed) || parsed < 1) {
    throw new InvalidArgumentError(`expected an integer >= 1, got "${value}".`);
  }
  return parsed;
}

/**
 * The stdout line for one item: `{ label, scores }` or `{ error: { code, message } }`. `offset` is the index of the
 * chunk's first text among all texts, so a message's "Item N" counts from the first text read, not the chunk.
 */
export function formatItem(item: BatchItem, index: number, offset = 0): string {
  if (item.status === 'ok') return JSON.stringify({ label: item.label, scores: item.scores });
  const message = item.error.message.replace(/^Item \d+/, `Item ${offset + index}`);
  return JSON.stringify({ error: { code: item.error.code, message } });
}

/** The stderr lines saying which backend runs and why each one above it was skipped. */
export function describeBackend(report: BackendReport): string[] {
  return [
    `backend: ${report.backend}`,
    ...report.skipped.map((skip) => `skipped ${skip.backend}: ${skip.reason}`),
    ...(report.fallbackReason === undefined ? [] : [`fallback: ${report.fallbackReason}`]),
  ];
}

async function predictAll(
  predictor: Predictor,
  texts: readonly string[],
  batchSize: number,
  offset: number,
): Promise<void> {
  if (texts.length === 0) return;
  const items = await predictor.predictBatch(texts, { batchSize });
  process.stdout.write(items.map((item, i) => `${formatItem(item, i, offset)}\n`).join(''));
}

export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description('classify texts (arguments, or stdin lines when none): one JSON line per text on stdout')
    .argument('[text...]', 'texts to classify; read from stdin, one per line, when none are given')
    .option('-b, --bundle <dir>', 'bundle directory', DEFAULT_BUNDLE)
    .option(
      '--backend <backend>',
      `auto, or a backend on the Node ladder: ${BACKEND_LADDERS.node.join(', ')}`,
      'auto',
    )
    .option('--batch-size <n>', 'texts per session run', positiveInteger, 32)
    .option(
      '--skip-parity',
      'predict without the parity proof (emergencies only; a warning says so on stderr)',
    )
    .action(async (texts: string[], flags: PredictFlags) => {
      // parity.jsonl is read, and its hash checked, by the proof (bundle.readFile), not at load.
      const bundle = await loadBundleDir(flags.bundle, { verify: 'serving' });
      const predictor = await createPredictor(bundle, {
        backend: flags.backend as BackendChoice,
        batching: false,
        // So the proof compares logits; the output lines carry only label and scores.
        returnLogits: true,
      });
      try {
        // Before any output: a bundle that does not reproduce its golden cases answers nothing.
        const proof =
          flags.skipParity === true
            ? 'warning: the parity proof was skipped (--skip-parity); the outputs were not compared with parity.jsonl'
            : `parity ${predictor.backend.backend}: ${describeProof(await proveParity(predictor, { batchSize: flags.batchSize }))}`;
        process.stderr.write(
          [...describeBackend(predictor.backend), proof].map((line) => `${line}\n`).join(''),
        );
        if (texts.length > 0) {
          await predictAll(predictor, texts, flags.batchSize, 0);
        } else {
          // Stream: one predictBatch per `batchSize` lines, so a large input never sits in memory whole.
          const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
          let pending: string[] = [];
          let offset = 0;
          for await (const line of lines) {
            pending.push(line);
            if (pending.length >= flags.batchSize) {
              await predictAll(predictor, pending, flags.batchSize, offset);
              offset += pending.length;
              pending = [];
            }
          }
          await predictAll(predictor, pending, flags.batchSize, offset);
        }
        if (predictor.backend.fallbackReason !== undefined) {
          process.stderr.write(`fallback: ${predictor.backend.fallbackReason}\n`);
        }
      } finally {
        await predictor.dispose();
      }
    });
}
