// The `shipshape` command line: one subcommand per module under cli/commands/, each loaded only when it runs.
import { Command, CommanderError, Help } from 'commander';
import { isCodedError, messageOf } from '../runtime/errors.ts';

/** A subcommand as the top-level help lists it, and how to load its module. */
export interface CommandEntry {
  readonly name: string;
  /** What follows the name in the top-level help (commander's term), e.g. `[options] [dir]`; '' for none. */
  readonly usage: string;
  readonly description: string;
  readonly load: () => Promise<(program: Command) => void>;
}

/**
 * Every subcommand, in help order. Each module pulls in its own dependencies (onnxruntime, Hono, zod, yaml,
 * Kubernetes models, vega...), which take most of a second to load, so a call loads only the module it runs and
 * the top-level help is drawn from this table. test/cli/commands-table.test.ts checks the table against the modules.
 */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'alerts',
    usage: '[options]',
    description: 'write Prometheus recording and alerting rules for a bundle, and their promtool unit tests',
    load: async () => (await import('./commands/alerts.ts')).registerAlerts,
  },
  {
    name: 'baseline',
    usage: '',
    description:
      'record bench runs into the baseline history the gate compares with; show it; chart its trend',
    load: async () => (await import('./commands/baseline.ts')).registerBaseline,
  },
  {
    name: 'bench',
    usage: '[options]',
    description:
      'measure latency, throughput, memory and cold start; write a JSON report, Markdown and SVG charts',
    load: async () => (await import('./commands/bench.ts')).registerBench,
  },
  {
    name: 'checklist',
    usage: '[options]',
    description:
      'run the deployment checklist against a running service: each item with its verdict and evidence (exit 0 only when all pass)',
    load: async () => (await import('./commands/checklist.ts')).registerChecklist,
  },
  {
    name: 'gate',
    usage: '[options]',
    description:
      'check a bench report against the SLA and a baseline (exit 0 pass, 1 fail); print a Markdown summary',
    load: async () => (await import('./commands/gate.ts')).registerGate,
  },
  {
    name: 'health',
    usage: '[options]',
    description: "print a running service's health checks; exit 0 ok or degraded, 1 failing, 2 no answer",
    load: async () => (await import('./commands/health.ts')).registerHealth,
  },
  {
    name: 'inspect',
    usage: '[options] [dir]',
    description: "print a bundle's manifest summary and validate every file (exit 1 when invalid)",
    load: async () => (await import('./commands/inspect.ts')).registerInspect,
  },
  {
    name: 'plan',
    usage: '[options]',
    description:
      'replicas, resources and autoscaling manifests for a peak load within the SLA, the Workers checks and memory needs, from a bench report (a queueing model driven by the measured service times)',
    load: async () => (await import('./commands/plan.ts')).registerPlan,
  },
  {
    name: 'predict',
    usage: '[options] [text...]',
    description: 'classify texts (arguments, or stdin lines when none): one JSON line per text on stdout',
    load: async () => (await import('./commands/predict.ts')).registerPredict,
  },
  {
    name: 'tokenize',
    usage: '[options]',
    description: 'read UTF-8 lines from stdin, print one JSON array of token ids per line',
    load: async () => (await import('./commands/tokenize.ts')).registerTokenize,
  },
  {
    name: 'serve',
    usage: '[options]',
    description: 'serve the HTTP API (/v1, /v2 Open Inference Protocol) and the demo page on Node',
    load: async () => (await import('./commands/serve.ts')).registerServe,
  },
];

/**
 * The subcommand a command line names (`shipshape <name> ...` or `shipshape help <name>`), or undefined when it
 * names none of them (top-level help, or an unknown command).
 */
export function commandOf(argv: readonly string[]): CommandEntry | undefined {
  const operands = argv.slice(2).filter((arg) => !arg.startsWith('-'));
  const name = operands[0] === 'help' ? operands[1] : operands[0];
  return COMMANDS.find((entry) => entry.name === name);
}

/**
 * Builds the program for one command line. A line that names a subcommand gets that subcommand, fully registered
 * (its options, arguments and help); any other line gets every subcommand as a name and description only, which
 * is all the top-level help and commander's "unknown command" suggestions need.
 */
export async function createProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command('shipshape')
    .description('Ship a PyTorch text model to production: browser, Node and Cloudflare Workers.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const named = commandOf(argv);
  if (named !== undefined) {
    (await named.load())(program);
    return program;
  }
  const usages = new Map<string, string>();
  for (const entry of COMMANDS) {
    program.command(entry.name).description(entry.description);
    usages.set(entry.name, entry.usage);
  }
  program.configureHelp({
    subcommandTerm(this: Help, cmd: Command): string {
      const usage = usages.get(cmd.name());
      if (usage === undefined) return Help.prototype.subcommandTerm.call(this, cmd);
      return usage === '' ? cmd.name() : `${cmd.name()} ${usage}`;
    },
  });
  return program;
}

/** Runs the CLI and returns the exit code: 0 ok, 1 failure, 2 usage error. Never prints a stack. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    const program = await createProgram(argv);
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
