// The `shipshape` command line: one subcommand per module under cli/commands/.
import { Command, CommanderError } from 'commander';
import { isCodedError, messageOf } from '../runtime/errors.ts';
import { registerAlerts } from './commands/alerts.ts';
import { registerBaseline } from './commands/baseline.ts';
import { registerBench } from './commands/bench.ts';
import { registerChecklist } from './commands/checklist.ts';
import { registerGate } from './commands/gate.ts';
import { registerHealth } from './commands/health.ts';
import { registerInspect } from './commands/inspect.ts';
import { registerPlan } from './commands/plan.ts';
import { registerServe } from './commands/serve.ts';
import { registerPredict } from './commands/predict.ts';
import { registerTokenize } from './commands/tokenize.ts';

/** Builds the program; each subcommand sets `process.exitCode` itself when it fails. */
export function createProgram(): Command {
  const program = new Command('shipshape')
    .description('Ship a PyTorch text model to production: browser, Node and Cloudflare Workers.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerAlerts(program);
  registerBaseline(program);
  registerBench(program);
  registerChecklist(program);
  registerGate(program);
  registerHealth(program);
  registerInspect(program);
  registerPlan(program);
  registerPredict(program);
  registerTokenize(program);
  registerServe(program);
  return program;
}

/** Runs the CLI and returns the exit code: 0 ok, 1 failure, 2 usage error. Never prints a stack. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit with code 0; usage errors were already printed by commander.
      return error.exitCode === 0 ? 0 : 2;
    }
    // Any project error (runtime, edge, bench, plan, health) prints its code, so scripts can grep for it.
    if (isCodedError(error)) {
      process.stderr.write(`shipshape: ${error.code}: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`shipshape: ${messageOf(error)}\n`);
    return 1;
  }
}
