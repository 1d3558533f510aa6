// cli/main.ts loads one subcommand module per call and draws the top-level help from its COMMANDS table: the table
// must say what the modules register, and the help must read as if every module were loaded.
import { Command, Help } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS, commandOf, createProgram } from '../../cli/main.ts';

/** A program with every subcommand module registered, as the CLI was built before the table. */
async function fullProgram(): Promise<Command> {
  const program = new Command('shipshape')
    .description('Ship a PyTorch text model to production: browser, Node and Cloudflare Workers.')
    .exitOverride();
  for (const entry of COMMANDS) (await entry.load())(program);
  return program;
}

describe('the COMMANDS table', () => {
  for (const entry of COMMANDS) {
    it(`lists ${entry.name} with the term and description its module registers`, async () => {
      const program = new Command('shipshape');
      (await entry.load())(program);
      expect(program.commands.map((cmd) => cmd.name())).toEqual([entry.name]);
      const registered = program.commands[0]!;
      const term = entry.usage === '' ? entry.name : `${entry.name} ${entry.usage}`;
      expect(new Help().subcommandTerm(registered)).toBe(term);
      expect(registered.description()).toBe(entry.description);
    });
  }

  it('gives the same top-level help as a program with every module loaded', async () => {
    const lazy = await createProgram(['node', 'shipshape', '--help']);
    const full = await fullProgram();
    // A fixed width: help wraps at the terminal's, and both must wrap alike.
    lazy.configureOutput({ getOutHelpWidth: () => 100 });
    full.configureOutput({ getOutHelpWidth: () => 100 });
    expect(lazy.helpInformation()).toBe(full.helpInformation());
  });
});

describe('commandOf', () => {
  it('names the subcommand of `shipshape <name> ...` and of `shipshape help <name>`', () => {
    expect(commandOf(['node', 'shipshape', 'predict', '--bundle', 'news-bag', 'text'])?.name).toBe('predict');
    expect(commandOf(['node', 'shipshape', 'help', 'gate'])?.name).toBe('gate');
    expect(commandOf(['node', 'shipshape', 'baseline', 'show'])?.name).toBe('baseline');
  });

  it('names none for the top-level help or an unknown command', () => {
    expect(commandOf(['node', 'shipshape'])).toBeUndefined();
    expect(commandOf(['node', 'shipshape', '--help'])).toBeUndefined();
    expect(commandOf(['node', 'shipshape', 'help'])).toBeUndefined();
    expect(commandOf(['node', 'shipshape', 'bogus'])).toBeUndefined();
  });
});
