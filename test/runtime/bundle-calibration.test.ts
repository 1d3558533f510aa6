// The manifest's optional calibration section: the shipped bundles carry it, older bundles without it still load.
import { describe, expect, it } from 'vitest';
import { loadBundle } from '../../runtime/bundle/index.ts';
import { isShipshapeError } from '../../runtime/errors.ts';
import { directorySource } from '../../runtime/platform/node-files.ts';
import { BUNDLES, bundleDir, copyBundle } from '../helpers/bundle-copy.ts';

describe.each(BUNDLES)('the shipped bundle %s', (name) => {
  it('carries ten equal-mass calibration bins from the 2000 validation texts', async () => {
    const { manifest } = await loadBundle(directorySource(bundleDir(name)));
    expect(manifest.calibration).toMatchObject({
      split: 'validation',
      examples: 2000,
      method: 'histogram-binning',
      counts: Array(10).fill(200),
    });
    expect(manifest.calibration?.edges[0]).toBe(0);
    expect(manifest.calibration?.edges.at(-1)).toBe(1);
  });
});

describe('a bundle exported before the calibration section existed', () => {
  it('loads, with no calibration in its manifest', async () => {
    const copy = copyBundle('news-bag');
    try {
      copy.editManifest((manifest) => delete manifest.calibration);
      const { manifest } = await loadBundle(directorySource(copy.dir));
      expect(manifest.name).toBe('news-bag');
      expect(manifest.calibration).toBeUndefined();
    } finally {
      copy.remove();
    }
  });
});

describe('a bundle whose calibration section is malformed', () => {
  it('is refused with BUNDLE_INVALID when the edges do not ascend', async () => {
    const copy = copyBundle('news-bag');
    try {
      copy.editManifest((manifest) => {
        const edges = manifest.calibration.edges as number[];
        [edges[1], edges[2]] = [edges[2]!, edges[1]!];
      });
      const error: unknown = await loadBundle(directorySource(copy.dir)).then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(isShipshapeError(error) && error.code).toBe('BUNDLE_INVALID');
      expect(String((error as Error).message)).toContain('edges must be strictly ascending');
    } finally {
      copy.remove();
    }
  });
});
