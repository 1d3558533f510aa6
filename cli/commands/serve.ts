// `shipshape serve`: the edge API and the demo page on Node, until SIGINT or SIGTERM.
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { startNodeServer } from '../../edge/node-server.ts';
import type { BackendChoice } from '../../runtime/types.ts';
import { DEFAULT_BUNDLE } from '../bundle-arg.ts';

interface ServeFlags {
  bundle: string;
  port: number;
  host: string;
  backend: BackendChoice;
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
    .addOption(
      new Option('-p, --port <port>', 'port (0 picks a free one)')
        .env('PORT')
        .argParser(parsePort)
        .default(8787),
    )
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--backend <backend>', `backend: ${BACKENDS.join(', ')}`, parseBackend, 'auto' as BackendChoice)
    .addHelpText(
      'after',
      '\nConfiguration from the environment: SHIPSHAPE_TOKEN, SHIPSHAPE_CORS_ORIGINS, SHIPSHAPE_MAX_BODY_BYTES,\n' +
        'SHIPSHAPE_MAX_TEXTS, SHIPSHAPE_MAX_TEXT_LENGTH, SHIPSHAPE_BATCH_SIZE, SHIPSHAPE_ALLOW_EMPTY_TEXTS,\n' +
        'SHIPSHAPE_ACCESS_LOG (see README.md).',
    )
    .action(async (flags: ServeFlags) => {
      const server = await startNodeServer({
        bundle: flags.bundle,
        port: flags.port,
        host: flags.host,
        predictor: { backend: flags.backend },
      });
      const predictor = server.edge.model.current;
      const model = predictor?.bundle.manifest;
      process.stdout.write(
        `shipshape serving ${model?.name ?? '?'} ${model?.version ?? ''} on ${predictor?.backend.backend ?? '?'} ` +
          `at ${server.url}\n`,
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
