// `shipshape inspect DIR`: the manifest summary and a full validation of a bundle.
import type { Command } from 'commander';
import { readParityCases } from '../../runtime/bundle/index.ts';
import { isShipshapeError } from '../../runtime/errors.ts';
import type { Bundle } from '../../runtime/types.ts';
import { DEFAULT_BUNDLE, loadBundleDir } from '../bundle-arg.ts';

export interface ParityCheck {
  readonly cases: number;
  readonly mismatches: readonly { id: number; text: string }[];
}

/** Re-tokenizes every golden case of the bundle: training's ids must come out exactly. */
export async function checkTokenizerParity(bundle: Bundle): Promise<ParityCheck> {
  const cases = await readParityCases(bundle);
  const mismatches = cases
    .filter((c) => {
      const ids = bundle.tokenizer.encode(c.text).ids;
      return ids.length !== c.ids.length || ids.some((id, i) => id !== c.ids[i]);
    })
    .map((c) => ({ id: c.id, text: c.text }));
  return { cases: cases.length, mismatches };
}

function formatBytes(bytes: number): string {
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(2)} MiB`;
  if (bytes >= 1 << 10) return `${(bytes / (1 << 10)).toFixed(1)} KiB`;
  return `${bytes} B`;
}

export function describeBundle(bundle: Bundle, parity: ParityCheck): string {
  const m = bundle.manifest;
  const io = (v: { name: string; dtype: string; shape: readonly (number | string)[] }) =>
    `${v.name} ${v.dtype} [${v.shape.join(', ')}]`;
  const files = Object.entries(m.files).map(
    ([name, f]) =>
      `    ${name.padEnd(20)} ${formatBytes(f.size).padStart(10)}  sha256 ${f.sha256.slice(0, 12)}…`,
  );
  const total = Object.values(m.files).reduce((sum, f) => sum + f.size, 0);
  const p = m.preprocessing;
  return [
    `${m.name} ${m.version}  (${m.task}, created ${m.createdAt})`,
    `  model      ${m.model.file}, opset ${m.model.opset}`,
    `  inputs     ${m.model.inputs.map(io).join('; ')}`,
    `  outputs    ${m.model.outputs.map(io).join('; ')}`,
    `  labels     ${m.labels.join(', ')}`,
    `  tokenizer  ${p.tokenizer}, max_len ${p.maxLen}, truncation ${p.truncation}, padding ${p.padding}, ` +
      `vocab ${bundle.tokenizer.vocabSize} (${p.specialTokens.unk.token}=${p.specialTokens.unk.id}, ` +
      `${p.specialTokens.pad.token}=${p.specialTokens.pad.id})`,
    `  metrics    accuracy ${m.metrics.accuracy.toFixed(4)}, OOV rate ${m.metrics.oovRate.toFixed(4)} ` +
      `(${m.metrics.split}, ${m.metrics.examples} examples)`,
    `  files      ${Object.keys(m.files).length} files, ${formatBytes(total)}`,
    ...files,
    parity.mismatches.length === 0
      ? `valid: every file matches its sha256 and size; ONNX signature matches; tokenizer parity ${parity.cases}/${parity.cases}`
      : `INVALID: tokenizer parity ${parity.cases - parity.mismatches.length}/${parity.cases}; first mismatch: case ` +
        `${parity.mismatches[0]!.id} ${JSON.stringify(parity.mismatches[0]!.text.slice(0, 60))}`,
  ].join('\n');
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description("print a bundle's manifest summary and validate every file (exit 1 when invalid)")
    .argument('[dir]', 'bundle directory', DEFAULT_BUNDLE)
    .option('--json', 'print the manifest and the validation result as JSON')
    .action(async (dir: string, flags: { json?: boolean }) => {
      try {
        const bundle = await loadBundleDir(dir);
        const parity = await checkTokenizerParity(bundle);
        const valid = parity.mismatches.length === 0;
        if (flags.json) {
          process.stdout.write(`${JSON.stringify({ valid, manifest: bundle.manifest, parity }, null, 2)}\n`);
        } else {
          process.stdout.write(`${describeBundle(bundle, parity)}\n`);
        }
        if (!valid) process.exitCode = 1;
      } catch (error) {
        if (!isShipshapeError(error)) throw error;
        if (flags.json) {
          process.stdout.write(
            `${JSON.stringify({ valid: false, error: error.toJSON(), file: error.subject }, null, 2)}\n`,
          );
        } else {
          process.stderr.write(`invalid bundle ${dir}\n  ${error.code}: ${error.message}\n`);
        }
        process.exitCode = 1;
      }
    });
}
