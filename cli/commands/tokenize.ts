// `shipshape tokenize`: stdin lines to token ids, exactly as training preprocessed them.
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { ShipshapeError } from '../../runtime/errors.ts';
import { DEFAULT_BUNDLE, loadBundleDir } from '../bundle-arg.ts';

interface TokenizeFlags {
  bundle: string;
  tokens?: boolean;
  jsonInput?: boolean;
}

export function registerTokenize(program: Command): void {
  program
    .command('tokenize')
    .description('read UTF-8 lines from stdin, print one JSON array of token ids per line')
    .option('-b, --bundle <dir>', 'bundle directory', DEFAULT_BUNDLE)
    .option('--tokens', 'print the tokens (before truncation) instead of the padded ids')
    .option('--json-input', 'each input line is a JSON string (for texts with newlines or lone surrogates)')
    .action(async (flags: TokenizeFlags) => {
      const bundle = await loadBundleDir(flags.bundle, { verify: 'serving' });
      const { tokenizer } = bundle;
      const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
      let out: string[] = [];
      let lineNumber = 0;
      const flush = () => {
        if (out.length > 0) process.stdout.write(out.join(''));
        out = [];
      };
      for await (const line of lines) {
        lineNumber++;
        let text = line;
        if (flags.jsonInput) {
          const parsed: unknown = JSON.parse(line);
          if (typeof parsed !== 'string') {
            throw new ShipshapeError('INPUT_INVALID', `stdin line ${lineNumber} is not a JSON string.`);
          }
          text = parsed;
        }
        const result = flags.tokens ? tokenizer.tokenize(text) : Array.from(tokenizer.encode(text).ids);
        out.push(JSON.stringify(result), '\n');
        if (out.length >= 2048) flush();
      }
      flush();
    });
}
