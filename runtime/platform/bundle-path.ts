// Where a bundle argument points: a folder path (absolute, or relative to the working directory) or a name under
// the repository's artifacts/. Node only (node:fs); shared by the CLI (cli/bundle-arg.ts), the Worker build
// (edge/build-web.ts), the experiments and the tests.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { ShipshapeError } from '../errors.ts';

/** The repository's artifacts/ folder, where bundles can be named without a path. */
export const ARTIFACTS_DIR = resolve(import.meta.dirname, '..', '..', 'artifacts');

const isBundleDir = (dir: string) => {
  try {
    return statSync(dir).isDirectory() && existsSync(join(dir, 'manifest.json'));
  } catch {
    return false;
  }
};

/** A plain name (`news-transformer`) that may stand for a folder under artifacts/; a path never does. */
const isBundleName = (arg: string) =>
  arg !== '' && arg !== '.' && arg !== '..' && !isAbsolute(arg) && !arg.includes('/') && !arg.includes(sep);

/** The bundles under artifacts/ (folders with a manifest.json), sorted; empty when there is no such folder. */
export function listArtifactBundles(): string[] {
  try {
    return readdirSync(ARTIFACTS_DIR)
      .filter((name) => isBundleDir(join(ARTIFACTS_DIR, name)))
      .sort();
  } catch {
    return [];
  }
}

/**
 * Resolves a bundle argument: a path to a folder holding a manifest.json (tried first, relative to `cwd`), else a
 * name under artifacts/. A path comes back as given; a name as the absolute path of its folder.
 * @param cwd Default `process.cwd()`.
 * @throws ShipshapeError BUNDLE_FILE_MISSING, one line naming the paths tried and the bundles under artifacts/.
 */
export function resolveBundleDir(arg: string, cwd = process.cwd()): string {
  const asPath = resolve(cwd, arg);
  if (isBundleDir(asPath)) return arg;
  const tried = [asPath];
  if (isBundleName(arg)) {
    const named = join(ARTIFACTS_DIR, arg);
    if (isBundleDir(named)) return named;
    tried.push(named);
  }
  const why = (path: string) => (existsSync(path) ? `${path} (no manifest.json)` : `${path} (not found)`);
  const known = listArtifactBundles();
  throw new ShipshapeError(
    'BUNDLE_FILE_MISSING',
    `No bundle ${JSON.stringify(arg)}: tried ${tried.map(why).join(' and ')}. ` +
      (known.length === 0
        ? `There are no bundles under ${ARTIFACTS_DIR}. `
        : `Bundles under ${ARTIFACTS_DIR}: ${known.join(', ')}. `) +
      'Give a bundle folder (one with a manifest.json) or one of those names.',
    { subject: arg },
  );
}
