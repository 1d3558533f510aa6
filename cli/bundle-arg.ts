// Shared CLI plumbing: the default bundle and loading the bundle a command is given (a path or a name under artifacts/).
import { loadBundle, type LoadBundleOptions } from '../runtime/bundle/index.ts';
import { directorySource } from '../runtime/platform/node-files.ts';
import type { Bundle } from '../runtime/types.ts';
import { resolveBundleDir } from '../runtime/platform/bundle-path.ts';

export { listArtifactBundles, resolveBundleDir } from '../runtime/platform/bundle-path.ts';

/** The bundle `npm start` and every command use when none is given: a name, so it works from any directory. */
export const DEFAULT_BUNDLE = 'news-bag';

/**
 * Loads the bundle `arg` names: a folder path (absolute or relative to the working directory) or a name under
 * artifacts/ (see `resolveBundleDir`).
 * @throws ShipshapeError BUNDLE_FILE_MISSING when `arg` is neither; whatever `loadBundle` throws.
 */
export function loadBundleDir(arg: string, options: LoadBundleOptions = {}): Promise<Bundle> {
  return loadBundle(directorySource(resolveBundleDir(arg)), options);
}
