// The edge API contract over real HTTP against the built Worker (dist/worker) running in real workerd.
import { describe, it } from 'vitest';
import { CONTRACT_VARS, describeApiContract, overHttp } from './api-contract.ts';
import { IN_CI, hasWorkerd, requireEdgeBuild, startWorkerd } from './support.ts';

const HAS_WORKERD = hasWorkerd();

describe.runIf(HAS_WORKERD)('Worker', () => {
  describeApiContract(
    'workerd (Miniflare, wrangler dry-run output)',
    async () => {
      requireEdgeBuild();
      return overHttp(await startWorkerd(CONTRACT_VARS));
    },
    ['wasm'],
    { transport: 'http', badContentLength: 'workerd-plain-500' },
  );
});

describe.runIf(!HAS_WORKERD && IN_CI)('Worker without workerd', () => {
  it('fails in CI because workerd is missing', () => {
    throw new Error('workerd is not installed (node_modules/@cloudflare/workerd-*); run npm ci.');
  });
});
