// `shipshape serve`: the edge API and the demo page on Node, until SIGINT or SIGTERM.
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { availableParallelism } from 'node:os';
import { startNodeServer } from '../../edge/node-server.ts';
import type { BackendChoice } from '../../runtime/types.ts';
import { DEFAULT_BUNDLE } from '../bundle-arg.ts';

interface ServeFlags {
  bundle: string;
  port: number;
  host: string;
  backend: BackendChoice;
  workers: number;
}

const BACKENDS: readonly BackendChoice[] = ['auto', 'native', 'wasm'];

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^[0-9]+$/.test(value) || port > 65_535) {
    throw new InvalidArgumentError(
      `"${value}" is not a port; use an integer from 0 to 65535 (0 picks a free one).`,
    );
  }
  return port;
}

function parseWorkers(value: string): number {
  if (!/^[0-9]+$/.test(value.trim()) || Number(value) > 1024) {
    throw new InvalidArgumentError(
      `"${value}" is not a number of workers; use an integer from 0 (the model runs on the event loop's thread) ` +
        'to 1024.',
    );
  }
  return Number(value);
}

function parseBackend(value: string): BackendChoice {
  if (!(BACKENDS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(
      `Unsupported backend "${value}". Should be one of: ${BACKENDS.join(', ')}.`,
    );
  }
  return value as BackendChoice;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the HTTP API (/v1, /v2 Open Inference Protocol) and the demo page on Node')
    .option('-b, --bundle <dir>', 'bundle directory', DEFAULT_BUNDLE)
    .option('-p, --port <port>', 'port (0 picks a free one)', parsePort, 8787)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--backend <backend>', `backend: ${BACKENDS.join(', ')}`, parseBackend, 'auto' as BackendChoice)
    .addOption(
      new Option(
        '--workers <n>',
        'worker threads that run the model, each with its own session; 0 runs it in-process',
      )
        .env('SHIPSHAPE_WORKERS')
        .argParser(parseWorkers)
        .default(availableParallelism(), 'the available cores'),
    )
    .addHelpText(
      'after',
      '\nConfiguration from the environment: SHIPSHAPE_TOKEN, SHIPSHAPE_CORS_ORIGINS, SHIPSHAPE_MAX_BODY_BYTES,\n' +
        'SHIPSHAPE_MAX_TEXTS, SHIPSHAPE_MAX_TEXT_LENGTH, SHIPSHAPE_BATCH_SIZE, SHIPSHAPE_WORKERS (see README.md).',
    )
    .action(async (flags: ServeFlags) => {
      const server = await startNodeServer({
        bundle: flags.bundle,
        port: flags.port,
        host: flags.host,
        predictor: { backend: flags.backend },
        workers: flags.workers,
      });
      const predictor = server.edge.model.current;
      const model = predictor?.bundle.manifest;
      const threads =
        flags.workers === 0 ? '' : ` (${flags.workers} worker${flags.workers === 1 ? '' : 's'})`;
      process.stdout.write(
        `shipshape serving ${model?.name ?? '?'} ${model?.version ?? ''} on ${predictor?.backend.backend ?? '?'}` +
          `${threads} at ${server.url}\n`,
      );
      await new Promise<void>((resolveStop) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolveStop();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await server.close();
    });
}
